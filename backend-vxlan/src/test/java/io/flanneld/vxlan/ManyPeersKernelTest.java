package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.net.MacAddress;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One host programmed with 1,000 peers (fake leases: /27 subnets of 198.19.0.0/16, PublicIPs in 198.18.1.0-198.18.4.x
 * that nothing answers; no packet is sent to them). Checks counts after start, a bulk removal and a restart.
 */
class ManyPeersKernelTest {
    private static final int PEERS = 1000;
    private KernelCluster cluster;

    @BeforeEach
    void setUp() {
        cluster = KernelCluster.create();
    }

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static Lease fakePeer(int i) {
        int subnet = Ip4.parse("198.19.16.0") + i * 32;
        int publicIp = Ip4.parse("198.18.1.0") + (i / 250) * 256 + (i % 250) + 1;
        MacAddress mac = new MacAddress(0x02_00_00_01_00_00L + i);
        return new Lease(new Ip4Net(subnet, 27), new LeaseAttrs(publicIp, "vxlan", new VtepData(1, mac).toJson()), 1, 1);
    }

    private static int count(KernelCluster.Node n, String... cmd) {
        return n.lines(cmd).size();
    }

    private static void assertCounts(KernelCluster.Node n, int expected) {
        assertEquals(expected, count(n, "ip", "neigh", "show", "dev", "flannel.1"), "ARP entries");
        assertEquals(expected, count(n, "bridge", "fdb", "show", "dev", "flannel.1"), "FDB entries");
        assertEquals(expected, count(n, "ip", "route", "show", "dev", "flannel.1"), "routes");
    }

    @Test
    void thousandPeersAreProgrammedRemovedAndSurviveARestartWithoutDuplicates() {
        KernelCluster.Node h1 = cluster.addNode(1);
        List<Lease> peers = IntStream.range(0, PEERS).mapToObj(ManyPeersKernelTest::fakePeer).toList();
        VxlanBackend b = h1.backend(false);
        Lease local = h1.lease(b);

        long t0 = System.nanoTime();
        b.start(local, peers);
        long startMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(PEERS, b.peerCount());
        assertCounts(h1, PEERS);

        List<LeaseEvent> removals = new ArrayList<>();
        for (int i = 0; i < PEERS; i += 2) {
            removals.add(new LeaseEvent.Removed(peers.get(i)));
        }
        t0 = System.nanoTime();
        b.apply(removals);
        long removeMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(PEERS / 2, b.peerCount());
        assertCounts(h1, PEERS / 2);

        b.close();
        VxlanBackend again = h1.backend(false);
        t0 = System.nanoTime();
        again.start(local, peers);
        long restartMs = (System.nanoTime() - t0) / 1_000_000;
        assertEquals(PEERS, again.peerCount());
        assertCounts(h1, PEERS);
        System.out.printf("%d peers: start %d ms, remove half %d ms, restart %d ms%n", PEERS, startMs, removeMs,
                restartMs);
    }
}
