package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import io.flanneld.testkit.NetnsFabric;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Interface selection against a real namespace: a fabric host whose eth0 carries 198.18.0.1/16, read through a
 * netlink socket opened inside that namespace.
 */
class InterfaceSelectorTest {
    private NetnsFabric fabric;
    private NetnsFabric.Host host;
    private Rtnetlink nl;

    @BeforeEach
    void createHost() {
        fabric = NetnsFabric.create();
        try {
            host = fabric.addHost("sel", "198.18.0.1/16");
            nl = Rtnetlink.openInNamespace(host.netns());
        } catch (RuntimeException e) {
            fabric.close();
            throw e;
        }
    }

    @AfterEach
    void removeHost() {
        try {
            if (nl != null) {
                nl.close();
            }
        } finally {
            fabric.close();
        }
    }

    private void ip(String... args) {
        String[] cmd = new String[args.length + 1];
        cmd[0] = "ip";
        System.arraycopy(args, 0, cmd, 1, args.length);
        host.exec(cmd).check();
    }

    /** A second interface, dummy0 (a veth pair: this kernel may lack the dummy driver), up with carrier. */
    private void addSpareLink() {
        ip("link", "add", "dummy0", "type", "veth", "peer", "name", "dummy0p");
        ip("link", "set", "dummy0p", "up");
    }

    private ExternalInterface select(List<String> ifaces, String publicIp) throws InterfaceSelectionException {
        return InterfaceSelector.select(nl, DaemonOptions.InterfaceChoice.ofNames(ifaces), publicIp);
    }

    private int index(String name) {
        return nl.links().byName(name).orElseThrow().index();
    }

    private static void assertMessage(String expected, InterfaceSelectionException e) {
        assertEquals(expected, e.getMessage());
    }

    @Test
    void withoutIfaceOrDefaultRouteFails() {
        var e = assertThrows(InterfaceSelectionException.class, () -> select(List.of(), null));
        assertMessage("no default route, and no --iface, --iface-regex or --iface-can-reach given", e);
    }

    @Test
    void withoutIfaceUsesDefaultRouteInterface() throws Exception {
        ip("route", "add", "default", "via", "198.18.0.254");

        ExternalInterface ext = select(List.of(), null);

        assertEquals(new ExternalInterface("eth0", index("eth0"), Ip4.parse("198.18.0.1"), Ip4.parse("198.18.0.1"),
                1500), ext);
    }

    @Test
    void defaultRouteThroughAnotherInterfaceIsFollowed() throws Exception {
        addSpareLink();
        ip("link", "set", "dummy0", "mtu", "9000", "up");
        ip("addr", "add", "198.18.200.1/24", "dev", "dummy0");
        ip("route", "add", "default", "via", "198.18.200.254", "dev", "dummy0");

        ExternalInterface ext = select(List.of(), null);

        assertEquals("dummy0", ext.name());
        assertEquals(Ip4.parse("198.18.200.1"), ext.address());
        assertEquals(9000, ext.mtu());
    }

    @Test
    void publicIpOverridesOnlyThePublicAddress() throws Exception {
        ip("route", "add", "default", "via", "198.18.0.254");

        ExternalInterface ext = select(List.of(), "198.18.99.7");

        assertEquals(Ip4.parse("198.18.0.1"), ext.address());
        assertEquals(Ip4.parse("198.18.99.7"), ext.publicIp());
    }

    @Test
    void badPublicIpIsRejected() {
        var e = assertThrows(InterfaceSelectionException.class,
                () -> select(List.of("eth0"), "198.18.0.300"));
        assertMessage("--public-ip 198.18.0.300: not an IPv4 address", e);
    }

    @Test
    void ifaceByNameNeedsNoDefaultRoute() throws Exception {
        ExternalInterface ext = select(List.of("eth0"), null);

        assertEquals(new ExternalInterface("eth0", index("eth0"), Ip4.parse("198.18.0.1"), Ip4.parse("198.18.0.1"),
                1500), ext);
    }

    @Test
    void ifaceByAddressUsesThatAddressNotTheFirst() throws Exception {
        ip("addr", "add", "198.18.1.1/16", "dev", "eth0");

        ExternalInterface ext = select(List.of("198.18.1.1"), null);

        assertEquals("eth0", ext.name());
        assertEquals(Ip4.parse("198.18.1.1"), ext.address());
        assertEquals(Ip4.parse("198.18.1.1"), ext.publicIp());
        assertEquals(Ip4.parse("198.18.0.1"),
                select(List.of("eth0"), null).address(), "by name: first address");
    }

    @Test
    void firstMatchingIfaceWins() throws Exception {
        addSpareLink();
        ip("addr", "add", "198.18.200.1/24", "dev", "dummy0");

        assertEquals("eth0", select(List.of("eth9", "198.18.5.5", "eth0", "dummy0"), null)
                .name());
        assertEquals("dummy0", select(List.of("198.18.200.1", "eth0"), null).name());
        assertEquals("dummy0", select(List.of("dummy0", "eth0"), null).name());
    }

    @Test
    void unknownIfaceNameListsTheInterfaces() {
        var e = assertThrows(InterfaceSelectionException.class,
                () -> select(List.of("eth9"), null));
        assertMessage("--iface eth9: no such interface (have: " + linkNames() + ")", e);
        assertTrue(e.getMessage().contains("lo") && e.getMessage().contains("eth0"), e.getMessage());
    }

    @Test
    void unownedIfaceAddressListsTheAddresses() {
        var e = assertThrows(InterfaceSelectionException.class,
                () -> select(List.of("198.18.0.9", "eth9"), null));
        assertTrue(e.getMessage().startsWith("--iface 198.18.0.9: no interface has this address (have: "),
                e.getMessage());
        assertTrue(e.getMessage().contains("eth0 198.18.0.1"), e.getMessage());
        assertTrue(e.getMessage().contains("; --iface eth9: no such interface"), e.getMessage());
    }

    @Test
    void namedIfaceWithoutIpv4AddressIsSkipped() throws Exception {
        addSpareLink();

        assertEquals("eth0", select(List.of("dummy0", "eth0"), null).name());
        var e = assertThrows(InterfaceSelectionException.class,
                () -> select(List.of("dummy0"), null));
        assertMessage("--iface dummy0 has no IPv4 address", e);
    }

    @Test
    void defaultRouteInterfaceWithoutIpv4AddressFails() {
        addSpareLink();
        ip("link", "set", "dummy0", "up");
        ip("route", "add", "default", "dev", "dummy0");

        var e = assertThrows(InterfaceSelectionException.class, () -> select(List.of(), null));
        assertMessage("default route interface dummy0 has no IPv4 address", e);
    }

    /**
     * dummy0 carries 198.18.200.1/24 and 198.18.200.2/24; 198.18.64.0/24 is routed through it from source .2, and
     * 198.18.96.0/24 through eth0.
     */
    private void addSecondUnderlay() {
        addSpareLink();
        ip("link", "set", "dummy0", "up");
        ip("addr", "add", "198.18.200.1/24", "dev", "dummy0");
        ip("addr", "add", "198.18.200.2/24", "dev", "dummy0");
        ip("route", "add", "198.18.64.0/24", "via", "198.18.200.254", "dev", "dummy0", "src", "198.18.200.2");
        ip("route", "add", "198.18.96.0/24", "via", "198.18.0.254", "dev", "eth0");
    }

    private ExternalInterface select(DaemonOptions.InterfaceChoice choice) throws InterfaceSelectionException {
        return InterfaceSelector.select(nl, choice, null);
    }

    private static DaemonOptions.InterfaceChoice canReach(String address) {
        return new DaemonOptions.InterfaceChoice(List.of(), List.of(), Optional.of(address));
    }

    @Test
    void canReachChoosesTheInterfaceAndSourceTheKernelWouldUse() throws Exception {
        addSecondUnderlay();

        assertEquals(new ExternalInterface("dummy0", index("dummy0"), Ip4.parse("198.18.200.2"),
                Ip4.parse("198.18.200.2"), 1500), select(canReach("198.18.64.9")), "the route's source, not .1");
        assertEquals(new ExternalInterface("eth0", index("eth0"), Ip4.parse("198.18.0.1"), Ip4.parse("198.18.0.1"),
                1500), select(canReach("198.18.96.9")));
        assertEquals("dummy0", select(canReach("198.18.200.77")).name());
        assertEquals("eth0", select(new DaemonOptions.InterfaceChoice(List.of("eth0"), List.of(),
                Optional.of("198.18.64.9"))).name(), "--iface comes first");
    }

    @Test
    void canReachWithoutUsableRouteNamesTheAddress() {
        ip("route", "add", "blackhole", "198.19.5.0/24");

        var e = assertThrows(InterfaceSelectionException.class, () -> select(canReach("198.19.9.9")));
        assertMessage("--iface-can-reach 198.19.9.9: no route to it (ENETUNREACH, Network is unreachable)", e);
        e = assertThrows(InterfaceSelectionException.class, () -> select(canReach("198.19.5.77")));
        assertMessage("--iface-can-reach 198.19.5.77: the kernel will not route to it (EINVAL, Invalid argument: a "
                + "blackhole route covers it)", e);
    }

    @Test
    void regexMatchesAddressesOfTheNamespacesInterfaces() throws Exception {
        addSecondUnderlay();

        ExternalInterface ext = select(new DaemonOptions.InterfaceChoice(List.of("eth9"),
                List.of("^wlan", "^198\\.18\\.200\\.2$", "eth0"), Optional.empty()));

        assertEquals("dummy0", ext.name());
        assertEquals(Ip4.parse("198.18.200.2"), ext.address());
    }

    private String linkNames() {
        return String.join(", ", nl.linksWithAddresses().stream().map(l -> l.link().name()).toList());
    }
}
