package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4Net;
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

        BlackholeRoute route = BlackholeRoute.add(nl.routes(), LEASE);

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
        BlackholeRoute route = BlackholeRoute.add(nl.routes(), LEASE);
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

        BlackholeRoute route = BlackholeRoute.add(nl.routes(), LEASE);

        assertTrue(route.added());
        route.close();
        assertEquals("", blackholes().strip());
        route.close(); // already gone: nothing to do, no error
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
        BlackholeRoute route = capturingStderr(() -> BlackholeRoute.add(nl.routes(), LEASE), log);

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
