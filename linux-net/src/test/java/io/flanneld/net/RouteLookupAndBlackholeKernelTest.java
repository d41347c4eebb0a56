package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The route lookup (what `ip route get` asks) and blackhole routes through the module, in a scratch namespace whose
 * veth0 carries 198.18.200.1/24 and 198.18.200.2/24, with 198.18.64.0/24 routed via 198.18.200.254 from source .2.
 * No packet is sent.
 */
class RouteLookupAndBlackholeKernelTest {
    private static final Ip4Net SUBNET = Ip4Net.parse("198.19.5.0/24");

    private ScratchNamespace ns;
    private Rtnetlink rtnl;
    private int veth0;

    @BeforeEach
    void createHost() {
        ns = ScratchNamespace.create("rt");
        try {
            ns.ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1");
            ns.ip("addr", "add", "198.18.200.1/24", "dev", "veth0");
            ns.ip("addr", "add", "198.18.200.2/24", "dev", "veth0");
            ns.ip("link", "set", "veth0", "up");
            ns.ip("link", "set", "veth1", "up");
            ns.ip("route", "add", "198.18.64.0/24", "via", "198.18.200.254", "dev", "veth0", "src", "198.18.200.2");
            rtnl = Rtnetlink.openInNamespace(ns.name);
            veth0 = rtnl.links().byName("veth0").orElseThrow().index();
        } catch (RuntimeException | AssertionError e) {
            removeHost();
            throw e;
        }
    }

    @AfterEach
    void removeHost() {
        try {
            if (rtnl != null) {
                rtnl.close();
            }
        } finally {
            ns.close();
        }
    }

    @Test
    void lookupAnswersWhatIpRouteGetShows() {
        assertEquals(Optional.of(new RouteLookup(Ip4.parse("198.18.64.9"), RouteLookup.TYPE_UNICAST, Route.TABLE_MAIN,
                        veth0, OptionalInt.of(Ip4.parse("198.18.200.254")), OptionalInt.of(Ip4.parse("198.18.200.2")))),
                rtnl.routes().lookup(Ip4.parse("198.18.64.9")));
        assertEquals(Optional.of(new RouteLookup(Ip4.parse("198.18.200.77"), RouteLookup.TYPE_UNICAST,
                        Route.TABLE_MAIN, veth0, OptionalInt.empty(), OptionalInt.of(Ip4.parse("198.18.200.1")))),
                rtnl.routes().lookup(Ip4.parse("198.18.200.77")));
        String shown = ns.ip("route", "get", "198.18.64.9");
        assertTrue(shown.startsWith("198.18.64.9 via 198.18.200.254 dev veth0 src 198.18.200.2"), shown);

        assertEquals(Optional.empty(), rtnl.routes().lookup(Ip4.parse("198.19.9.9")), "no route: ENETUNREACH");
    }

    @Test
    void blackholeRouteIsAddedListedAndDeletedWithoutTouchingUnicastRoutes() {
        List<Route> unicastBefore = rtnl.routes().list();

        rtnl.routes().addBlackhole(Ip4Net.parse("198.19.5.9/24", true));

        assertEquals(List.of(SUBNET), rtnl.routes().blackholes());
        assertTrue(ns.ip("route", "show", "type", "blackhole").contains("blackhole 198.19.5.0/24"),
                ns.ip("route", "show", "table", "all"));
        assertEquals(unicastBefore, rtnl.routes().list(), "a blackhole route is not a unicast route");
        NetlinkException refused = assertThrows(NetlinkException.class,
                () -> rtnl.routes().lookup(Ip4.parse("198.19.5.77")));
        assertEquals(Errno.EINVAL, refused.errno(), "the kernel refuses to route into a blackhole");
        NetlinkException again = assertThrows(NetlinkException.class, () -> rtnl.routes().addBlackhole(SUBNET));
        assertTrue(again.alreadyExists(), again.getMessage());
        assertEquals("RTM_NEWROUTE add blackhole 198.19.5.0/24", again.operation());

        rtnl.routes().deleteBlackhole(SUBNET);

        assertEquals(List.of(), rtnl.routes().blackholes());
        assertEquals(Optional.empty(), rtnl.routes().lookup(Ip4.parse("198.19.5.77")));
        NetlinkException gone = assertThrows(NetlinkException.class, () -> rtnl.routes().deleteBlackhole(SUBNET));
        assertTrue(gone.notFound(), gone.getMessage());
    }

    @Test
    void ipv6BlackholeRouteIsAddedListedAndDeletedWithoutTouchingAUnicastRouteForTheSameSubnet() {
        Ip6Net subnet6 = Ip6Net.parse("2001:2:19:5::/64");
        // A bridge's route for the subnet (metric 256, as the kernel gives an address's prefix route): it stays and wins.
        ns.ip("-6", "route", "add", "2001:2:19:5::/64", "dev", "veth0", "metric", "256");
        List<Route6> unicastBefore = rtnl.routes().list6();

        rtnl.routes().addBlackhole6(subnet6);

        assertEquals(List.of(subnet6), rtnl.routes().blackholes6());
        assertTrue(ns.ip("-6", "route", "show", "type", "blackhole").contains("blackhole 2001:2:19:5::/64 dev lo metric 1024"),
                ns.ip("-6", "route", "show", "table", "all"));
        assertEquals(unicastBefore, rtnl.routes().list6(), "a blackhole route is not a unicast route");
        assertEquals(List.of(), rtnl.routes().blackholes(), "nor an IPv4 one");
        NetlinkException again = assertThrows(NetlinkException.class, () -> rtnl.routes().addBlackhole6(subnet6));
        assertTrue(again.alreadyExists(), again.getMessage());

        rtnl.routes().deleteBlackhole6(subnet6);

        assertEquals(List.of(), rtnl.routes().blackholes6());
        assertEquals(unicastBefore, rtnl.routes().list6(), "the bridge's route survives the blackhole's deletion");
        // The trap: a second deletion finds no blackhole route and must not take the unicast route in its place
        // (an IPv6 deletion by type alone would).
        NetlinkException gone = assertThrows(NetlinkException.class, () -> rtnl.routes().deleteBlackhole6(subnet6));
        assertTrue(gone.notFound(), gone.getMessage());
        assertEquals(unicastBefore, rtnl.routes().list6());
    }

    /** The connected route of veth0's subnet stands for a bridge's route to the node's own subnet. */
    @Test
    void blackholeNeverReplacesNorDeletesAnotherRouteForTheSameSubnet() {
        Ip4Net connected = Ip4Net.parse("198.18.200.0/24");
        List<Route> unicastBefore = rtnl.routes().list();
        assertTrue(unicastBefore.stream().anyMatch(r -> r.destination().equals(connected)), unicastBefore.toString());

        NetlinkException exists = assertThrows(NetlinkException.class, () -> rtnl.routes().addBlackhole(connected));
        assertTrue(exists.alreadyExists(), exists.getMessage());
        NetlinkException notBlackhole = assertThrows(NetlinkException.class,
                () -> rtnl.routes().deleteBlackhole(connected));
        assertTrue(notBlackhole.notFound(), notBlackhole.getMessage());

        assertEquals(unicastBefore, rtnl.routes().list());
        assertEquals(List.of(), rtnl.routes().blackholes());
    }
}
