package io.flanneld.daemon;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.Errno;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Route;
import io.flanneld.net.RouteLookup;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;

/**
 * Chooses the underlay interface and the public IP the way flanneld does (its main.go and LookupExtIface):
 * <ol>
 *   <li>each {@code --iface} value in order, as an interface name or as an IPv4 address some interface owns;</li>
 *   <li>then each {@code --iface-regex} in order: first against the usable IPv4 addresses of every interface (in
 *       ifindex order), and only if no address of any interface matches, against the interface names; the regex
 *       is searched for, not anchored, as Go's MatchString does;</li>
 *   <li>then the interface the kernel would send to {@code --iface-can-reach} through, with the source address it
 *       would use (what {@code ip route get} shows);</li>
 *   <li>the first of these that yields an interface with a usable IPv4 address wins; a value that matches nothing,
 *       or an interface without such an address, is skipped, so one flag list can serve differently named hosts;
 *       if none matches, the error names every value tried and what the host has;</li>
 *   <li>without any of the three flags, the interface the main table's default route leaves through;</li>
 *   <li>the interface address is the matched address (or route source), else the interface's first usable IPv4
 *       address (see {@link #usableAddresses});</li>
 *   <li>the public IP is {@code --public-ip} if given, else the interface address; the MTU is the interface's.</li>
 * </ol>
 * Everything is read through netlink, never by running {@code ip}. The routes are asked only when the choice gets
 * to them, so a host whose routing table cannot be read still starts with an --iface that matches.
 */
public final class InterfaceSelector {
    private InterfaceSelector() {
    }

    /**
     * What the choice may ask of the kernel's routing, each only when the earlier steps found nothing.
     *
     * @param defaultRoute the main table's default route
     * @param lookup the kernel's route lookup for an address: empty without a route; a {@link NetlinkException}
     *     when the kernel refuses to route there (a blackhole route, say)
     */
    record Routing(Supplier<Optional<Route>> defaultRoute, Function<Integer, Optional<RouteLookup>> lookup) {
        static Routing of(Rtnetlink nl) {
            return new Routing(() -> nl.routes().defaultRoute(), a -> nl.routes().lookup(a));
        }
    }

    /**
     * Reads the links and addresses of {@code nl}'s namespace (and its routes, when needed) and chooses from them.
     *
     * @param choice the {@code --iface}, {@code --iface-regex} and {@code --iface-can-reach} values
     * @param publicIp the {@code --public-ip} value, or null
     */
    public static ExternalInterface select(Rtnetlink nl, DaemonOptions.InterfaceChoice choice, String publicIp)
            throws InterfaceSelectionException {
        return select(nl.linksWithAddresses(), choice, publicIp, Routing.of(nl));
    }

    /** The choice itself, on a snapshot of the host's links; routes are asked through {@code routing}. */
    static ExternalInterface select(List<LinkWithAddresses> links, DaemonOptions.InterfaceChoice choice,
                                    String publicIp, Routing routing) throws InterfaceSelectionException {
        // Parse --public-ip first: a typo there should not be hidden behind an interface error.
        Optional<Integer> explicitPublic = parsePublicIp(publicIp);
        boolean anyFlag = !choice.names().isEmpty() || !choice.regexes().isEmpty() || choice.canReach().isPresent();
        Match match = anyFlag ? byFlags(links, choice, routing) : byDefaultRoute(links, routing.defaultRoute().get());
        Link link = match.link().link();
        if (link.mtu() <= 0) {
            throw new InterfaceSelectionException("failed to determine the MTU of interface " + link.name());
        }
        int address = match.address();
        return new ExternalInterface(link.name(), link.index(), address, explicitPublic.orElse(address), link.mtu());
    }

    /** An interface and the IPv4 address of it to use. */
    private record Match(LinkWithAddresses link, int address) {
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

    /** --iface values, then --iface-regex values, then --iface-can-reach; every miss is kept for the error. */
    private static Match byFlags(List<LinkWithAddresses> links, DaemonOptions.InterfaceChoice choice, Routing routing)
            throws InterfaceSelectionException {
        List<String> misses = new ArrayList<>();
        for (String spec : choice.names()) {
            Optional<Match> match = byIface(links, spec, misses);
            if (match.isPresent()) {
                return match.get();
            }
        }
        for (String regex : choice.regexes()) {
            Optional<Match> match = byRegex(links, regex, misses);
            if (match.isPresent()) {
                return match.get();
            }
        }
        if (choice.canReach().isPresent()) {
            Optional<Match> match = byCanReach(links, choice.canReach().get(), routing, misses);
            if (match.isPresent()) {
                return match.get();
            }
        }
        throw new InterfaceSelectionException(String.join("; ", misses));
    }

    private static Optional<Match> byIface(List<LinkWithAddresses> links, String spec, List<String> misses) {
        Optional<Integer> asAddress = parseAddress(spec);
        if (asAddress.isPresent()) {
            Optional<LinkWithAddresses> owner = ownerOf(links, asAddress.get());
            if (owner.isPresent()) {
                return Optional.of(new Match(owner.get(), asAddress.get()));
            }
            misses.add("--iface " + spec + ": no interface has this address (have: " + describeAddresses(links) + ")");
            return Optional.empty();
        }
        Optional<LinkWithAddresses> named = links.stream().filter(l -> l.link().name().equals(spec)).findFirst();
        if (named.isEmpty()) {
            misses.add("--iface " + spec + ": no such interface (have: " + describeNames(links) + ")");
            return Optional.empty();
        }
        // An interface without a usable IPv4 address is a miss like any other: flanneld goes on to the next
        // --iface value (its LookupExtIface fails, and main.go's loop tries the next one).
        Optional<Integer> address = firstUsableAddress(named.get());
        if (address.isEmpty()) {
            misses.add("--iface " + spec + " has no IPv4 address");
        }
        return address.map(a -> new Match(named.get(), a));
    }

    /**
     * Addresses first, on every interface, then names, as flannel's LookupExtIface does. Like flannel, the first
     * interface whose name matches is taken or the regex fails: a later interface whose name also matches is not
     * tried.
     */
    private static Optional<Match> byRegex(List<LinkWithAddresses> links, String regex, List<String> misses) {
        Pattern pattern;
        try {
            pattern = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            misses.add("--iface-regex " + regex + ": not a regular expression: " + e.getDescription());
            return Optional.empty();
        }
        for (LinkWithAddresses link : links) {
            for (int address : usableAddresses(link)) {
                if (pattern.matcher(Ip4.format(address)).find()) {
                    return Optional.of(new Match(link, address));
                }
            }
        }
        for (LinkWithAddresses link : links) {
            if (pattern.matcher(link.link().name()).find()) {
                Optional<Integer> address = firstUsableAddress(link);
                if (address.isEmpty()) {
                    misses.add("--iface-regex " + regex + ": matches interface " + link.link().name()
                            + ", which has no IPv4 address");
                }
                return address.map(a -> new Match(link, a));
            }
        }
        misses.add("--iface-regex " + regex + ": matches no interface name or IPv4 address (have: "
                + describeUsable(links) + ")");
        return Optional.empty();
    }

    private static Optional<Match> byCanReach(List<LinkWithAddresses> links, String spec, Routing routing,
                                              List<String> misses) {
        Optional<Integer> target = parseAddress(spec);
        if (target.isEmpty()) {
            misses.add("--iface-can-reach " + spec + ": not an IPv4 address");
            return Optional.empty();
        }
        Optional<RouteLookup> route;
        try {
            route = routing.lookup().apply(target.get());
        } catch (NetlinkException e) {
            misses.add("--iface-can-reach " + spec + ": the kernel will not route to it (" + e.errnoName() + ", "
                    + e.errnoMessage() + refusalReason(e.errno()) + ")");
            return Optional.empty();
        }
        if (route.isEmpty()) {
            misses.add("--iface-can-reach " + spec + ": no route to it (ENETUNREACH, "
                    + Errno.message(Errno.ENETUNREACH) + ")");
            return Optional.empty();
        }
        RouteLookup r = route.get();
        Optional<LinkWithAddresses> link = links.stream().filter(l -> l.link().index() == r.outputIndex()).findFirst();
        if (link.isEmpty()) {
            misses.add("--iface-can-reach " + spec + ": the route (" + r.describe() + ") leaves through interface #"
                    + r.outputIndex() + ", which does not exist");
            return Optional.empty();
        }
        // flannel takes the route's source address as it is; without one, the interface's first usable address.
        Optional<Integer> address = r.source().isPresent() ? Optional.of(r.source().getAsInt())
                : firstUsableAddress(link.get());
        if (address.isEmpty()) {
            misses.add("--iface-can-reach " + spec + ": the route leaves through " + link.get().link().name()
                    + ", which has no IPv4 address");
        }
        return address.map(a -> new Match(link.get(), a));
    }

    /** What the kernel's refusal means for a route lookup (fib_props in net/ipv4/fib_semantics.c). */
    private static String refusalReason(int errno) {
        switch (errno) {
            case Errno.EINVAL: return ": a blackhole route covers it";
            case Errno.EHOSTUNREACH: return ": an unreachable route covers it";
            case Errno.EACCES: return ": a prohibit route covers it";
            default: return "";
        }
    }

    private static Match byDefaultRoute(List<LinkWithAddresses> links, Optional<Route> defaultRoute)
            throws InterfaceSelectionException {
        if (defaultRoute.isEmpty()) {
            throw new InterfaceSelectionException("no default route, and no --iface, --iface-regex or --iface-can-reach given");
        }
        Route route = defaultRoute.get();
        if (route.outputIndex() == 0) {
            throw new InterfaceSelectionException("the default route (" + route.describe()
                    + ") names no single output interface; give --iface");
        }
        LinkWithAddresses link = links.stream().filter(l -> l.link().index() == route.outputIndex()).findFirst()
                .orElseThrow(() -> new InterfaceSelectionException("the default route (" + route.describe()
                        + ") leaves through interface #" + route.outputIndex() + ", which does not exist"));
        int address = firstUsableAddress(link).orElseThrow(() -> new InterfaceSelectionException(
                "default route interface " + link.link().name() + " has no IPv4 address"));
        return new Match(link, address);
    }

    /** The first of {@link #usableAddresses}: the address an interface chosen by name is used with. */
    private static Optional<Integer> firstUsableAddress(LinkWithAddresses link) {
        List<Integer> usable = usableAddresses(link);
        return usable.isEmpty() ? Optional.empty() : Optional.of(usable.get(0));
    }

    /**
     * The interface's IPv4 addresses flanneld would use, in its order: unicast ones only (not 0.0.0.0, loopback
     * 127/8, multicast 224/4 or 255.255.255.255), link-local 169.254/16 after the others, otherwise in the kernel's
     * order.
     */
    static List<Integer> usableAddresses(LinkWithAddresses link) {
        List<Integer> global = new ArrayList<>();
        List<Integer> linkLocal = new ArrayList<>();
        for (LinkAddress address : link.addresses()) {
            int a = address.address();
            int first = a >>> 24;
            if (a == 0 || a == -1 || first == 127 || (first >= 224 && first <= 239)) {
                continue;
            }
            (first == 169 && ((a >>> 16) & 0xff) == 254 ? linkLocal : global).add(a);
        }
        global.addAll(linkLocal);
        return global;
    }

    private static Optional<LinkWithAddresses> ownerOf(List<LinkWithAddresses> links, int address) {
        return links.stream()
                .filter(l -> l.addresses().stream().anyMatch(a -> a.address() == address))
                .findFirst();
    }

    /** A dotted quad is an address; anything else is taken as an interface name (names cannot be dotted quads). */
    private static Optional<Integer> parseAddress(String spec) {
        try {
            return Optional.of(Ip4.parse(spec));
        } catch (IllegalArgumentException notAnAddress) {
            return Optional.empty();
        }
    }

    private static String describeNames(List<LinkWithAddresses> links) {
        return links.stream().map(l -> l.link().name()).collect(Collectors.joining(", "));
    }

    /** "lo [], eth0 [198.18.0.1]": every interface with the addresses a regex is matched against. */
    private static String describeUsable(List<LinkWithAddresses> links) {
        return links.stream()
                .map(l -> l.link().name() + " " + usableAddresses(l).stream().map(Ip4::format)
                        .collect(Collectors.joining(", ", "[", "]")))
                .collect(Collectors.joining(", "));
    }

    private static String describeAddresses(List<LinkWithAddresses> links) {
        String owned = links.stream()
                .flatMap(l -> l.addresses().stream().map(a -> l.link().name() + " " + Ip4.format(a.address())))
                .collect(Collectors.joining(", "));
        return owned.isEmpty() ? "no IPv4 addresses" : owned;
    }
}
