package io.flanneld.hostgw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Ipv6Config;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.schema.SubnetKey;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The backend's IPv6 routes against the real kernel: the {@link HostCluster} hosts also get 2001:2::N/64 on eth0 and
 * 2001:2:19:N::1/64 on cni0 (IPv6 Network 2001:2:19::/48), checked with {@code ip -6 route} and ping6 between the cni0
 * addresses.
 */
class HostGwIpv6KernelTest {
    private static final Ip6Net NETWORK6 = Ip6Net.parse("2001:2:19::/48");

    private HostCluster cluster;
    private HostCluster.Node h1;
    private HostCluster.Node h2;
    private HostCluster.Node h3;

    @BeforeEach
    void setUp() {
        cluster = HostCluster.create();
        h1 = cluster.addNode(1);
        h2 = cluster.addNode(2);
        h3 = cluster.addNode(3);
        for (HostCluster.Node n : List.of(h1, h2, h3)) {
            n.run("ip", "-6", "addr", "add", underlay6(n) + "/64", "dev", "eth0", "nodad");
            n.run("ip", "-6", "addr", "add", pod6(n) + "/64", "dev", "cni0", "nodad");
        }
    }

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static int number(HostCluster.Node n) {
        return Integer.parseInt(n.host().ip().substring(n.host().ip().lastIndexOf('.') + 1));
    }

    private static Ip6 underlay6(HostCluster.Node n) {
        return Ip6.parse("2001:2::" + number(n));
    }

    private static Ip6Net subnet6(HostCluster.Node n) {
        return Ip6Net.parse("2001:2:19:" + number(n) + "::/64");
    }

    private static Ip6 pod6(HostCluster.Node n) {
        return subnet6(n).address().plus(1);
    }

    private static NetworkConfig config(boolean ipv4) {
        Ipv6Config v6 = new Ipv6Config(NETWORK6, 64, Ip6.parse("2001:2:19:1::"), Ip6.parse("2001:2:19:ff::"));
        return ipv4 ? HostCluster.config().withIpv6(v6)
                : NetworkConfig.ipv6Only(v6, new BackendConfig(HostGwBackend.TYPE, 0, 0, false), false);
    }

    private static HostGwBackend backend(HostCluster.Node n, boolean ipv4) {
        ExternalInterface v4 = n.iface();
        return HostGwBackend.create(n.nl(), new ExternalInterface(v4.name(), v4.index(), v4.address(), v4.publicIp(),
                v4.mtu(), underlay6(n), underlay6(n)), config(ipv4));
    }

    private static Lease lease(HostCluster.Node n, boolean ipv4) {
        return Lease.of(SubnetKey.of(ipv4 ? n.subnet() : null, subnet6(n)),
                new LeaseAttrs(ipv4 ? n.iface().publicIp() : 0, HostGwBackend.TYPE, null, underlay6(n), null), 1, 1);
    }

    private static Lease lease6(String subnet, String publicIpv6) {
        return Lease.of(SubnetKey.of(null, Ip6Net.parse(subnet)),
                new LeaseAttrs(0, HostGwBackend.TYPE, null, Ip6.parse(publicIpv6), null), 1, 1);
    }

    private static Set<String> routes6(HostCluster.Node n) {
        return n.run("ip", "-6", "route", "show", "root", NETWORK6.toString()).lines().map(String::strip)
                .filter(l -> !l.isEmpty() && !l.contains("proto kernel")).collect(Collectors.toCollection(TreeSet::new));
    }

    private static String routeTo(HostCluster.Node n) {
        return subnet6(n) + " via " + underlay6(n) + " dev eth0 metric 1024 pref medium";
    }

    private static boolean ping6(HostCluster.Node from, HostCluster.Node to) {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        do {
            if (from.succeeds("ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", "-I", pod6(from).toString(),
                    pod6(to).toString())) {
                return true;
            }
        } while (System.nanoTime() < deadline);
        return false;
    }

    @Test
    void dualStackPeersAreRoutedViaTheirPublicIpv6AndRemovedWithTheirLease() {
        HostGwBackend b1 = backend(h1, true);
        HostGwBackend b2 = backend(h2, true);
        HostGwBackend b3 = backend(h3, true);
        assertTrue(b1.carriesIpv6());
        Lease l1 = lease(h1, true);
        Lease l2 = lease(h2, true);
        Lease l3 = lease(h3, true);
        b1.start(l1, List.of(l2, l3));
        b2.start(l2, List.of(l1, l3));
        b3.start(l3, List.of(l1, l2));

        assertEquals(Set.of(routeTo(h2), routeTo(h3)), routes6(h1));
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        assertEquals(2, b1.peerCount());
        assertEquals(2, b1.peerCount6());
        assertTrue(ping6(h1, h2), "h1 reaches h2's pod network over IPv6");
        assertTrue(ping6(h3, h1), "h3 reaches h1's pod network over IPv6");

        b1.apply(List.of(new LeaseEvent.Removed(l3)));
        assertEquals(Set.of(routeTo(h2)), routes6(h1));
        assertEquals(Set.of(h2.routeToHere()), h1.overlayRoutes());
        b1.apply(List.of(new LeaseEvent.Added(l3)));
        assertEquals(Set.of(routeTo(h2), routeTo(h3)), routes6(h1));

        // repair puts back a flushed IPv6 route; a restart reconciles one no lease backs
        h1.run("ip", "-6", "route", "del", subnet6(h2).toString());
        assertEquals(List.of("route_v6"), b1.repair());
        assertEquals(Set.of(routeTo(h2), routeTo(h3)), routes6(h1));
        b1.close();
        HostGwBackend again = backend(h1, true);
        again.start(l1, List.of(l2));
        assertEquals(Set.of(routeTo(h2)), routes6(h1));
        assertEquals(Set.of(h2.routeToHere()), h1.overlayRoutes());
    }

    @Test
    void anOffLinkIpv6PeerIsWarnedAndCountedOnceAndIpv4OnlyPeersGetNoIpv6Route() {
        HostGwBackend b1 = backend(h1, true);
        Lease far = lease6("2001:2:19:50::/64", "2001:2:ff::1");   // on none of eth0's networks; no packet is sent
        Lease v4only = h3.lease();
        try (LogCapture log = new LogCapture()) {
            b1.start(lease(h1, true), List.of(lease(h2, true), far, v4only));
            assertEquals(1, log.count("Cannot route IPv6 peer 2001:2:19:50::/64: its PublicIPv6 2001:2:ff::1 is not on "
                    + "eth0's IPv6 network(s) [2001:2::/64]"), log.text());
            assertEquals(1, b1.unroutablePeerCount());
            b1.apply(List.of(new LeaseEvent.Added(far)));
            assertEquals(1, b1.unroutablePeerCount(), "the same lease again is not counted again");
        }
        assertEquals(Set.of(routeTo(h2)), routes6(h1));
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        assertEquals(1, b1.peerCount6());
    }

    @Test
    void anIpv6OnlyNodeRoutesOnlyIpv6() {
        HostGwBackend b1 = backend(h1, false);
        HostGwBackend b2 = backend(h2, false);
        b1.start(lease(h1, false), List.of(lease(h2, false)));
        b2.start(lease(h2, false), List.of(lease(h1, false)));
        assertEquals(Set.of(routeTo(h2)), routes6(h1));
        assertEquals(Set.of(), h1.overlayRoutes());
        assertEquals(1, b1.peerCount());
        assertTrue(ping6(h1, h2), "IPv6-only hosts reach each other's pod networks");
    }
}
