package io.flanneld.daemon;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.Ipv4;
import io.flanneld.net.Ipv4Prefix;
import io.flanneld.net.Link;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.net.Route;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import java.net.Inet4Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Chooses the underlay interface and the public IP the way flanneld does:
 * <ol>
 *   <li>each {@code --iface} value in order, as an interface name or as an IPv4 address some interface owns; the
 *       first that matches wins (a value that matches nothing, or names an interface without a usable IPv4 address,
 *       is skipped, so one flag list can serve differently named hosts);</li>
 *   <li>without {@code --iface}, the interface the main table's default route leaves through;</li>
 *   <li>the interface address is the matched address, else the interface's first usable IPv4 address (see
 *       {@link #usableAddresses});</li>
 *   <li>the public IP is {@code --public-ip} if given, else the interface address; the MTU is the interface's.</li>
 * </ol>
 * Everything is read through netlink, never by running {@code ip}.
 */
public final class InterfaceSelector {
    private InterfaceSelector() {
    }

    /**
     * Reads the links, addresses and default route of {@code nl}'s namespace and chooses from them.
     *
     * @param ifaces the {@code --iface} values, in flag order; empty to use the default route's interface
     * @param publicIp the {@code --public-ip} value, or null
     */
    public static ExternalInterface select(Rtnetlink nl, List<String> ifaces, String publicIp)
            throws InterfaceSelectionException {
        List<LinkWithAddresses> links = nl.linksWithAddresses();
        // The default route is only looked up when it decides the outcome, so a host whose routing table cannot be
        // read for some reason still starts with an explicit --iface.
        Optional<Route> defaultRoute = ifaces.isEmpty() ? nl.routes().defaultRoute() : Optional.empty();
        return select(links, defaultRoute, ifaces, publicIp);
    }

    /** The choice itself, on a snapshot of the host's links and its default route. */
    static ExternalInterface select(List<LinkWithAddresses> links, Optional<Route> defaultRoute, List<String> ifaces,
                                    String publicIp) throws InterfaceSelectionException {
        // Parse --public-ip first: a typo there should not be hidden behind an interface error.
        Optional<Integer> explicitPublic = parsePublicIp(publicIp);
        Match match = ifaces.isEmpty() ? byDefaultRoute(links, defaultRoute) : byFlags(links, ifaces);
        Link link = match.link().link();
        if (link.mtu() <= 0) {
            throw new InterfaceSelectionException("failed to determine the MTU of interface " + link.name());
        }
        int address = Ip4.fromBytes(match.address().getAddress());
        return new ExternalInterface(link.name(), link.index(), address, explicitPublic.orElse(address), link.mtu());
    }

    /** An interface and the IPv4 address of it to use. */
    private record Match(LinkWithAddresses link, Inet4Address address) {
    }

    private static Optional<Integer> parsePublicIp(String publicIp) throws InterfaceSelectionException {
        if (publicIp == null || publicIp.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Ip4.parse(publicIp));
        } catch (IllegalArgumentException e) {
            throw new InterfaceSelectionException("--public-ip " + publicIp + ": not an IPv4 address");
        }
    }

    private static Match byFlags(List<LinkWithAddresses> links, List<String> ifaces)
            throws InterfaceSelectionException {
        List<String> misses = new ArrayList<>();
        for (String spec : ifaces) {
            Optional<Inet4Address> asAddress = parseAddress(spec);
            if (asAddress.isPresent()) {
                Optional<LinkWithAddresses> owner = ownerOf(links, asAddress.get());
                if (owner.isPresent()) {
                    return new Match(owner.get(), asAddress.get());
                }
                misses.add("--iface " + spec + ": no interface has this address (have: " + describeAddresses(links)
                        + ")");
                continue;
            }
            Optional<LinkWithAddresses> named = links.stream().filter(l -> l.link().name().equals(spec)).findFirst();
            if (named.isEmpty()) {
                misses.add("--iface " + spec + ": no such interface (have: " + describeNames(links) + ")");
                continue;
            }
            // An interface without a usable IPv4 address is a miss like any other: flanneld goes on to the next
            // --iface value (its LookupExtIface fails, and main.go's loop tries the next one).
            Optional<Inet4Address> address = firstUsableAddress(named.get());
            if (address.isPresent()) {
                return new Match(named.get(), address.get());
            }
            misses.add("--iface " + spec + " has no IPv4 address");
        }
        throw new InterfaceSelectionException(String.join("; ", misses));
    }

    private static Match byDefaultRoute(List<LinkWithAddresses> links, Optional<Route> defaultRoute)
            throws InterfaceSelectionException {
        if (defaultRoute.isEmpty()) {
            throw new InterfaceSelectionException("no default route and no --iface given");
        }
        Route route = defaultRoute.get();
        if (route.outputIndex() == 0) {
            throw new InterfaceSelectionException("the default route (" + route.describe()
                    + ") names no single output interface; give --iface");
        }
        LinkWithAddresses link = links.stream().filter(l -> l.link().index() == route.outputIndex()).findFirst()
                .orElseThrow(() -> new InterfaceSelectionException("the default route (" + route.describe()
                        + ") leaves through interface #" + route.outputIndex() + ", which does not exist"));
        Inet4Address address = firstUsableAddress(link).orElseThrow(() -> new InterfaceSelectionException(
                "default route interface " + link.link().name() + " has no IPv4 address"));
        return new Match(link, address);
    }

    /** The first of {@link #usableAddresses}: the address an interface chosen by name is used with. */
    private static Optional<Inet4Address> firstUsableAddress(LinkWithAddresses link) {
        List<Inet4Address> usable = usableAddresses(link);
        return usable.isEmpty() ? Optional.empty() : Optional.of(usable.get(0));
    }

    /**
     * The interface's IPv4 addresses flanneld would use, in its order: unicast ones only (not 0.0.0.0, loopback
     * 127/8, multicast 224/4 or 255.255.255.255), link-local 169.254/16 after the others, otherwise in the kernel's
     * order.
     */
    static List<Inet4Address> usableAddresses(LinkWithAddresses link) {
        List<Inet4Address> global = new ArrayList<>();
        List<Inet4Address> linkLocal = new ArrayList<>();
        for (Ipv4Prefix prefix : link.addresses()) {
            int a = Ipv4.toInt(prefix.address());
            int first = a >>> 24;
            if (a == 0 || a == -1 || first == 127 || (first >= 224 && first <= 239)) {
                continue;
            }
            (first == 169 && ((a >>> 16) & 0xff) == 254 ? linkLocal : global).add(prefix.address());
        }
        global.addAll(linkLocal);
        return global;
    }

    private static Optional<LinkWithAddresses> ownerOf(List<LinkWithAddresses> links, Inet4Address address) {
        return links.stream()
                .filter(l -> l.addresses().stream().map(Ipv4Prefix::address).anyMatch(address::equals))
                .findFirst();
    }

    /** A dotted quad is an address; anything else is taken as an interface name (names cannot be dotted quads). */
    private static Optional<Inet4Address> parseAddress(String spec) {
        try {
            return Optional.of(Ipv4.parse(spec));
        } catch (IllegalArgumentException notAnAddress) {
            return Optional.empty();
        }
    }

    private static String describeNames(List<LinkWithAddresses> links) {
        return links.stream().map(l -> l.link().name()).collect(Collectors.joining(", "));
    }

    private static String describeAddresses(List<LinkWithAddresses> links) {
        String owned = links.stream()
                .flatMap(l -> l.addresses().stream().map(a -> l.link().name() + " " + Ipv4.format(a.address())))
                .collect(Collectors.joining(", "));
        return owned.isEmpty() ? "no IPv4 addresses" : owned;
    }
}
