package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.daemon.DaemonOptions.InterfaceChoice;
import io.flanneld.net.Errno;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Route;
import io.flanneld.net.RouteLookup;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The interface choice itself, on hand-made snapshots of a host's links (no kernel): which flag wins, which address
 * goes with the interface, and what the errors say.
 */
class InterfaceChoiceTest {
    private static final LinkWithAddresses LO = link(1, "lo", 65536, "127.0.0.1/8");
    private static final LinkWithAddresses ETH0 = link(2, "eth0", 1500, "198.18.0.1/16");
    private static final LinkWithAddresses ETH1 = link(3, "eth1", 9000, "169.254.7.7/16", "198.18.200.1/24");
    private static final LinkWithAddresses BARE = link(4, "bare0", 1500);
    private static final List<LinkWithAddresses> HOST = List.of(LO, ETH0, ETH1, BARE);

    private static LinkWithAddresses link(int index, String name, int mtu, String... addresses) {
        return new LinkWithAddresses(new Link(index, name, Link.IFF_UP, mtu, Optional.empty(), Optional.empty(),
                Optional.empty()), Arrays.stream(addresses).map(a -> address(index, a)).toList());
    }

    /** "198.18.0.1/16" on link {@code index}, as the kernel lists it. */
    private static LinkAddress address(int index, String cidr) {
        int slash = cidr.indexOf('/');
        return new LinkAddress(index, Ip4.parse(cidr.substring(0, slash)), Integer.parseInt(cidr.substring(slash + 1)));
    }

    /** Routing that must not be asked: a choice made from the links alone never looks at routes. */
    private static final InterfaceSelector.Routing NO_ROUTES = new InterfaceSelector.Routing(
            () -> fail("the default route was asked"), a -> fail("the route to " + Ip4.format(a) + " was asked"));

    private static InterfaceSelector.Routing reaching(Function<Integer, Optional<RouteLookup>> lookup) {
        return new InterfaceSelector.Routing(() -> fail("the default route was asked"), lookup);
    }

    private static Optional<RouteLookup> via(LinkWithAddresses link, String source) {
        return Optional.of(new RouteLookup(Ip4.parse("198.18.64.9"), RouteLookup.TYPE_UNICAST, Route.TABLE_MAIN,
                link.link().index(), OptionalInt.of(Ip4.parse("198.18.200.254")),
                source == null ? OptionalInt.empty() : OptionalInt.of(Ip4.parse(source))));
    }

    private static InterfaceChoice choice(List<String> names, List<String> regexes, String canReach) {
        return new InterfaceChoice(names, regexes, Optional.ofNullable(canReach));
    }

    private static ExternalInterface select(InterfaceChoice choice, InterfaceSelector.Routing routing)
            throws InterfaceSelectionException {
        return InterfaceSelector.select(HOST, choice, null, routing);
    }

    private static ExternalInterface byIface(String... ifaces) throws InterfaceSelectionException {
        return select(InterfaceChoice.ofNames(List.of(ifaces)), NO_ROUTES);
    }

    private static ExternalInterface byRegex(String... regexes) throws InterfaceSelectionException {
        return select(choice(List.of(), List.of(regexes), null), NO_ROUTES);
    }

    private static String failure(InterfaceChoice choice, InterfaceSelector.Routing routing) {
        return assertThrows(InterfaceSelectionException.class, () -> select(choice, routing)).getMessage();
    }

    private static ExternalInterface chosen(LinkWithAddresses link, String address) {
        int a = Ip4.parse(address);
        return new ExternalInterface(link.link().name(), link.link().index(), a, a, link.link().mtu());
    }

    @Test
    void ifaceNamedWithoutUsableAddressIsSkippedLikeFlanneld() throws Exception {
        assertEquals(chosen(ETH0, "198.18.0.1"), byIface("bare0", "eth0"));
        assertEquals(chosen(ETH0, "198.18.0.1"), byIface("lo", "eth0"), "127.0.0.1 is not an address flanneld uses");

        var e = assertThrows(InterfaceSelectionException.class, () -> byIface("bare0", "lo"));
        assertEquals("--iface bare0 has no IPv4 address; --iface lo has no IPv4 address", e.getMessage());
    }

    @Test
    void interfaceChosenByNameUsesItsFirstGlobalAddressBeforeLinkLocalOnes() throws Exception {
        assertEquals(chosen(ETH1, "198.18.200.1"), byIface("eth1"));
        assertEquals(chosen(ETH1, "169.254.7.7"), byIface("169.254.7.7"), "an address given is used as given");
        assertEquals(chosen(LO, "127.0.0.1"), byIface("127.0.0.1"));
    }

    @Test
    void usableAddressesAreUnicastWithLinkLocalLast() {
        LinkWithAddresses odd = link(9, "odd", 1500, "169.254.1.1/16", "0.0.0.0/32", "127.0.0.2/8", "224.0.0.1/32",
                "239.255.255.255/32", "255.255.255.255/32", "240.0.0.1/4", "198.18.9.9/24", "223.255.255.254/8");
        assertEquals(List.of(Ip4.parse("240.0.0.1"), Ip4.parse("198.18.9.9"), Ip4.parse("223.255.255.254"),
                Ip4.parse("169.254.1.1")), InterfaceSelector.usableAddresses(odd));
    }

    @Test
    void regexIsMatchedAgainstTheAddressesOfEveryInterfaceBeforeAnyName() throws Exception {
        // eth0's name matches and comes first, but an address of eth1 matches too: addresses are checked first.
        assertEquals(chosen(ETH1, "198.18.200.1"), byRegex("eth0|198\\.18\\.200\\."));
        assertEquals(chosen(ETH0, "198.18.0.1"), byRegex("eth0"), "no address matches: the name decides");
    }

    @Test
    void regexAddressMatchIsTheAddressUsed() throws Exception {
        assertEquals(chosen(ETH1, "169.254.7.7"), byRegex("^169\\.254\\."));
        assertEquals(chosen(ETH1, "198.18.200.1"), byRegex("^eth1$"), "by name: the first usable address");
    }

    @Test
    void regexIsSearchedForNotAnchored() throws Exception {
        assertEquals(chosen(ETH1, "198.18.200.1"), byRegex("th1"));
        assertEquals(chosen(ETH0, "198.18.0.1"), byRegex("18.0"));
    }

    @Test
    void regexesAreTriedInOrderAndTheFirstMatchWins() throws Exception {
        assertEquals(chosen(ETH1, "198.18.200.1"), byRegex("^wlan", "eth1", "eth0"));
        assertEquals(chosen(ETH0, "198.18.0.1"), byRegex("^wlan", "eth0", "eth1"));
    }

    @Test
    void regexNeverMatchesAnAddressFlanneldWouldNotUse() {
        assertEquals("--iface-regex ^127\\.: matches no interface name or IPv4 address (have: lo [], "
                        + "eth0 [198.18.0.1], eth1 [198.18.200.1, 169.254.7.7], bare0 [])",
                failure(choice(List.of(), List.of("^127\\."), null), NO_ROUTES));
    }

    /** flannel takes the first interface whose name matches; without an address the regex fails, the next is tried. */
    @Test
    void regexMatchingTheNameOfAnInterfaceWithoutAddressFailsAndTheNextRegexIsTried() throws Exception {
        assertEquals("--iface-regex ^(lo|eth0)$: matches interface lo, which has no IPv4 address",
                failure(choice(List.of(), List.of("^(lo|eth0)$"), null), NO_ROUTES));
        assertEquals(chosen(ETH0, "198.18.0.1"), byRegex("^bare", "^eth0$"));
    }

    @Test
    void ifaceValuesComeBeforeRegexesAndRegexesBeforeCanReach() throws Exception {
        assertEquals(chosen(ETH0, "198.18.0.1"),
                select(choice(List.of("eth0"), List.of("eth1"), "198.18.64.9"), NO_ROUTES));
        assertEquals(chosen(ETH0, "198.18.0.1"),
                select(choice(List.of("eth9", "eth0"), List.of("eth1"), null), NO_ROUTES));
        assertEquals(chosen(ETH1, "198.18.200.1"),
                select(choice(List.of("eth9"), List.of("eth1"), "198.18.64.9"), NO_ROUTES));
        assertEquals(chosen(ETH1, "198.18.200.1"),
                select(choice(List.of("eth9"), List.of("^wlan"), "198.18.64.9"), reaching(a -> via(ETH1, null))));
    }

    @Test
    void canReachUsesTheRoutesInterfaceAndSourceAddress() throws Exception {
        List<Integer> asked = new ArrayList<>();
        ExternalInterface ext = select(choice(List.of(), List.of(), "198.18.64.9"), reaching(a -> {
            asked.add(a);
            return via(ETH1, "169.254.7.7");
        }));

        assertEquals(chosen(ETH1, "169.254.7.7"), ext);
        assertEquals(List.of(Ip4.parse("198.18.64.9")), asked);
        assertEquals(chosen(ETH1, "198.18.200.1"), select(choice(List.of(), List.of(), "198.18.64.9"),
                reaching(a -> via(ETH1, null))), "a route without a source: the first usable address");
    }

    @Test
    void canReachFailuresSayWhy() {
        InterfaceChoice canReach = choice(List.of(), List.of(), "198.19.9.9");
        assertEquals("--iface-can-reach 198.19.9.9: no route to it (ENETUNREACH, Network is unreachable)",
                failure(canReach, reaching(a -> Optional.empty())));
        assertEquals("--iface-can-reach 198.19.9.9: the kernel will not route to it (EINVAL, Invalid argument: a "
                        + "blackhole route covers it)",
                failure(canReach, reaching(a -> {
                    throw new NetlinkException("RTM_GETROUTE 198.19.9.9", Errno.EINVAL, "");
                })));
        assertEquals("--iface-can-reach 198.19.9.9: the route (198.18.64.9 via 198.18.200.254 dev #42) leaves "
                        + "through interface #42, which does not exist",
                failure(canReach, reaching(a -> via(link(42, "gone", 1500), null))));
        assertEquals("--iface-can-reach 198.19.9.9: the route leaves through bare0, which has no IPv4 address",
                failure(canReach, reaching(a -> via(BARE, null))));
        assertEquals("--iface-can-reach eth0: not an IPv4 address",
                failure(choice(List.of(), List.of(), "eth0"), NO_ROUTES));
    }

    @Test
    void errorNamesEveryValueTriedAndWhatTheHostHas() {
        assertEquals("--iface eth9: no such interface (have: lo, eth0, eth1, bare0); "
                        + "--iface-regex ^10\\.: matches no interface name or IPv4 address (have: lo [], eth0 [198.18.0.1], "
                        + "eth1 [198.18.200.1, 169.254.7.7], bare0 []); "
                        + "--iface-regex wlan: matches no interface name or IPv4 address (have: lo [], eth0 [198.18.0.1], "
                        + "eth1 [198.18.200.1, 169.254.7.7], bare0 []); "
                        + "--iface-can-reach 198.19.9.9: no route to it (ENETUNREACH, Network is unreachable)",
                failure(choice(List.of("eth9"), List.of("^10\\.", "wlan"), "198.19.9.9"),
                        reaching(a -> Optional.empty())));
    }

    @Test
    void defaultRouteDecidesOnlyWithoutAnyOfTheFlags() throws Exception {
        InterfaceSelector.Routing routes = new InterfaceSelector.Routing(
                () -> Optional.of(new Route(Ip4Net.ALL, OptionalInt.of(Ip4.parse("198.18.200.254")),
                        ETH1.link().index(), false, Route.TABLE_MAIN, Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0)),
                a -> fail("asked the route to " + a));
        assertEquals(chosen(ETH1, "198.18.200.1"), select(choice(List.of(), List.of(), null), routes));
        assertEquals("--iface-regex ^wlan: matches no interface name or IPv4 address (have: lo [], eth0 [198.18.0.1], "
                        + "eth1 [198.18.200.1, 169.254.7.7], bare0 [])",
                failure(choice(List.of(), List.of("^wlan"), null), NO_ROUTES), "a regex that misses is an error");
    }
}
