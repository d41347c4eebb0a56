package io.flanneld.hostgw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.LeaseCodec;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The backend against the real kernel: three hosts (namespaces h1..h3 on one bridge, eth0 198.18.0.N/16, subnet
 * 198.19.N.0/24 with its .1 on cni0), each with its own backend, started with the others' leases as the daemon would,
 * checked with {@code ip route} and ping between the subnets' .1 addresses.
 */
class HostGwBackendKernelTest {
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
    }

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static boolean ping(HostCluster.Node from, HostCluster.Node to) {
        return from.succeeds("ping", "-c", "2", "-i", "0.2", "-W", "1", "-I", from.podIp(), to.podIp());
    }

    private static Lease lease(String subnet, String publicIp, String type) {
        return new Lease(Ip4Net.parse(subnet), new LeaseAttrs(Ip4.parse(publicIp), type, null), 1, 1);
    }

    /** All three hosts started, each with the other two. */
    private List<HostGwBackend> startAll() {
        HostGwBackend b1 = h1.backend();
        HostGwBackend b2 = h2.backend();
        HostGwBackend b3 = h3.backend();
        b1.start(h1.lease(), List.of(h2.lease(), h3.lease()));
        b2.start(h2.lease(), List.of(h1.lease(), h3.lease()));
        b3.start(h3.lease(), List.of(h1.lease(), h2.lease()));
        return List.of(b1, b2, b3);
    }

    @Test
    void threeHostsRouteEachOthersSubnetsViaTheirPublicIps() {
        List<HostGwBackend> b = startAll();
        HostGwBackend b1 = b.get(0);
        assertEquals("host-gw", b1.type());
        assertEquals(1500, b1.mtu(), "nothing is added to packets: the interface's MTU");
        assertNull(b1.backendData());
        assertEquals("{\"PublicIP\":\"198.18.0.1\",\"BackendType\":\"host-gw\"}", LeaseCodec.toJson(h1.lease().attrs()),
                "exactly flannel's host-gw lease value");
        assertEquals(h1.iface().index(), b1.deviceIndex(), "the external interface's notifications make the daemon check");
        assertFalse(b1.programsNeighbours());

        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        assertEquals(Set.of(h1.routeToHere(), h3.routeToHere()), h2.overlayRoutes());
        assertEquals(2, b1.peerCount());
        assertEquals(0, b1.unroutablePeerCount());
        assertTrue(ping(h1, h2), "h1 reaches h2's subnet");
        assertTrue(ping(h1, h3), "h1 reaches h3's subnet");
        assertTrue(ping(h3, h2), "h3 reaches h2's subnet");
    }

    @Test
    void aRemovedLeaseTakesItsRouteAwayAndAddingItBackRestoresIt() {
        HostGwBackend b1 = startAll().get(0);

        b1.apply(List.of(new LeaseEvent.Removed(h3.lease())));
        assertEquals(Set.of(h2.routeToHere()), h1.overlayRoutes());
        assertEquals(1, b1.peerCount());
        assertFalse(ping(h1, h3), "h3 is no longer routed");
        assertTrue(ping(h1, h2), "the remaining peer still works");

        // A repeated removal (e.g. a resync after a watch reconnect) finds nothing and is not an error.
        b1.apply(List.of(new LeaseEvent.Removed(h3.lease())));
        b1.apply(List.of(new LeaseEvent.Added(h3.lease())));
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        assertTrue(ping(h1, h3));
    }

    @Test
    void aPeerWhosePublicIpChangesHasItsRouteReplacedNotDuplicated() {
        HostGwBackend b1 = startAll().get(0);

        // h2 renumbered its eth0 and its lease says so: one route, via the new address.
        h2.run("ip", "addr", "add", "198.18.0.22/16", "dev", "eth0");
        b1.apply(List.of(new LeaseEvent.Added(lease("198.19.2.0/24", "198.18.0.22", "host-gw"))));
        assertEquals(Set.of("198.19.2.0/24 via 198.18.0.22", h3.routeToHere()), h1.overlayRoutes());
        assertTrue(ping(h1, h2), "through h2's new address");

        b1.apply(List.of(new LeaseEvent.Added(h2.lease())));
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        assertEquals(2, b1.peerCount());
    }

    @Test
    void closeLeavesTheRoutesAndARestartReconcilesWithoutTouchingWhatIsNotItsOwn() {
        HostGwBackend b1 = startAll().get(0);
        b1.close();
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes(), "routes survive the daemon");
        assertTrue(ping(h1, h2), "pods keep talking while the daemon is down");
        assertThrows(IllegalStateException.class, () -> b1.apply(List.of()), "a closed backend refuses work");

        // While it was down: h3 left, and stale routes were left behind by a crashed run or written by hand.
        h1.run("ip", "route", "add", "198.19.9.0/24", "via", "198.18.0.9", "dev", "eth0");          // a host gone since
        h1.run("ip", "route", "add", "198.19.10.0/24", "via", "198.18.0.10", "dev", "eth0", "metric", "50");
        // Not the backend's: outside the Network, the whole Network to a router, another device's route.
        h1.run("ip", "route", "add", "198.18.200.0/24", "via", "198.18.0.9", "dev", "eth0");
        h1.run("ip", "route", "add", "198.19.0.0/16", "via", "198.18.0.254", "dev", "eth0");
        h1.run("ip", "route", "add", "198.19.11.0/24", "dev", "cni0");
        String before = h1.run("ip", "route", "show");

        HostGwBackend again = h1.backend();
        again.start(h1.lease(), List.of(h2.lease()));
        again.start(h1.lease(), List.of(h2.lease()));

        assertEquals(Set.of(h2.routeToHere()), h1.overlayRoutes().stream().filter(r -> !r.startsWith("198.19.0.0/16"))
                .collect(java.util.stream.Collectors.toSet()), "exactly the live peer's route, once");
        Set<String> after = h1.lines("ip", "route", "show");
        assertTrue(after.contains("198.18.200.0/24 via 198.18.0.9 dev eth0"), after.toString());
        assertTrue(after.contains("198.19.0.0/16 via 198.18.0.254 dev eth0"), after.toString());
        assertTrue(after.contains("198.19.11.0/24 dev cni0 scope link linkdown")
                || after.contains("198.19.11.0/24 dev cni0 scope link"), after.toString());
        assertTrue(after.stream().anyMatch(r -> r.startsWith("198.18.0.0/16 dev eth0 proto kernel")), after.toString());
        assertFalse(after.stream().anyMatch(r -> r.startsWith("198.19.9.0/24") || r.startsWith("198.19.10.0/24")
                || r.startsWith(h3.subnet().toString())), "stale routes removed:\n" + before + "->\n" + after);
        assertTrue(ping(h1, h2));
    }

    @Test
    void repairPutsBackASingleDeletedRouteAndAFlushedTable() {
        HostGwBackend b1 = startAll().get(0);
        assertEquals(List.of(), b1.repair(), "nothing to repair");

        h1.run("ip", "route", "del", h2.subnet().toString());
        assertFalse(ping(h1, h2), "the deletion cuts h1 off from h2");
        assertEquals(List.of("route"), b1.repair());
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        assertTrue(ping(h1, h2));

        // Someone replaced it with a route elsewhere: put back as the lease says.
        h1.run("ip", "route", "replace", h2.subnet().toString(), "via", "198.18.0.99", "dev", "eth0");
        assertEquals(List.of("route"), b1.repair());
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());

        h1.run("ip", "route", "flush", "dev", "eth0", "proto", "boot");
        assertEquals(Set.of(), h1.overlayRoutes());
        assertEquals(List.of("route", "route"), b1.repair());
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        assertTrue(ping(h1, h3));

        // `ip route flush dev eth0` takes the kernel's own route to 198.18.0.0/16 too: no gateway on it can be used
        // until that is back, so the repair can only keep trying; once the link's route returns, so do the peers'.
        try (LogCapture log = new LogCapture()) {
            h1.run("ip", "route", "flush", "dev", "eth0");
            assertEquals(List.of(), b1.repair());
            assertEquals(List.of(), b1.repair());
            assertEquals(1, log.count("Could not repair peer " + h2.routeToHere()), "one warning per peer, not per check:\n"
                    + log.text());
            h1.run("ip", "route", "add", "198.18.0.0/16", "dev", "eth0", "proto", "kernel", "scope", "link", "src", "198.18.0.1");
            assertEquals(List.of("route", "route"), b1.repair());
            assertEquals(1, log.count("Repaired peer " + h2.routeToHere() + ": put back its route dev eth0"), log.text());
        }
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        assertTrue(ping(h1, h2), "h1 reaches h2 again");
        assertTrue(ping(h3, h1), "h3 reaches h1 again");
        assertEquals(List.of(), b1.repair(), "and nothing more to repair");
    }

    @Test
    void aPeerOffThisL2NetworkIsRefusedWithOneWarningAndCountedWhileTheOthersWork() {
        HostGwBackend b1 = h1.backend();
        h3.backend().start(h3.lease(), List.of(h1.lease()));
        // 198.19.200.1 is on none of eth0's networks (198.18.0.0/16): only a router could reach it. No packet is sent.
        Lease far = lease("198.19.50.0/24", "198.19.200.1", "host-gw");
        try (LogCapture log = new LogCapture()) {
            b1.start(h1.lease(), List.of(h2.lease(), far, h3.lease()));
            assertEquals(1, log.count("Cannot route peer 198.19.50.0/24: its PublicIP 198.19.200.1 is not on eth0's network(s) "
                    + "198.18.0.0/16"), log.text());
            assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
            assertEquals(2, b1.peerCount());
            assertEquals(1, b1.unroutablePeerCount());
            assertTrue(ping(h1, h3), "the other peers work");

            // The same lease again (a resync) is neither warned about nor counted again.
            b1.apply(List.of(new LeaseEvent.Added(far)));
            assertEquals(1, log.count("Cannot route peer 198.19.50.0/24"));
            assertEquals(1, b1.unroutablePeerCount());
            assertEquals(List.of(), b1.repair(), "an off-link peer is not retried");

            // A routed peer that moves off this network loses its route, and is counted.
            b1.apply(List.of(new LeaseEvent.Added(lease("198.19.2.0/24", "198.19.200.2", "host-gw"))));
            assertEquals(Set.of(h3.routeToHere()), h1.overlayRoutes());
            assertEquals(2, b1.unroutablePeerCount());
            assertEquals(1, log.count("Cannot route peer 198.19.2.0/24: its PublicIP 198.19.200.2"));
            // ... and comes back.
            b1.apply(List.of(new LeaseEvent.Added(h2.lease())));
            assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        }
    }

    @Test
    void aPeerTheKernelRefusesDoesNotStopTheOthersAndIsRetriedByRepair() {
        HostGwBackend b1 = h1.backend();
        h2.backend().start(h2.lease(), List.of(h1.lease()));
        // 198.18.255.255 is eth0's network's broadcast address: on-link by prefix, but no next hop to the kernel.
        Lease broadcast = lease("198.19.6.0/24", "198.18.255.255", "host-gw");
        PeersNotProgrammedException e = assertThrows(PeersNotProgrammedException.class,
                () -> b1.start(h1.lease(), List.of(broadcast, h2.lease())));
        assertTrue(e.getMessage().contains("peer 198.19.6.0/24") && e.getMessage().contains("RTM_NEWROUTE"), e.getMessage());
        assertEquals(1, ((RouteProgrammingException) e).failures().size());
        assertTrue(ping(h1, h2), "the data path runs with the peers the kernel took");
        assertEquals(1, b1.peerCount());
        assertEquals(0, b1.unroutablePeerCount(), "refused by the kernel, not by the L2 check");
        assertEquals(List.of(), b1.repair(), "still refused: retried, not thrown, nothing put back");

        // In a batch: the refused peer is reported after the others were applied.
        RouteProgrammingException batch = assertThrows(RouteProgrammingException.class, () -> b1.apply(List.of(
                new LeaseEvent.Added(lease("198.19.7.0/24", "198.18.255.255", "host-gw")),
                new LeaseEvent.Added(h3.lease()))));
        assertEquals(1, batch.failures().size(), batch.getMessage());
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());

        // The host fixes its lease: the route goes in and the peer counts.
        b1.apply(List.of(new LeaseEvent.Added(lease("198.19.6.0/24", "198.18.0.6", "host-gw"))));
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere(), "198.19.6.0/24 via 198.18.0.6"), h1.overlayRoutes());
        assertEquals(3, b1.peerCount());
        b1.apply(List.of(new LeaseEvent.Removed(lease("198.19.7.0/24", "198.18.255.255", "host-gw"))));
        assertEquals(List.of(), b1.repair());
        assertEquals(3, b1.peerCount());
    }

    @Test
    void leasesOfOtherBackendsAreSkippedAndAPeerSwitchingBackendLosesItsRoute() {
        HostGwBackend b1 = h1.backend();
        try (LogCapture log = new LogCapture()) {
            b1.start(h1.lease(), List.of(
                    // Exactly what flannel's udp backend writes: no BackendType.
                    new Lease(Ip4Net.parse("198.19.4.0/24"), LeaseCodecs.parse("{\"PublicIP\":\"198.18.0.4\",\"PublicIPv6\":null}"), 1, 1),
                    lease("198.19.5.0/24", "198.18.0.5", "vxlan"),
                    h2.lease(), h3.lease()));
            assertTrue(log.text().contains("Skipping peer 198.19.4.0/24 (198.18.0.4): it runs the udp backend, not host-gw"), log.text());
            assertTrue(log.text().contains("Skipping peer 198.19.5.0/24 (198.18.0.5): it runs the vxlan backend, not host-gw"), log.text());
        }
        assertEquals(Set.of(h2.routeToHere(), h3.routeToHere()), h1.overlayRoutes());
        assertEquals(0, b1.unroutablePeerCount());

        b1.apply(List.of(new LeaseEvent.Added(lease("198.19.3.0/24", "198.18.0.3", "vxlan"))));
        assertEquals(Set.of(h2.routeToHere()), h1.overlayRoutes());
        assertEquals(1, b1.peerCount());
    }

    @Test
    void aPublicIpOtherThanTheInterfacesAddressIsRefusedAsFlannelDoes() {
        ExternalInterface behindNat = new ExternalInterface("eth0", h1.iface().index(), h1.iface().address(),
                Ip4.parse("198.18.9.9"), 1500);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HostGwBackend.create(h1.nl(), behindNat, HostCluster.config()));
        assertTrue(e.getMessage().contains("198.18.9.9") && e.getMessage().contains("198.18.0.1")
                && e.getMessage().contains("vxlan"), e.getMessage());
    }

    /** The lease codec, with its checked exception turned into a test failure. */
    private static final class LeaseCodecs {
        static LeaseAttrs parse(String json) {
            try {
                return LeaseCodec.parse(json);
            } catch (io.flanneld.schema.MalformedLeaseException e) {
                throw new AssertionError(e);
            }
        }
    }
}
