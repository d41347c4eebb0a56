package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.daemon.DaemonOptions.InterfaceChoice;
import io.flanneld.daemon.InterfaceSelector.Families;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkAddress6;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.RouteLookup;
import io.flanneld.net.RouteLookup6;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * The interface choice of a node carrying IPv6 (dual-stack or IPv6-only), on hand-made snapshots: which IPv6 address
 * goes with the interface (flannel's GetInterfaceIP6Addrs order, global only), how each flag finds the interface, and
 * errors naming the interface and the missing family.
 */
class InterfaceChoice6Test {
    private static final Families DUAL = new Families(true, true);
    private static final Families V6 = new Families(false, true);

    private static final LinkWithAddresses LO = link(1, "lo", List.of("127.0.0.1/8"),
            List.of(new LinkAddress6(1, Ip6.parse("::1"), 128, LinkAddress6.SCOPE_HOST, LinkAddress6.IFA_F_PERMANENT)));
    /** eth0: a link-local address listed first, then a temporary, a deprecated and a permanent global one. */
    private static final LinkWithAddresses ETH0 = link(2, "eth0", List.of("198.18.0.1/16"), List.of(
            new LinkAddress6(2, Ip6.parse("fe80::1"), 64, LinkAddress6.SCOPE_LINK, LinkAddress6.IFA_F_PERMANENT),
            new LinkAddress6(2, Ip6.parse("2001:2::99"), 64, LinkAddress6.SCOPE_UNIVERSE, LinkAddress6.IFA_F_TEMPORARY),
            new LinkAddress6(2, Ip6.parse("2001:2::77"), 64, LinkAddress6.SCOPE_UNIVERSE,
                    LinkAddress6.IFA_F_PERMANENT | LinkAddress6.IFA_F_DEPRECATED),
            new LinkAddress6(2, Ip6.parse("2001:2::1"), 64, LinkAddress6.SCOPE_UNIVERSE, LinkAddress6.IFA_F_PERMANENT)));
    /** eth1: IPv4 only, apart from its link-local address. */
    private static final LinkWithAddresses ETH1 = link(3, "eth1", List.of("198.18.200.1/24"), List.of(
            new LinkAddress6(3, Ip6.parse("fe80::3"), 64, LinkAddress6.SCOPE_LINK, LinkAddress6.IFA_F_PERMANENT)));
    /** v6only0: IPv6 only. */
    private static final LinkWithAddresses V6ONLY = link(4, "v6only0", List.of(), List.of(
            new LinkAddress6(4, Ip6.parse("2001:2:0:4::4"), 64, LinkAddress6.SCOPE_UNIVERSE, LinkAddress6.IFA_F_PERMANENT)));
    private static final List<LinkWithAddresses> HOST = List.of(LO, ETH0, ETH1, V6ONLY);

    private static LinkWithAddresses link(int index, String name, List<String> v4, List<LinkAddress6> v6) {
        return new LinkWithAddresses(new Link(index, name, Link.IFF_UP, 1500, Optional.empty(), Optional.empty(),
                Optional.empty()), v4.stream().map(a -> address(index, a)).toList(), v6);
    }

    private static LinkAddress address(int index, String cidr) {
        int slash = cidr.indexOf('/');
        return new LinkAddress(index, Ip4.parse(cidr.substring(0, slash)), Integer.parseInt(cidr.substring(slash + 1)));
    }

    private static final InterfaceSelector.Routing NO_ROUTES = new InterfaceSelector.Routing(
            () -> fail("the default route was asked"), a -> fail("a route was asked"),
            () -> fail("the IPv6 default route was asked"), a -> fail("an IPv6 route was asked"));

    private static InterfaceSelector.Routing defaults(LinkWithAddresses v4, LinkWithAddresses v6) {
        return new InterfaceSelector.Routing(
                () -> Optional.of(new Route(Ip4Net.parse("0.0.0.0/0"), OptionalInt.of(Ip4.parse("198.18.255.254")), v4.link().index(),
                        false, Route.TABLE_MAIN, Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0)),
                a -> fail("a route was asked"),
                () -> v6 == null ? Optional.empty()
                        : Optional.of(Route6.viaDevice(Ip6Net.parse("::/0"), Ip6.parse("2001:2::fffe"), v6.link().index())),
                a -> fail("an IPv6 route was asked"));
    }

    private static ExternalInterface select(InterfaceChoice choice, Families families, String public6,
                                            InterfaceSelector.Routing routing) throws InterfaceSelectionException {
        return InterfaceSelector.select(HOST, choice, null, public6, families, routing);
    }

    private static InterfaceChoice names(String... names) {
        return InterfaceChoice.ofNames(List.of(names));
    }

    private static InterfaceChoice regexes(String... regexes) {
        return new InterfaceChoice(List.of(), List.of(regexes), Optional.empty());
    }

    private static ExternalInterface chosen(LinkWithAddresses link, String v4, String v6, String public6) {
        int a = v4 == null ? 0 : Ip4.parse(v4);
        return new ExternalInterface(link.link().name(), link.link().index(), a, a, 1500, Ip6.parse(v6), Ip6.parse(public6));
    }

    @Test
    void theIpv6AddressIsThePermanentGlobalOneNeverLinkLocalOrDeprecated() throws Exception {
        assertEquals(List.of(Ip6.parse("2001:2::1"), Ip6.parse("2001:2::99")), InterfaceSelector.usableIpv6Addresses(ETH0));
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::1", "2001:2::1"), select(names("eth0"), DUAL, null, NO_ROUTES));
        assertEquals(List.of(), InterfaceSelector.usableIpv6Addresses(LO));
    }

    @Test
    void publicIpv6IsPublishedAndIsTheLocalAddressWhenTheInterfaceHoldsIt() throws Exception {
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::1", "2001:2::5"), select(names("eth0"), DUAL, "2001:2::5", NO_ROUTES),
                "behind NAT: the interface's own address is the local one");
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::99", "2001:2::99"), select(names("eth0"), DUAL, "2001:2::99", NO_ROUTES));
        var e = assertThrows(InterfaceSelectionException.class, () -> select(names("eth0"), DUAL, "198.18.0.1", NO_ROUTES));
        assertEquals("--public-ipv6 198.18.0.1: not an IPv6 address", e.getMessage());
    }

    @Test
    void dualStackSkipsAnInterfaceWithoutAGlobalIpv6AddressNamingIt() throws Exception {
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::1", "2001:2::1"), select(names("eth1", "eth0"), DUAL, null, NO_ROUTES));
        var e = assertThrows(InterfaceSelectionException.class, () -> select(names("eth1", "v6only0"), DUAL, null, NO_ROUTES));
        assertEquals("--iface eth1 has no global IPv6 address (EnableIPv6 is set); --iface v6only0 has no IPv4 address",
                e.getMessage());
    }

    @Test
    void ipv6OnlyNeedsNoIpv4AddressAndPublishesPublicIpZero() throws Exception {
        assertEquals(chosen(V6ONLY, null, "2001:2:0:4::4", "2001:2:0:4::4"), select(names("v6only0"), V6, null, NO_ROUTES));
        assertEquals(chosen(ETH0, null, "2001:2::1", "2001:2::1"), select(names("eth0"), V6, null, NO_ROUTES));
    }

    @Test
    void ifaceByAddressOfEitherFamily() throws Exception {
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::1", "2001:2::1"), select(names("2001:2::1"), DUAL, null, NO_ROUTES));
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::99", "2001:2::99"), select(names("2001:2::99"), DUAL, null, NO_ROUTES),
                "an address given is used as given");
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::1", "2001:2::1"), select(names("198.18.0.1"), DUAL, null, NO_ROUTES));
        var e = assertThrows(InterfaceSelectionException.class, () -> select(names("2001:2::abc"), V6, null, NO_ROUTES));
        assertEquals("--iface 2001:2::abc: no interface has this address (have: lo ::1, eth0 fe80::1, eth0 2001:2::99, "
                + "eth0 2001:2::77, eth0 2001:2::1, eth1 fe80::3, v6only0 2001:2:0:4::4)", e.getMessage());
    }

    @Test
    void regexMatchesBothFamiliesOnDualStackThenNames() throws Exception {
        assertEquals(chosen(ETH0, null, "2001:2::1", "2001:2::1"), select(regexes("^2001:2::1$"), V6, null, NO_ROUTES));
        assertEquals(chosen(V6ONLY, null, "2001:2:0:4::4", "2001:2:0:4::4"), select(regexes(":4::"), V6, null, NO_ROUTES));
        // Dual stack: an address regex must match an IPv4 and an IPv6 address of one interface (flannel's dualStack).
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::1", "2001:2::1"), select(regexes("^(198\\.18\\.0|2001:2::1$)"), DUAL,
                null, NO_ROUTES));
        // ^198.18 matches no IPv6 address: then the names, where it matches none either.
        var e = assertThrows(InterfaceSelectionException.class, () -> select(regexes("^198\\.18\\."), DUAL, null, NO_ROUTES));
        assertEquals("--iface-regex ^198\\.18\\.: matches no interface name or IPv4 and IPv6 address (have: lo [] [], "
                + "eth0 [198.18.0.1] [2001:2::1, 2001:2::99], eth1 [198.18.200.1] [], v6only0 [] [2001:2:0:4::4])", e.getMessage());
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::1", "2001:2::1"), select(regexes("^eth"), DUAL, null, NO_ROUTES));
        var name = assertThrows(InterfaceSelectionException.class, () -> select(regexes("^eth1$"), DUAL, null, NO_ROUTES));
        assertEquals("--iface-regex ^eth1$: matches interface eth1, which has no global IPv6 address (EnableIPv6 is set)",
                name.getMessage());
    }

    @Test
    void canReachAnIpv6AddressUsesTheRoutesSource() throws Exception {
        InterfaceSelector.Routing routing = new InterfaceSelector.Routing(() -> fail("default route"), a -> fail("IPv4 route"),
                () -> fail("IPv6 default route"),
                a -> Optional.of(new RouteLookup6(a, RouteLookup.TYPE_UNICAST, Route.TABLE_MAIN, 2, Optional.empty(),
                        Optional.of(Ip6.parse("2001:2::99")))));
        InterfaceChoice choice = new InterfaceChoice(List.of(), List.of(), Optional.of("2001:2::200"));
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::99", "2001:2::99"), select(choice, DUAL, null, routing));
        InterfaceSelector.Routing v4 = new InterfaceSelector.Routing(() -> fail("default route"),
                a -> Optional.of(new RouteLookup(a, RouteLookup.TYPE_UNICAST, Route.TABLE_MAIN, 3, OptionalInt.empty(),
                        OptionalInt.of(Ip4.parse("198.18.200.1")))),
                () -> fail("IPv6 default route"), a -> fail("IPv6 route"));
        var e = assertThrows(InterfaceSelectionException.class, () -> select(
                new InterfaceChoice(List.of(), List.of(), Optional.of("198.18.200.9")), DUAL, null, v4));
        assertEquals("--iface-can-reach 198.18.200.9: the route leaves through eth1, which has no global IPv6 address "
                + "(EnableIPv6 is set)", e.getMessage());
    }

    @Test
    void withoutFlagsBothDefaultRoutesMustLeaveThroughOneInterface() throws Exception {
        assertEquals(chosen(ETH0, "198.18.0.1", "2001:2::1", "2001:2::1"), select(names(), DUAL, null, defaults(ETH0, ETH0)));
        assertEquals(chosen(V6ONLY, null, "2001:2:0:4::4", "2001:2:0:4::4"), select(names(), V6, null, defaults(ETH0, V6ONLY)));
        var split = assertThrows(InterfaceSelectionException.class, () -> select(names(), DUAL, null, defaults(ETH0, V6ONLY)));
        assertEquals("the IPv6 default route leaves through v6only0 and the IPv4 one through eth0; they must be the same "
                + "interface (give --iface)", split.getMessage());
        var none = assertThrows(InterfaceSelectionException.class, () -> select(names(), DUAL, null, defaults(ETH0, null)));
        assertEquals("no IPv6 default route (EnableIPv6 is set), and no --iface, --iface-regex or --iface-can-reach given",
                none.getMessage());
        var noV6 = assertThrows(InterfaceSelectionException.class, () -> select(names(), DUAL, null, defaults(ETH1, ETH1)));
        assertEquals("default route interface eth1 has no global IPv6 address (EnableIPv6 is set)", noV6.getMessage());
    }
}
