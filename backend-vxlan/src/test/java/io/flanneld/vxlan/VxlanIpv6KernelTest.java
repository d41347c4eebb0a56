package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.net.MacAddress;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The backend's IPv6 half against the real kernel: hosts h1..h3 of {@link KernelCluster} also get 2001:2::N/64 on
 * eth0 (underlay) and the IPv6 subnet 2001:2:19:N::/64 of the IPv6 Network 2001:2:19::/48 (overlay), as a dual-stack
 * or IPv6-only config gives them. Checked with ip/bridge and ping between the flannel-v6.1 addresses.
 */
class VxlanIpv6KernelTest {
    private static final Ip6Net NETWORK6 = Ip6Net.parse("2001:2:19::/48");
    private static final String DEV6 = "flannel-v6.1";

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
        for (KernelCluster.Node n : List.of(h1, h2, h3)) {
            n.run("ip", "-6", "addr", "add", underlay6(n) + "/64", "dev", "eth0", "nodad");
        }
    }

    @AfterEach
    void tearDown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private static int number(KernelCluster.Node n) {
        return Integer.parseInt(n.host().ip().substring(n.host().ip().lastIndexOf('.') + 1));
    }

    private static Ip6 underlay6(KernelCluster.Node n) {
        return Ip6.parse("2001:2::" + number(n));
    }

    private static Ip6Net subnet6(KernelCluster.Node n) {
        return Ip6Net.parse("2001:2:19:" + number(n) + "::/64");
    }

    private static NetworkConfig config(boolean ipv4, boolean directRouting) {
        Ipv6Config v6 = new Ipv6Config(NETWORK6, 64, Ip6.parse("2001:2:19:1::"), Ip6.parse("2001:2:19:ff::"));
        BackendConfig backend = new BackendConfig(VxlanBackend.TYPE, 0, 0, directRouting);
        return ipv4 ? KernelCluster.config(directRouting).withIpv6(v6)
                : NetworkConfig.ipv6Only(v6, backend, false);
    }

    private static ExternalInterface iface6(KernelCluster.Node n) {
        ExternalInterface v4 = n.iface();
        return new ExternalInterface(v4.name(), v4.index(), v4.address(), v4.publicIp(), v4.mtu(), underlay6(n),
                underlay6(n));
    }

    private static VxlanBackend backend(KernelCluster.Node n, boolean ipv4, boolean directRouting) {
        return VxlanBackend.create(n.nl(), iface6(n), config(ipv4, directRouting));
    }

    /** A dual-stack lease (both subnets, PublicIP and PublicIPv6, both BackendData) or an IPv6-only one. */
    private static Lease lease(KernelCluster.Node n, VxlanBackend b, boolean ipv4) {
        LeaseAttrs attrs = new LeaseAttrs(ipv4 ? n.iface().publicIp() : 0, VxlanBackend.TYPE, b.backendData(),
                underlay6(n), b.backendV6Data());
        return Lease.of(SubnetKey.of(ipv4 ? n.subnet() : null, subnet6(n)), attrs, 1, 1);
    }

    private static Set<String> neighbours6(KernelCluster.Node n) {
        return n.lines("ip", "-6", "neigh", "show", "dev", DEV6).stream().filter(l -> l.contains("PERMANENT"))
                .collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
    }

    private static Set<String> fdb6(KernelCluster.Node n) {
        return n.lines("bridge", "fdb", "show", "dev", DEV6).stream().filter(l -> l.contains(" dst "))
                .collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
    }

    /** Main-table IPv6 routes into the IPv6 Network, less the kernel's own for the device's /128. */
    private static Set<String> routes6(KernelCluster.Node n) {
        return n.lines("ip", "-6", "route", "show", "root", NETWORK6.toString()).stream()
                .filter(l -> !l.contains("proto kernel"))
                .collect(java.util.stream.Collectors.toCollection(java.util.TreeSet::new));
    }

    private static String ndp(KernelCluster.Node peer, VxlanBackend b) {
        return subnet6(peer).address() + " lladdr " + b.device6().orElseThrow().mac() + " PERMANENT";
    }

    private static String fdb(KernelCluster.Node peer, VxlanBackend b) {
        return b.device6().orElseThrow().mac() + " dst " + underlay6(peer) + " self permanent";
    }

    private static String route(KernelCluster.Node peer) {
        return subnet6(peer) + " via " + subnet6(peer).address() + " dev " + DEV6 + " metric 1024 onlink pref medium";
    }

    /** Ping between the flannel-v6.1 addresses; the first tries may meet an address still in DAD. */
    private static boolean ping6(KernelCluster.Node from, KernelCluster.Node to) {
        long deadline = System.nanoTime() + Duration.ofSeconds(8).toNanos();
        do {
            if (from.succeeds("ping", "-6", "-c", "2", "-i", "0.2", "-W", "1", "-I", subnet6(from).address().toString(),
                    subnet6(to).address().toString())) {
                return true;
            }
        } while (System.nanoTime() < deadline);
        return false;
    }

    @Test
    void dualStackHostsReachEachOtherOverIpv6WithExactlyTheExpectedEntries() {
        VxlanBackend b1 = backend(h1, true, false);
        VxlanBackend b2 = backend(h2, true, false);
        VxlanBackend b3 = backend(h3, true, false);
        assertTrue(b1.carriesIpv6());
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"" + b1.device6().orElseThrow().mac() + "\"}", b1.backendV6Data());
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"" + b1.deviceMac() + "\"}", b1.backendData());
        assertFalse(b1.deviceMac().equals(b1.device6().orElseThrow().mac()), "two devices, two MACs");
        assertTrue(h1.run("ip", "link", "show", "flannel.1").contains("mtu 1450"));
        assertEquals(1430, b1.device6().orElseThrow().mtu());
        assertEquals(1430, b1.mtu(), "FLANNEL_MTU fits both families' devices");

        Lease l1 = lease(h1, b1, true);
        Lease l2 = lease(h2, b2, true);
        Lease l3 = lease(h3, b3, true);
        b1.start(l1, List.of(l2, l3));
        b2.start(l2, List.of(l1, l3));
        b3.start(l3, List.of(l1, l2));

        String link = h1.run("ip", "-d", "link", "show", DEV6);
        assertTrue(link.contains("mtu 1430") && link.contains("vxlan id 1 local 2001:2::1 dev eth0")
                && link.contains("dstport 8472") && link.contains("nolearning"), link);
        assertTrue(h1.run("ip", "-6", "addr", "show", "dev", DEV6).contains("inet6 2001:2:19:1::/128 scope global"));
        assertEquals(Set.of(ndp(h2, b2), ndp(h3, b3)), neighbours6(h1));
        assertEquals(Set.of(fdb(h2, b2), fdb(h3, b3)), fdb6(h1));
        assertEquals(Set.of(route(h2), route(h3)), routes6(h1));
        assertEquals(2, b1.peerCount());
        assertEquals(2, b1.peerCount6());

        assertTrue(ping6(h1, h2), "h1 reaches h2 over IPv6 through flannel-v6.1");
        assertTrue(ping6(h3, h1), "h3 reaches h1 over IPv6 through flannel-v6.1");
        assertTrue(h1.succeeds("ping", "-c", "2", "-i", "0.2", "-W", "1", "-I", h1.overlayIp(), h2.overlayIp()),
                "and IPv4 still works");

        // removal takes the three IPv6 entries away with the IPv4 ones
        b1.apply(List.of(new LeaseEvent.Removed(l3)));
        assertEquals(Set.of(ndp(h2, b2)), neighbours6(h1));
        assertEquals(Set.of(fdb(h2, b2)), fdb6(h1));
        assertEquals(Set.of(route(h2)), routes6(h1));
        assertEquals(1, b1.peerCount6());
        b1.apply(List.of(new LeaseEvent.Added(l3)));
        assertEquals(Set.of(route(h2), route(h3)), routes6(h1));
    }

    @Test
    void ipv4OnlyPeersGetNoIpv6EntriesAndIpv6OnlyNodesHaveNoIpv4Device() {
        VxlanBackend b1 = backend(h1, false, false);
        VxlanBackend b2 = backend(h2, false, false);
        assertNull(b1.backendData(), "an IPv6-only node publishes no IPv4 BackendData");
        assertEquals(DEV6, b1.deviceName());
        assertFalse(h1.succeeds("ip", "link", "show", "flannel.1"));
        assertEquals(1430, b1.mtu());
        VxlanBackend b3v4 = h3.backend(false);   // an IPv4-only peer
        Lease l1 = lease(h1, b1, false);
        Lease l2 = lease(h2, b2, false);
        Lease l3 = h3.lease(b3v4);
        b1.start(l1, List.of(l2, l3));
        b2.start(l2, List.of(l1));
        assertEquals(Set.of(route(h2)), routes6(h1));
        assertEquals(Set.of(ndp(h2, b2)), neighbours6(h1));
        assertEquals(1, b1.peerCount());
        assertTrue(ping6(h1, h2), "IPv6-only hosts reach each other");
        b1.apply(List.of(new LeaseEvent.Removed(l3), new LeaseEvent.Added(l3)));   // nothing to do, no error
        assertEquals(Set.of(route(h2)), routes6(h1));
    }

    @Test
    void restartReconcilesRepairPutsBackAndAChangedPeerIsReplaced() {
        VxlanBackend b1 = backend(h1, true, false);
        VxlanBackend b2 = backend(h2, true, false);
        VxlanBackend b3 = backend(h3, true, false);
        Lease l1 = lease(h1, b1, true);
        Lease l2 = lease(h2, b2, true);
        Lease l3 = lease(h3, b3, true);
        b1.start(l1, List.of(l2, l3));
        b2.start(l2, List.of(l1));
        MacAddress mac6 = b1.device6().orElseThrow().mac();

        // a restart without h3's lease: same device and MAC, h3's IPv6 entries reconciled away
        b1.close();
        VxlanBackend again = backend(h1, true, false);
        assertEquals(mac6, again.device6().orElseThrow().mac());
        again.start(l1, List.of(l2));
        assertEquals(Set.of(ndp(h2, b2)), neighbours6(h1));
        assertEquals(Set.of(fdb(h2, b2)), fdb6(h1));
        assertEquals(Set.of(route(h2)), routes6(h1));

        // repair: a flushed route, a replaced NDP entry, the address, then the whole device
        assertEquals(List.of(), again.repair());
        h1.run("ip", "-6", "route", "del", subnet6(h2).toString());
        assertEquals(List.of("route_v6"), again.repair());
        h1.run("ip", "-6", "neigh", "replace", subnet6(h2).address().toString(), "lladdr", "02:00:00:00:00:99",
                "dev", DEV6, "nud", "permanent");
        assertEquals(List.of("ndp"), again.repair());
        h1.run("ip", "-6", "addr", "del", "2001:2:19:1::/128", "dev", DEV6);
        assertEquals(List.of("address_v6"), again.repair());
        h1.run("ip", "link", "del", DEV6);
        List<String> recreated = again.repair();
        assertTrue(recreated.contains("device_v6") && recreated.contains("route_v6"), recreated.toString());
        assertEquals(mac6, again.device6().orElseThrow().mac());
        assertEquals(Set.of(ndp(h2, b2)), neighbours6(h1));
        assertEquals(Set.of(fdb(h2, b2)), fdb6(h1));
        assertEquals(Set.of(route(h2)), routes6(h1));
        assertTrue(h1.succeeds("ping", "-c", "2", "-i", "0.2", "-W", "1", "-I", h1.overlayIp(), h2.overlayIp()),
                "IPv4 untouched");
        assertTrue(ping6(h1, h2), "repaired IPv6 works");

        // h2 comes back with a new IPv6 VTEP MAC and PublicIPv6: NDP and route replaced, the old FDB entry gone
        MacAddress newMac = MacAddress.parse("02:00:00:00:00:22");
        Lease moved = Lease.of(l2.key(), l2.attrs().withIpv6(Ip6.parse("2001:2::22"),
                new VtepData(1, newMac).toJson()), 1, 2);
        again.apply(List.of(new LeaseEvent.Added(moved)));
        assertEquals(Set.of(subnet6(h2).address() + " lladdr " + newMac + " PERMANENT"), neighbours6(h1));
        assertEquals(Set.of(newMac + " dst 2001:2::22 self permanent"), fdb6(h1));
    }

    @Test
    void directRoutingRoutesSameL2Ipv6PeersThroughTheUnderlay() {
        VxlanBackend b1 = backend(h1, true, true);
        VxlanBackend b2 = backend(h2, true, true);
        Lease l1 = lease(h1, b1, true);
        Lease l2 = lease(h2, b2, true);
        b1.start(l1, List.of(l2));
        b2.start(l2, List.of(l1));
        assertEquals(Set.of(subnet6(h2) + " via 2001:2::2 dev eth0 metric 1024 pref medium"), routes6(h1));
        assertEquals(Set.of(), neighbours6(h1));
        assertEquals(Set.of(), fdb6(h1));
        // the overlay addresses live on flannel-v6.1; direct routing carries the packets over eth0
        assertTrue(ping6(h1, h2), "h1 reaches h2 over IPv6 without VXLAN");
    }
}
