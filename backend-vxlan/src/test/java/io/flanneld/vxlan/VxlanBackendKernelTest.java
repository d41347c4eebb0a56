package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.net.MacAddress;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The backend against the real kernel: three hosts (namespaces h1..h3 on one bridge, eth0 198.18.0.N/16), each with
 * its own backend, started with the others' leases as the daemon would, checked with ip/bridge and ping.
 */
class VxlanBackendKernelTest {
    private KernelCluster cluster;
    private KernelCluster.Node h1;
    private KernelCluster.Node h2;
    private KernelCluster.Node h3;

    @BeforeEach
    void setUp() {
        cluster = KernelCluster.create();
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

    private static String neigh(KernelCluster.Node peer, VxlanBackend b) {
        return peer.overlayIp() + " lladdr " + b.deviceMac() + " PERMANENT";
    }

    private static String fdb(KernelCluster.Node peer, VxlanBackend b) {
        return b.deviceMac() + " dst " + peer.host().ip() + " self permanent";
    }

    private static String route(KernelCluster.Node peer) {
        return peer.subnet() + " via " + peer.overlayIp() + " dev flannel.1 onlink";
    }

    private boolean ping(KernelCluster.Node from, KernelCluster.Node to) {
        return from.succeeds("ping", "-c", "2", "-i", "0.2", "-W", "1", "-I", from.overlayIp(), to.overlayIp());
    }

    @Test
    void threeHostsReachEachOtherThroughTheTunnelWithExactlyTheExpectedEntries() {
        VxlanBackend b1 = h1.backend(false);
        VxlanBackend b2 = h2.backend(false);
        VxlanBackend b3 = h3.backend(false);
        assertEquals("vxlan", b1.type());
        assertEquals(1450, b1.mtu());
        assertEquals("flannel.1", b1.deviceName());
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"" + b1.deviceMac() + "\"}", b1.backendData());
        assertTrue(b1.backendData().matches("\\{\"VNI\":1,\"VtepMAC\":\"([0-9a-f]{2}:){5}[0-9a-f]{2}\"}"));

        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        Lease l3 = h3.lease(b3);
        b1.start(l1, List.of(l2, l3));
        b2.start(l2, List.of(l1, l3));
        b3.start(l3, List.of(l1, l2));

        assertEquals(Set.of(neigh(h2, b2), neigh(h3, b3)), h1.neighbours());
        assertEquals(Set.of(fdb(h2, b2), fdb(h3, b3)), h1.fdb());
        assertEquals(Set.of(route(h2), route(h3)), h1.overlayRoutes());
        assertEquals(2, b1.peerCount());

        String link = h1.run("ip", "-d", "link", "show", "flannel.1");
        assertTrue(link.contains("mtu 1450") && link.contains("vxlan id 1 local 198.18.0.1 dev eth0")
                && link.contains("dstport 8472") && link.contains("nolearning"), link);
        assertEquals(Set.of("inet 198.19.1.0/32 scope global flannel.1"),
                Set.copyOf(h1.lines("ip", "-4", "-o", "addr", "show", "dev", "flannel.1").stream()
                        .map(l -> l.replaceAll("^\\d+: flannel\\.1\\s+", "").replaceAll("\\\\.*", "").strip())
                        .toList()));

        assertTrue(ping(h1, h2), "h1 reaches h2 through VXLAN");
        assertTrue(ping(h1, h3), "h1 reaches h3 through VXLAN");
        assertTrue(ping(h3, h2), "h3 reaches h2 through VXLAN");
    }

    @Test
    void removedLeaseTakesItsThreeEntriesAwayWithinTheCall() {
        VxlanBackend b1 = h1.backend(false);
        VxlanBackend b2 = h2.backend(false);
        VxlanBackend b3 = h3.backend(false);
        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        Lease l3 = h3.lease(b3);
        b1.start(l1, List.of(l2, l3));
        b2.start(l2, List.of(l1));

        b1.apply(List.of(new LeaseEvent.Removed(l3)));

        assertEquals(Set.of(neigh(h2, b2)), h1.neighbours());
        assertEquals(Set.of(fdb(h2, b2)), h1.fdb());
        assertEquals(Set.of(route(h2)), h1.overlayRoutes());
        assertEquals(1, b1.peerCount());
        assertTrue(ping(h1, h2), "the remaining peer still works");

        // A repeated removal (e.g. a resync after a watch reconnect) finds nothing and is not an error.
        b1.apply(List.of(new LeaseEvent.Removed(l3)));
        // ... and adding it back restores it.
        b1.apply(List.of(new LeaseEvent.Added(l3)));
        assertEquals(Set.of(neigh(h2, b2), neigh(h3, b3)), h1.neighbours());
    }

    @Test
    void changedVtepMacOrPublicIpReplacesArpAndRouteAndDropsTheStaleFdbEntry() {
        VxlanBackend b1 = h1.backend(false);
        VxlanBackend b2 = h2.backend(false);
        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        b1.start(l1, List.of(l2));

        // h2 came back with a new device (new MAC) and a new address.
        MacAddress newMac = MacAddress.parse("02:00:00:00:00:22");
        Lease moved = new Lease(l2.subnet(), new LeaseAttrs(Ip4.parse("198.18.0.22"), "vxlan",
                new VtepData(1, newMac).toJson()), 1, 2);
        b1.apply(List.of(new LeaseEvent.Added(moved)));
        assertEquals(Set.of(h2.overlayIp() + " lladdr " + newMac + " PERMANENT"), h1.neighbours());
        assertEquals(Set.of(newMac + " dst 198.18.0.22 self permanent"), h1.fdb());
        assertEquals(Set.of(route(h2)), h1.overlayRoutes());

        // Only the PublicIP changes: the FDB entry moves, nothing is duplicated.
        Lease movedAgain = new Lease(l2.subnet(), new LeaseAttrs(Ip4.parse("198.18.0.23"), "vxlan",
                new VtepData(1, newMac).toJson()), 1, 3);
        b1.apply(List.of(new LeaseEvent.Added(movedAgain)));
        assertEquals(Set.of(newMac + " dst 198.18.0.23 self permanent"), h1.fdb());

        // Back to the real h2: the tunnel works again.
        b2.start(l2, List.of(l1));
        b1.apply(List.of(new LeaseEvent.Added(l2)));
        assertEquals(Set.of(fdb(h2, b2)), h1.fdb());
        assertTrue(ping(h1, h2));
    }

    @Test
    void restartKeepsTheMacAndLeavesNoDuplicates() {
        VxlanBackend b1 = h1.backend(false);
        VxlanBackend b2 = h2.backend(false);
        VxlanBackend b3 = h3.backend(false);
        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        Lease l3 = h3.lease(b3);
        b1.start(l1, List.of(l2, l3));
        b2.start(l2, List.of(l1));
        MacAddress mac = b1.deviceMac();
        int index = b1.deviceIndex();
        b1.close();

        // close() leaves the data path alone: pods keep talking while the daemon is down.
        assertEquals(2, h1.neighbours().size());
        assertTrue(ping(h1, h2));

        VxlanBackend again = h1.backend(false);
        assertEquals(mac, again.deviceMac());
        assertEquals(index, again.deviceIndex(), "the device was reused, not re-created");
        assertEquals(b1.backendData(), again.backendData());
        again.start(l1, List.of(l2, l3));
        again.start(l1, List.of(l2, l3));

        assertEquals(Set.of(neigh(h2, b2), neigh(h3, b3)), h1.neighbours());
        assertEquals(Set.of(fdb(h2, b2), fdb(h3, b3)), h1.fdb());
        assertEquals(Set.of(route(h2), route(h3)), h1.overlayRoutes());
        assertTrue(ping(h1, h2));
        assertThrows(IllegalStateException.class, () -> b1.apply(List.of()), "a closed backend refuses work");
    }

    @Test
    void startRemovesStaleEntriesAndAddressesNoLeaseBacks() {
        VxlanBackend b1 = h1.backend(false);
        VxlanBackend b2 = h2.backend(false);
        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        b1.start(l1, List.of(l2));
        // Left behind by a crashed run: a peer that has gone since, FDB entries added by hand, an old address.
        h1.run("ip", "neigh", "replace", "198.19.9.0", "lladdr", "02:00:00:00:00:09", "dev", "flannel.1",
                "nud", "permanent");
        h1.run("bridge", "fdb", "append", "02:00:00:00:00:09", "dev", "flannel.1", "dst", "198.18.0.9");
        // A flood (all-zero MAC) entry with two destinations: flannel never installs one.
        h1.run("bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "flannel.1", "dst", "198.18.0.98");
        h1.run("bridge", "fdb", "append", "00:00:00:00:00:00", "dev", "flannel.1", "dst", "198.18.0.99");
        h1.run("ip", "route", "replace", "198.19.9.0/24", "via", "198.19.9.0", "dev", "flannel.1", "onlink");
        h1.run("ip", "addr", "add", "198.19.77.0/32", "dev", "flannel.1");
        assertEquals(2, h1.neighbours().size());
        assertEquals(4, h1.fdb().size());

        VxlanBackend restarted = h1.backend(false);
        restarted.start(l1, List.of(l2));

        assertEquals(Set.of(neigh(h2, b2)), h1.neighbours());
        assertEquals(Set.of(fdb(h2, b2)), h1.fdb());
        assertEquals(Set.of(route(h2)), h1.overlayRoutes());
        String addrs = h1.run("ip", "-4", "-o", "addr", "show", "dev", "flannel.1");
        assertTrue(addrs.contains("198.19.1.0/32") && !addrs.contains("198.19.77.0"), addrs);
    }

    @Test
    void aMismatchingDeviceIsReplacedAndAMatchingOneKept() {
        h1.run("ip", "link", "add", "flannel.1", "type", "vxlan", "id", "7", "local", "198.18.0.1", "dev", "eth0",
                "dstport", "8472", "nolearning");
        String oldMac = h1.run("cat", "/sys/class/net/flannel.1/address").strip();

        VxlanBackend b1 = h1.backend(false);
        String link = h1.run("ip", "-d", "link", "show", "flannel.1");
        assertTrue(link.contains("vxlan id 1 "), link);
        assertNotEquals(oldMac, b1.deviceMac().toString());
        assertEquals(b1.deviceMac().toString(), h1.run("cat", "/sys/class/net/flannel.1/address").strip());

        // Another port in the config is a mismatch too.
        VxlanBackend otherPort = VxlanBackend.create(h1.nl(), h1.iface(),
                new NetworkConfig(KernelCluster.NETWORK, 24, Ip4.parse("198.19.1.0"),
                        Ip4.parse("198.19.255.0"), new BackendConfig("vxlan", 4789, 0, false)));
        assertTrue(h1.run("ip", "-d", "link", "show", "flannel.1").contains("dstport 4789"));
        assertEquals(4789, otherPort.port());

        // Another VNI names another device, and leaves flannel.1 alone.
        VxlanBackend vni2 = VxlanBackend.create(h1.nl(), h1.iface(),
                new NetworkConfig(KernelCluster.NETWORK, 24, Ip4.parse("198.19.1.0"),
                        Ip4.parse("198.19.255.0"), new BackendConfig("vxlan", 0, 2, false)));
        assertEquals("flannel.2", vni2.deviceName());
        assertEquals("{\"VNI\":2,\"VtepMAC\":\"" + vni2.deviceMac() + "\"}", vni2.backendData());
        assertTrue(deleteDevice(h1, 2));
        assertFalse(deleteDevice(h1, 2));
        assertTrue(h1.succeeds("ip", "link", "show", "flannel.1"));
    }

    @Test
    void directRoutingRoutesSameL2PeersThroughTheUnderlay() {
        VxlanBackend b1 = h1.backend(true);
        VxlanBackend b2 = h2.backend(true);
        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        // A peer beyond this L2 segment (its PublicIP outside 198.18.0.0/16) still goes through the tunnel.
        Lease far = new Lease(Ip4Net.parse("198.19.50.0/24"), new LeaseAttrs(Ip4.parse("198.19.200.1"), "vxlan",
                new VtepData(1, MacAddress.parse("02:00:00:00:00:50")).toJson()), 1, 1);
        // Left over from a previous run: a direct route to a subnet whose lease is gone.
        h1.run("ip", "route", "replace", "198.19.9.0/24", "via", "198.18.0.9", "dev", "eth0");
        b1.start(l1, List.of(l2, far));
        b2.start(l2, List.of(l1));

        assertEquals(Set.of("198.19.2.0/24 via 198.18.0.2 dev eth0",
                "198.19.50.0/24 via 198.19.50.0 dev flannel.1 onlink"), h1.overlayRoutes());
        assertEquals(Set.of("198.19.50.0 lladdr 02:00:00:00:00:50 PERMANENT"), h1.neighbours());
        assertEquals(Set.of("02:00:00:00:00:50 dst 198.19.200.1 self permanent"), h1.fdb());
        assertTrue(ping(h1, h2), "h1 reaches h2 by plain routing");

        b1.apply(List.of(new LeaseEvent.Removed(l2)));
        assertEquals(Set.of("198.19.50.0/24 via 198.19.50.0 dev flannel.1 onlink"), h1.overlayRoutes());

        // The far peer moves onto this segment: its tunnel entries give way to a direct route.
        Lease near = new Lease(far.subnet(), new LeaseAttrs(Ip4.parse("198.18.0.50"), "vxlan",
                far.attrs().backendData()), 1, 2);
        b1.apply(List.of(new LeaseEvent.Added(near)));
        assertEquals(Set.of("198.19.50.0/24 via 198.18.0.50 dev eth0"), h1.overlayRoutes());
        assertEquals(Set.of(), h1.neighbours());
        assertEquals(Set.of(), h1.fdb());
    }

    @Test
    void restartWithDirectRoutingTurnedOnReplacesTheTunnelEntries() {
        VxlanBackend b1 = h1.backend(false);
        VxlanBackend b2 = h2.backend(false);
        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        b1.start(l1, List.of(l2));
        assertEquals(Set.of(route(h2)), h1.overlayRoutes());

        VxlanBackend direct = h1.backend(true);
        direct.start(l1, List.of(l2));
        assertEquals(Set.of("198.19.2.0/24 via 198.18.0.2 dev eth0"), h1.overlayRoutes());
        assertEquals(Set.of(), h1.neighbours());
        assertEquals(Set.of(), h1.fdb());
    }

    @Test
    void leasesOfOtherBackendsOrWithBadBackendDataAreSkippedAndOneFailingPeerDoesNotStopTheOthers() {
        VxlanBackend b1 = h1.backend(false);
        VxlanBackend b2 = h2.backend(false);
        VxlanBackend b3 = h3.backend(false);
        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        Lease l3 = h3.lease(b3);
        b1.start(l1, List.of());

        Lease udp = new Lease(Ip4Net.parse("198.19.4.0/24"), new LeaseAttrs(Ip4.parse("198.18.0.4"), "udp", null), 1, 1);
        Lease broken = new Lease(Ip4Net.parse("198.19.5.0/24"),
                new LeaseAttrs(Ip4.parse("198.18.0.5"), "vxlan", "{\"VNI\":1}"), 1, 1);
        // Overlaps the local subnet: its gateway 198.19.1.0 is h1's own address, which the kernel refuses as a
        // next hop, so this peer's route fails while the peers around it must still be programmed.
        Lease overlapping = new Lease(Ip4Net.parse("198.19.1.0/25"), new LeaseAttrs(Ip4.parse("198.18.0.6"), "vxlan",
                new VtepData(1, MacAddress.parse("02:00:00:00:00:06")).toJson()), 1, 1);

        PeerProgrammingException e = assertThrows(PeerProgrammingException.class,
                () -> b1.apply(List.of(new LeaseEvent.Added(udp), new LeaseEvent.Added(l2),
                        new LeaseEvent.Added(broken), new LeaseEvent.Added(overlapping), new LeaseEvent.Added(l3))));
        assertEquals(1, e.failures().size(), e.getMessage());
        assertTrue(e.getMessage().contains("198.19.1.0/25") && e.getMessage().contains("RTM_NEWROUTE"),
                e.getMessage());
        assertEquals(2, b1.peerCount());
        assertEquals(Set.of(route(h2), route(h3)), h1.overlayRoutes());
        b3.start(l3, List.of(l1));
        assertTrue(ping(h1, h3), "peers after the failing one work");

        // Removing the half-programmed peer clears what it did get (its ARP and FDB entries).
        b1.apply(List.of(new LeaseEvent.Removed(overlapping)));
        assertEquals(Set.of(neigh(h2, b2), neigh(h3, b3)), h1.neighbours());
        assertEquals(Set.of(fdb(h2, b2), fdb(h3, b3)), h1.fdb());

        // A known peer that switches to another backend loses its entries.
        b1.apply(List.of(new LeaseEvent.Added(new Lease(l3.subnet(), new LeaseAttrs(l3.attrs().publicIp(), "udp",
                null), 1, 5))));
        assertEquals(Set.of(route(h2)), h1.overlayRoutes());
        assertEquals(1, b1.peerCount());
    }

    @Test
    void repairPutsBackFlushedRoutesAReplacedArpEntryAnAddressAndADeletedDeviceWithItsMac() {
        VxlanBackend b1 = h1.backend(false);
        VxlanBackend b2 = h2.backend(false);
        VxlanBackend b3 = h3.backend(false);
        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        Lease l3 = h3.lease(b3);
        b1.start(l1, List.of(l2, l3));
        b2.start(l2, List.of(l1, l3));
        b3.start(l3, List.of(l1, l2));
        assertEquals(List.of(), b1.repair(), "nothing to repair");

        h1.run("ip", "route", "flush", "dev", "flannel.1");
        assertFalse(ping(h1, h2), "the flush cuts h1 off");
        assertEquals(List.of("route", "route"), b1.repair());
        assertEquals(Set.of(route(h2), route(h3)), h1.overlayRoutes());
        assertTrue(ping(h1, h2));

        h1.run("ip", "neigh", "replace", h2.overlayIp(), "lladdr", "02:00:00:00:00:99", "dev", "flannel.1", "nud", "permanent");
        assertEquals(List.of("arp"), b1.repair());
        assertEquals(Set.of(neigh(h2, b2), neigh(h3, b3)), h1.neighbours());

        h1.run("ip", "addr", "flush", "dev", "flannel.1");
        List<String> readdressed = b1.repair();
        assertTrue(readdressed.contains("address"), readdressed.toString());
        assertTrue(ping(h1, h3));

        MacAddress mac = b1.deviceMac();
        h1.run("ip", "link", "del", "flannel.1");
        List<String> recreated = b1.repair();
        assertEquals("device", recreated.get(0), recreated.toString());
        assertEquals(mac, b1.deviceMac(), "re-created with the MAC the lease publishes");
        assertTrue(h1.run("ip", "link", "show", "flannel.1").contains("link/ether " + mac), "the kernel's device has it too");
        assertEquals(Set.of(neigh(h2, b2), neigh(h3, b3)), h1.neighbours());
        assertEquals(Set.of(fdb(h2, b2), fdb(h3, b3)), h1.fdb());
        assertEquals(Set.of(route(h2), route(h3)), h1.overlayRoutes());
        assertTrue(ping(h1, h2), "h1 reaches h2 again");
        assertTrue(ping(h3, h1), "h3 reaches h1 again");
        assertEquals(2, b1.peerCount());
        assertEquals(List.of(), b1.repair(), "and nothing more to repair");
    }

    @Test
    void aPeerRefusedAtStartDoesNotStopTheStartAndIsRetriedByRepair() {
        VxlanBackend b1 = h1.backend(false);
        VxlanBackend b2 = h2.backend(false);
        Lease l1 = h1.lease(b1);
        Lease l2 = h2.lease(b2);
        // Its gateway 198.19.1.0 is h1's own address, which the kernel refuses as a next hop.
        Lease overlapping = new Lease(Ip4Net.parse("198.19.1.0/25"), new LeaseAttrs(Ip4.parse("198.18.0.6"), "vxlan",
                new VtepData(1, MacAddress.parse("02:00:00:00:00:06")).toJson()), 1, 1);
        io.flanneld.backend.PeersNotProgrammedException e = assertThrows(io.flanneld.backend.PeersNotProgrammedException.class,
                () -> b1.start(l1, List.of(overlapping, l2)));
        assertTrue(e.getMessage().contains("198.19.1.0/25"), e.getMessage());
        b2.start(l2, List.of(l1));
        assertTrue(ping(h1, h2), "the data path runs with the peers the kernel took");
        assertEquals(1, b1.peerCount());
        assertEquals(List.of(), b1.repair(), "still refused: retried, not thrown, nothing put back");
        assertEquals(1, b1.peerCount());
    }

    /** Deletes flannel.<vni> on {@code host} if it exists; whether there was one. */
    private static boolean deleteDevice(KernelCluster.Node host, int vni) {
        java.util.Optional<io.flanneld.net.Link> link = host.nl().links().byName(VxlanDevice.nameFor(vni));
        link.ifPresent(l -> host.nl().links().delete(l.index()));
        return link.isPresent();
    }
}
