package io.flanneld.daemon;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.Errno;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkAddress6;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.RouteLookup;
import io.flanneld.net.RouteLookup6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip6;
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
 *
 * <p>With a config enabling IPv6 ({@link Families}) the interface must have an address of every enabled family, as
 * flannel's ipmatch.LookupExtIface asks for its dual and IPv6 stacks: {@code --iface} may also be an IPv6 address the
 * interface owns; an {@code --iface-regex} is matched against the IPv6 addresses too (dual-stack: an interface whose
 * IPv4 and IPv6 addresses both match, before the names); {@code --iface-can-reach} may be an IPv6 address; without
 * flags, the IPv6 default route's interface (dual-stack: both default routes must leave through the same one). The
 * IPv6 address used is the interface's first global one (see {@link #usableIpv6Addresses}); {@code --public-ipv6}
 * overrides the public one, and is also the interface's own when the interface holds it.
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
    record Routing(Supplier<Optional<Route>> defaultRoute, Function<Integer, Optional<RouteLookup>> lookup,
                   Supplier<Optional<Route6>> defaultRoute6, Function<Ip6, Optional<RouteLookup6>> lookup6) {
        /** IPv4 routing alone: the IPv6 questions are never asked of it. */
        Routing(Supplier<Optional<Route>> defaultRoute, Function<Integer, Optional<RouteLookup>> lookup) {
            this(defaultRoute, lookup, () -> {
                throw new IllegalStateException("no IPv6 routing here");
            }, a -> {
                throw new IllegalStateException("no IPv6 routing here");
            });
        }

        static Routing of(Rtnetlink nl) {
            return new Routing(() -> nl.routes().defaultRoute(), a -> nl.routes().lookup(a),
                    () -> nl.routes().defaultRoute6(), a -> nl.routes().lookup6(a));
        }
    }

    /** The address families the node carries: the config's EnableIPv4 and EnableIPv6. */
    record Families(boolean ipv4, boolean ipv6) {
        static final Families IPV4 = new Families(true, false);

        Families {
            if (!ipv4 && !ipv6) {
                throw new IllegalArgumentException("a node carries IPv4, IPv6 or both");
            }
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

    /**
     * The choice for a node carrying {@code families}.
     *
     * @param publicIpv6 the {@code --public-ipv6} value, or null
     */
    public static ExternalInterface select(Rtnetlink nl, DaemonOptions.InterfaceChoice choice, String publicIp,
                                           String publicIpv6, Families families) throws InterfaceSelectionException {
        return select(nl.linksWithAddresses(), choice, publicIp, publicIpv6, families, Routing.of(nl));
    }

    /** The choice for {@code families} on a snapshot of the host's links. */
    static ExternalInterface select(List<LinkWithAddresses> links, DaemonOptions.InterfaceChoice choice,
                                    String publicIp, String publicIpv6, Families families, Routing routing)
            throws InterfaceSelectionException {
        if (!families.ipv6()) {
            return select(links, choice, publicIp, routing);
        }
        Optional<Integer> explicitPublic = parsePublicIp(publicIp);
        Optional<Ip6> explicitPublic6 = parsePublicIpv6(publicIpv6);
        boolean anyFlag = !choice.names().isEmpty() || !choice.regexes().isEmpty() || choice.canReach().isPresent();
        Match6 match = anyFlag ? byFlags6(links, choice, families, explicitPublic6, routing)
                : byDefaultRoutes(links, families, explicitPublic6, routing);
        Link link = match.link().link();
        if (link.mtu() <= 0) {
            throw new InterfaceSelectionException("failed to determine the MTU of interface " + link.name());
        }
        int address = match.address() == null ? 0 : match.address();
        // An IPv6-only node publishes PublicIP 0.0.0.0, as flannel's does, unless --public-ip says otherwise.
        return new ExternalInterface(link.name(), link.index(), address, explicitPublic.orElse(address), link.mtu(),
                match.address6(), explicitPublic6.orElse(match.address6()));
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

    /** An interface and the addresses of it to use: IPv4 (null when not carried) and IPv6. */
    private record Match6(LinkWithAddresses link, Integer address, Ip6 address6) {
    }

    private static Optional<Ip6> parsePublicIpv6(String publicIpv6) throws InterfaceSelectionException {
        if (publicIpv6 == null || publicIpv6.isEmpty()) {
            return Optional.empty();
        }
        Optional<Ip6> parsed = parseAddress6(publicIpv6);
        if (parsed.isEmpty()) {
            throw new InterfaceSelectionException("--public-ipv6 " + publicIpv6 + ": not an IPv6 address");
        }
        return parsed;
    }

    /** IPv6 text (with a colon) is an address; anything else is not. */
    private static Optional<Ip6> parseAddress6(String spec) {
        if (spec.indexOf(':') < 0) {
            return Optional.empty();
        }
        try {
            return Optional.of(Ip6.parse(spec));
        } catch (IllegalArgumentException notAnAddress) {
            return Optional.empty();
        }
    }

    /** --iface values, then --iface-regex values, then --iface-can-reach, each needing every family's address. */
    private static Match6 byFlags6(List<LinkWithAddresses> links, DaemonOptions.InterfaceChoice choice, Families families,
                                   Optional<Ip6> public6, Routing routing) throws InterfaceSelectionException {
        List<String> misses = new ArrayList<>();
        for (String spec : choice.names()) {
            Optional<Match6> match = byIface6(links, spec, families, public6, misses);
            if (match.isPresent()) {
                return match.get();
            }
        }
        for (String regex : choice.regexes()) {
            Optional<Match6> match = byRegex6(links, regex, families, public6, misses);
            if (match.isPresent()) {
                return match.get();
            }
        }
        if (choice.canReach().isPresent()) {
            Optional<Match6> match = byCanReach6(links, choice.canReach().get(), families, public6, routing, misses);
            if (match.isPresent()) {
                return match.get();
            }
        }
        throw new InterfaceSelectionException(String.join("; ", misses));
    }

    private static Optional<Match6> byIface6(List<LinkWithAddresses> links, String spec, Families families,
                                             Optional<Ip6> public6, List<String> misses) {
        String what = "--iface " + spec;
        Optional<Integer> asAddress = parseAddress(spec);
        if (asAddress.isPresent()) {
            Optional<LinkWithAddresses> owner = ownerOf(links, asAddress.get());
            if (owner.isEmpty()) {
                misses.add(what + ": no interface has this address (have: " + describeAddresses(links) + ")");
                return Optional.empty();
            }
            return complete(owner.get(), asAddress.get(), null, families, public6, what, misses);
        }
        Optional<Ip6> asAddress6 = parseAddress6(spec);
        if (asAddress6.isPresent()) {
            Optional<LinkWithAddresses> owner = links.stream()
                    .filter(l -> l.ipv6Addresses().stream().anyMatch(a -> a.address().equals(asAddress6.get())))
                    .findFirst();
            if (owner.isEmpty()) {
                misses.add(what + ": no interface has this address (have: " + describeAddresses6(links) + ")");
                return Optional.empty();
            }
            return complete(owner.get(), null, asAddress6.get(), families, public6, what, misses);
        }
        Optional<LinkWithAddresses> named = links.stream().filter(l -> l.link().name().equals(spec)).findFirst();
        if (named.isEmpty()) {
            misses.add(what + ": no such interface (have: " + describeNames(links) + ")");
            return Optional.empty();
        }
        return complete(named.get(), null, null, families, public6, what, misses);
    }

    /**
     * flannel's dual stack: an interface whose IPv4 and IPv6 addresses both match, in ifindex order (IPv6-only: whose
     * IPv6 addresses match); then the first interface whose name matches.
     */
    private static Optional<Match6> byRegex6(List<LinkWithAddresses> links, String regex, Families families,
                                             Optional<Ip6> public6, List<String> misses) {
        Optional<Pattern> compiled = compile(regex, misses);
        if (compiled.isEmpty()) {
            return Optional.empty();
        }
        Pattern pattern = compiled.get();
        for (LinkWithAddresses link : links) {
            Optional<Integer> v4 = usableAddresses(link).stream().filter(a -> pattern.matcher(Ip4.format(a)).find()).findFirst();
            Optional<Ip6> v6 = usableIpv6Addresses(link).stream().filter(a -> pattern.matcher(a.toString()).find()).findFirst();
            if (v6.isPresent() && (!families.ipv4() || v4.isPresent())) {
                return Optional.of(new Match6(link, v4.orElse(null), v6.get()));
            }
        }
        for (LinkWithAddresses link : links) {
            if (pattern.matcher(link.link().name()).find()) {
                return complete(link, null, null, families, public6, "--iface-regex " + regex + ": matches interface "
                        + link.link().name() + ", which", misses);
            }
        }
        misses.add("--iface-regex " + regex + ": matches no interface name or " + (families.ipv4() ? "IPv4 and IPv6" : "IPv6")
                + " address (have: " + describeUsable6(links) + ")");
        return Optional.empty();
    }

    private static Optional<Match6> byCanReach6(List<LinkWithAddresses> links, String spec, Families families,
                                                Optional<Ip6> public6, Routing routing, List<String> misses) {
        String what = "--iface-can-reach " + spec;
        Optional<Integer> target = parseAddress(spec);
        Optional<Ip6> target6 = parseAddress6(spec);
        if (target.isEmpty() && target6.isEmpty()) {
            misses.add(what + ": not an IPv4 or IPv6 address");
            return Optional.empty();
        }
        int outputIndex;
        Integer source = null;
        Ip6 source6 = null;
        String described;
        try {
            if (target.isPresent()) {
                Optional<RouteLookup> route = routing.lookup().apply(target.get());
                if (route.isEmpty()) {
                    misses.add(what + ": no route to it (ENETUNREACH, " + Errno.message(Errno.ENETUNREACH) + ")");
                    return Optional.empty();
                }
                outputIndex = route.get().outputIndex();
                source = route.get().source().isPresent() ? route.get().source().getAsInt() : null;
                described = route.get().describe();
            } else {
                Optional<RouteLookup6> route = routing.lookup6().apply(target6.get());
                if (route.isEmpty()) {
                    misses.add(what + ": no route to it (ENETUNREACH, " + Errno.message(Errno.ENETUNREACH) + ")");
                    return Optional.empty();
                }
                outputIndex = route.get().outputIndex();
                source6 = route.get().source().orElse(null);
                described = route.get().describe();
            }
        } catch (NetlinkException e) {
            misses.add(what + ": the kernel will not route to it (" + e.errnoName() + ", " + e.errnoMessage()
                    + refusalReason(e.errno()) + ")");
            return Optional.empty();
        }
        int index = outputIndex;
        Optional<LinkWithAddresses> link = links.stream().filter(l -> l.link().index() == index).findFirst();
        if (link.isEmpty()) {
            misses.add(what + ": the route (" + described + ") leaves through interface #" + index + ", which does not exist");
            return Optional.empty();
        }
        return complete(link.get(), source, source6, families, public6, what + ": the route leaves through "
                + link.get().link().name() + ", which", misses);
    }

    private static Match6 byDefaultRoutes(List<LinkWithAddresses> links, Families families, Optional<Ip6> public6,
                                          Routing routing) throws InterfaceSelectionException {
        LinkWithAddresses v4Link = null;
        if (families.ipv4()) {
            v4Link = byDefaultRoute(links, routing.defaultRoute().get()).link();
        }
        Optional<Route6> route6 = routing.defaultRoute6().get();
        if (route6.isEmpty()) {
            throw new InterfaceSelectionException("no IPv6 default route (EnableIPv6 is set), and no --iface, --iface-regex or "
                    + "--iface-can-reach given");
        }
        Route6 route = route6.get();
        if (route.outputIndex() == 0) {
            throw new InterfaceSelectionException("the IPv6 default route (" + route.describe()
                    + ") names no single output interface; give --iface");
        }
        LinkWithAddresses v6Link = links.stream().filter(l -> l.link().index() == route.outputIndex()).findFirst()
                .orElseThrow(() -> new InterfaceSelectionException("the IPv6 default route (" + route.describe()
                        + ") leaves through interface #" + route.outputIndex() + ", which does not exist"));
        if (v4Link != null && v4Link.link().index() != v6Link.link().index()) {
            throw new InterfaceSelectionException("the IPv6 default route leaves through " + v6Link.link().name()
                    + " and the IPv4 one through " + v4Link.link().name() + "; they must be the same interface (give --iface)");
        }
        List<String> misses = new ArrayList<>();
        return complete(v6Link, null, null, families, public6, "default route interface " + v6Link.link().name(), misses)
                .orElseThrow(() -> new InterfaceSelectionException(String.join("; ", misses)));
    }

    /**
     * The addresses of {@code link} a node carrying {@code families} uses: those given (the matched ones), else its
     * first usable of each family; --public-ipv6 is the IPv6 one when the interface holds it (flannel's dual stack
     * with --iface and --public-ipv6). A family the interface has no address of is a miss naming the interface and
     * the family.
     */
    private static Optional<Match6> complete(LinkWithAddresses link, Integer address, Ip6 address6, Families families,
                                             Optional<Ip6> public6, String what, List<String> misses) {
        Integer v4 = null;
        if (families.ipv4()) {
            v4 = address != null ? address : firstUsableAddress(link).orElse(null);
            if (v4 == null) {
                misses.add(what + " has no IPv4 address");
                return Optional.empty();
            }
        }
        Ip6 v6 = address6;
        if (v6 == null && public6.isPresent()
                && link.ipv6Addresses().stream().anyMatch(a -> a.address().equals(public6.get()))) {
            v6 = public6.get();
        }
        if (v6 == null) {
            List<Ip6> usable = usableIpv6Addresses(link);
            if (usable.isEmpty()) {
                misses.add(what + " has no global IPv6 address (EnableIPv6 is set)");
                return Optional.empty();
            }
            v6 = usable.get(0);
        }
        return Optional.of(new Match6(link, v4, v6));
    }

    /**
     * The interface's IPv6 addresses a node may use as its underlay address, in flannel's preference order (its
     * GetInterfaceIP6Addrs): global ones only (not link-local fe80::/10, whose use needs a scope on every peer, nor
     * ::1 or multicast), never a deprecated one or one whose duplicate address detection failed; permanent (assigned
     * by hand) before others, non-temporary before temporary, an address still in detection (tentative) last,
     * otherwise in the kernel's order.
     */
    static List<Ip6> usableIpv6Addresses(LinkWithAddresses link) {
        List<LinkAddress6> usable = new ArrayList<>();
        for (LinkAddress6 a : link.ipv6Addresses()) {
            if (a.scope() != LinkAddress6.SCOPE_UNIVERSE || a.isLinkLocal() || a.isDeprecated() || a.isDadFailed()
                    || a.address().isZero() || a.address().group(0) >= 0xff00 || (a.address().group(0) & 0xffc0) == 0xfe80) {
                continue;
            }
            usable.add(a);
        }
        usable.sort(java.util.Comparator
                .comparingInt((LinkAddress6 a) -> (a.flags() & LinkAddress6.IFA_F_PERMANENT) != 0 ? 0 : 1)
                .thenComparingInt(a -> a.isTemporary() ? 1 : 0)
                .thenComparingInt(a -> a.isTentative() ? 1 : 0));
        return usable.stream().map(LinkAddress6::address).toList();
    }

    private static String describeAddresses6(List<LinkWithAddresses> links) {
        String owned = links.stream()
                .flatMap(l -> l.ipv6Addresses().stream().map(a -> l.link().name() + " " + a.address()))
                .collect(Collectors.joining(", "));
        return owned.isEmpty() ? "no IPv6 addresses" : owned;
    }

    /** "lo [] [], eth0 [198.18.0.1] [2001:2::1]": every interface with its usable IPv4 and IPv6 addresses. */
    private static String describeUsable6(List<LinkWithAddresses> links) {
        return links.stream()
                .map(l -> l.link().name() + " " + usableAddresses(l).stream().map(Ip4::format)
                        .collect(Collectors.joining(", ", "[", "]"))
                        + " " + usableIpv6Addresses(l).stream().map(Ip6::toString).collect(Collectors.joining(", ", "[", "]")))
                .collect(Collectors.joining(", "));
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

    /** The {@code --iface-regex} pattern, or empty with the reason added to {@code misses}. */
    private static Optional<Pattern> compile(String regex, List<String> misses) {
        try {
            return Optional.of(Pattern.compile(regex));
        } catch (PatternSyntaxException e) {
            misses.add("--iface-regex " + regex + ": not a regular expression: " + e.getDescription());
            return Optional.empty();
        }
    }

    /**
     * Addresses first, on every interface, then names, as flannel's LookupExtIface does. Like flannel, the first
     * interface whose name matches is taken or the regex fails: a later interface whose name also matches is not
     * tried.
     */
    private static Optional<Match> byRegex(List<LinkWithAddresses> links, String regex, List<String> misses) {
        Optional<Pattern> compiled = compile(regex, misses);
        if (compiled.isEmpty()) {
            return Optional.empty();
        }
        Pattern pattern = compiled.get();
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
