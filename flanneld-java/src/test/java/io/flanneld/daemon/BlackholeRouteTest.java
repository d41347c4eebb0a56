package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.net.IpFamily;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.NetnsFabric;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * --ip-blackhole-route in namespaces: a node (198.18.0.1) whose default route goes to a gateway host (198.18.0.254)
 * that answers for 198.19.7.77, an unused address of the node's subnet 198.19.7.0/24. Without the blackhole route
 * the node's packets to it follow the default route and are answered; with it they are dropped on the node.
 */
class BlackholeRouteTest {
    private static final Ip4Net LEASE = Ip4Net.parse("198.19.7.0/24");
    private static final String UNUSED = "198.19.7.77";
    private static final Ip6Net LEASE6 = Ip6Net.parse("2001:2:19:7::/64");
    private static final String UNUSED6 = "2001:2:19:7::77";

    private NetnsFabric fabric;
    private NetnsFabric.Host node;
    private Rtnetlink nl;

    @BeforeEach
    void createHosts() {
        fabric = NetnsFabric.create();
        try {
            node = fabric.addHost("node", "198.18.0.1/24");
            NetnsFabric.Host gateway = fabric.addHost("gw", "198.18.0.254/24");
            gateway.exec("ip", "addr", "add", UNUSED + "/32", "dev", "lo").check();
            node.exec("ip", "route", "add", "default", "via", gateway.ip()).check();
            // The same for IPv6: the gateway answers for an unused address of the node's IPv6 subnet.
            node.exec("ip", "-6", "addr", "add", "2001:2::1/64", "dev", node.iface(), "nodad").check();
            gateway.exec("ip", "-6", "addr", "add", "2001:2::fe/64", "dev", gateway.iface(), "nodad").check();
            gateway.exec("ip", "-6", "addr", "add", UNUSED6 + "/128", "dev", "lo").check();
            node.exec("ip", "-6", "route", "add", "default", "via", "2001:2::fe").check();
            nl = Rtnetlink.openInNamespace(node.netns());
        } catch (RuntimeException e) {
            fabric.close();
            throw e;
        }
    }

    @AfterEach
    void removeHosts() {
        try {
            if (nl != null) {
                nl.close();
            }
        } finally {
            fabric.close();
        }
    }

    private Cmd.Result ping() {
        return node.exec(Duration.ofSeconds(5), "ping", "-n", "-c", "1", "-W", "2", UNUSED);
    }

    private Cmd.Result routeGet() {
        return node.exec("ip", "route", "get", UNUSED);
    }

    private String blackholes() {
        return node.exec("ip", "route", "show", "type", "blackhole").check().stdout();
    }

    @Test
    void unusedAddressesOfTheSubnetAreDroppedWhileTheRouteIsThere() {
        assertTrue(ping().ok(), "without the route, the default route carries it: " + ping());
        assertTrue(routeGet().stdout().contains("via 198.18.0.254 dev eth0"), routeGet().toString());

        BlackholeRoute<Ip4Net> route = BlackholeRoute.add(nl, IpFamily.IPV4, LEASE);

        assertTrue(route.added());
        assertEquals("blackhole 198.19.7.0/24", blackholes().strip());
        assertEquals(List.of(Ip4Net.parse("198.19.7.0/24")), nl.routes().blackholes());
        Cmd.Result get = routeGet();
        assertFalse(get.ok(), get.toString());
        assertTrue(get.stderr().contains("Invalid argument"), "the kernel refuses to route into a blackhole: " + get);
        Cmd.Result dropped = ping();
        assertFalse(dropped.ok(), "the packet must not leave through the default route: " + dropped);

        route.close();

        assertEquals("", blackholes().strip());
        assertTrue(ping().ok(), "after close, the default route carries it again");
    }

    @Test
    void aDeletedBlackholeRouteIsPutBackByEnsure() throws Exception {
        BlackholeRoute<Ip4Net> route = BlackholeRoute.add(nl, IpFamily.IPV4, LEASE);
        assertFalse(route.ensure(), "nothing missing");
        node.exec("ip", "route", "del", "blackhole", "198.19.7.0/24").check();
        assertTrue(route.ensure(), "put back");
        assertEquals("blackhole 198.19.7.0/24", blackholes().strip());
        assertEquals("blackhole_route", route.what());
        route.close();
    }

    @Test
    void aBlackholeRouteLeftByAnEarlierRunIsAdoptedAndRemoved() {
        node.exec("ip", "route", "add", "blackhole", "198.19.7.0/24").check();

        BlackholeRoute<Ip4Net> route = BlackholeRoute.add(nl, IpFamily.IPV4, LEASE);

        assertTrue(route.added());
        route.close();
        assertEquals("", blackholes().strip());
        route.close(); // already gone: nothing to do, no error
    }

    @Test
    void theIpv6SubnetGetsItsOwnBlackholeRouteWhichABridgesRouteStillBeats() {
        java.util.function.Supplier<Cmd.Result> ping6 = () -> node.exec(Duration.ofSeconds(5), "ping", "-6", "-n", "-c", "1", "-W", "2", UNUSED6);
        assertTrue(ping6.get().ok(), "without the route, the default route carries it: " + ping6.get());

        BlackholeRoute<Ip6Net> route = BlackholeRoute.add(nl, IpFamily.IPV6, LEASE6);

        assertTrue(route.added());
        assertEquals("blackhole_route_v6", route.what());
        assertTrue(node.exec("ip", "-6", "route", "show", "type", "blackhole").check().stdout().contains("blackhole 2001:2:19:7::/64 dev lo"),
                node.exec("ip", "-6", "route").stdout());
        assertEquals("", blackholes().strip(), "no IPv4 blackhole route for an IPv6 subnet");
        assertFalse(ping6.get().ok(), "the packet must not leave through the default route");

        assertFalse(route.ensure(), "nothing missing");
        node.exec("ip", "-6", "route", "del", "blackhole", "2001:2:19:7::/64").check();
        assertTrue(ping6.get().ok(), "deleted by someone: the default route carries it again");
        assertTrue(route.ensure(), "put back");
        assertFalse(ping6.get().ok());

        // A bridge comes up with an address of the subnet: its prefix route (metric 256) beats the blackhole (1024).
        node.exec("ip", "link", "add", "cni0", "type", "veth", "peer", "name", "cni0p").check();
        node.exec("ip", "-6", "addr", "add", "2001:2:19:7::1/64", "dev", "cni0", "nodad").check();
        node.exec("ip", "link", "set", "cni0p", "up").check();
        node.exec("ip", "link", "set", "cni0", "up").check();
        String bridge = node.exec("ip", "-6", "route", "show", "2001:2:19:7::/64", "dev", "cni0").check().stdout();
        assertTrue(bridge.contains("metric 256"), node.exec("ip", "-6", "route").stdout());
        assertTrue(node.exec("ip", "-6", "route", "get", UNUSED6).stdout().contains("dev cni0"), "the more preferred route wins");

        route.close();
        assertEquals("", node.exec("ip", "-6", "route", "show", "type", "blackhole").check().stdout().strip());
        assertEquals(bridge, node.exec("ip", "-6", "route", "show", "2001:2:19:7::/64", "dev", "cni0").check().stdout(),
                "removing the blackhole route leaves the bridge's route for the same subnet");
    }

    /** A bridge holding the subnet (here a veth carrying 198.19.7.1/24) keeps its route; the failure is a warning. */
    @Test
    void anotherRouteForTheSubnetIsLeftAloneWithAWarning() {
        node.exec("ip", "link", "add", "cni0", "type", "veth", "peer", "name", "cni0p").check();
        node.exec("ip", "addr", "add", "198.19.7.1/24", "dev", "cni0").check();
        node.exec("ip", "link", "set", "cni0p", "up").check();
        node.exec("ip", "link", "set", "cni0", "up").check();
        String before = node.exec("ip", "route", "show", "198.19.7.0/24").check().stdout();
        assertTrue(before.contains("dev cni0"), before);

        String[] log = new String[1];
        BlackholeRoute<Ip4Net> route = capturingStderr(() -> BlackholeRoute.add(nl, IpFamily.IPV4, LEASE), log);

        assertFalse(route.added());
        assertTrue(log[0].contains("WARN") && log[0].contains("--ip-blackhole-route: no blackhole route for "
                + "198.19.7.0/24: EEXIST (File exists); another route for the subnet is in the main table"), log[0]);
        route.close();
        assertEquals(before, node.exec("ip", "route", "show", "198.19.7.0/24").check().stdout());
        assertEquals("", blackholes().strip());
    }

    /** Runs {@code action} with System.err captured into {@code captured[0]} (slf4j-simple writes there). */
    private static <T> T capturingStderr(Supplier<T> action, String[] captured) {
        PrintStream original = System.err;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            return action.get();
        } finally {
            System.setErr(original);
            captured[0] = buffer.toString(StandardCharsets.UTF_8);
            original.print(captured[0]);
        }
    }
}
