package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import io.flanneld.testkit.NetnsFabric;
import java.util.List;
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

    private int index(String name) {
        return nl.links().byName(name).orElseThrow().index();
    }

    private static void assertMessage(String expected, InterfaceSelectionException e) {
        assertEquals(expected, e.getMessage());
    }

    @Test
    void withoutIfaceOrDefaultRouteFails() {
        var e = assertThrows(InterfaceSelectionException.class, () -> InterfaceSelector.select(nl, List.of(), null));
        assertMessage("no default route and no --iface given", e);
    }

    @Test
    void withoutIfaceUsesDefaultRouteInterface() throws Exception {
        ip("route", "add", "default", "via", "198.18.0.254");

        ExternalInterface ext = InterfaceSelector.select(nl, List.of(), null);

        assertEquals(new ExternalInterface("eth0", index("eth0"), Ip4.parse("198.18.0.1"), Ip4.parse("198.18.0.1"),
                1500), ext);
    }

    @Test
    void defaultRouteThroughAnotherInterfaceIsFollowed() throws Exception {
        addSpareLink();
        ip("link", "set", "dummy0", "mtu", "9000", "up");
        ip("addr", "add", "198.18.200.1/24", "dev", "dummy0");
        ip("route", "add", "default", "via", "198.18.200.254", "dev", "dummy0");

        ExternalInterface ext = InterfaceSelector.select(nl, List.of(), null);

        assertEquals("dummy0", ext.name());
        assertEquals(Ip4.parse("198.18.200.1"), ext.address());
        assertEquals(9000, ext.mtu());
    }

    @Test
    void publicIpOverridesOnlyThePublicAddress() throws Exception {
        ip("route", "add", "default", "via", "198.18.0.254");

        ExternalInterface ext = InterfaceSelector.select(nl, List.of(), "198.18.99.7");

        assertEquals(Ip4.parse("198.18.0.1"), ext.address());
        assertEquals(Ip4.parse("198.18.99.7"), ext.publicIp());
    }

    @Test
    void badPublicIpIsRejected() {
        var e = assertThrows(InterfaceSelectionException.class,
                () -> InterfaceSelector.select(nl, List.of("eth0"), "198.18.0.300"));
        assertMessage("--public-ip 198.18.0.300: not an IPv4 address", e);
    }

    @Test
    void ifaceByNameNeedsNoDefaultRoute() throws Exception {
        ExternalInterface ext = InterfaceSelector.select(nl, List.of("eth0"), null);

        assertEquals(new ExternalInterface("eth0", index("eth0"), Ip4.parse("198.18.0.1"), Ip4.parse("198.18.0.1"),
                1500), ext);
    }

    @Test
    void ifaceByAddressUsesThatAddressNotTheFirst() throws Exception {
        ip("addr", "add", "198.18.1.1/16", "dev", "eth0");

        ExternalInterface ext = InterfaceSelector.select(nl, List.of("198.18.1.1"), null);

        assertEquals("eth0", ext.name());
        assertEquals(Ip4.parse("198.18.1.1"), ext.address());
        assertEquals(Ip4.parse("198.18.1.1"), ext.publicIp());
        assertEquals(Ip4.parse("198.18.0.1"),
                InterfaceSelector.select(nl, List.of("eth0"), null).address(), "by name: first address");
    }

    @Test
    void firstMatchingIfaceWins() throws Exception {
        addSpareLink();
        ip("addr", "add", "198.18.200.1/24", "dev", "dummy0");

        assertEquals("eth0", InterfaceSelector.select(nl, List.of("eth9", "198.18.5.5", "eth0", "dummy0"), null)
                .name());
        assertEquals("dummy0", InterfaceSelector.select(nl, List.of("198.18.200.1", "eth0"), null).name());
        assertEquals("dummy0", InterfaceSelector.select(nl, List.of("dummy0", "eth0"), null).name());
    }

    @Test
    void unknownIfaceNameListsTheInterfaces() {
        var e = assertThrows(InterfaceSelectionException.class,
                () -> InterfaceSelector.select(nl, List.of("eth9"), null));
        assertMessage("--iface eth9: no such interface (have: " + linkNames() + ")", e);
        assertTrue(e.getMessage().contains("lo") && e.getMessage().contains("eth0"), e.getMessage());
    }

    @Test
    void unownedIfaceAddressListsTheAddresses() {
        var e = assertThrows(InterfaceSelectionException.class,
                () -> InterfaceSelector.select(nl, List.of("198.18.0.9", "eth9"), null));
        assertTrue(e.getMessage().startsWith("--iface 198.18.0.9: no interface has this address (have: "),
                e.getMessage());
        assertTrue(e.getMessage().contains("eth0 198.18.0.1"), e.getMessage());
        assertTrue(e.getMessage().contains("; --iface eth9: no such interface"), e.getMessage());
    }

    @Test
    void namedIfaceWithoutIpv4AddressIsSkipped() throws Exception {
        addSpareLink();

        assertEquals("eth0", InterfaceSelector.select(nl, List.of("dummy0", "eth0"), null).name());
        var e = assertThrows(InterfaceSelectionException.class,
                () -> InterfaceSelector.select(nl, List.of("dummy0"), null));
        assertMessage("--iface dummy0 has no IPv4 address", e);
    }

    @Test
    void defaultRouteInterfaceWithoutIpv4AddressFails() {
        addSpareLink();
        ip("link", "set", "dummy0", "up");
        ip("route", "add", "default", "dev", "dummy0");

        var e = assertThrows(InterfaceSelectionException.class, () -> InterfaceSelector.select(nl, List.of(), null));
        assertMessage("default route interface dummy0 has no IPv4 address", e);
    }

    private String linkNames() {
        return String.join(", ", nl.linksWithAddresses().stream().map(l -> l.link().name()).toList());
    }
}
