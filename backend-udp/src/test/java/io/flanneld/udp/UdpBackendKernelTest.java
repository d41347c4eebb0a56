package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.net.NetworkNamespaces;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseCodec;
import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.Wait;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The backend on real TUN devices and sockets in namespace hosts: pings and TCP across flannel0, ICMP for
 * unleased destinations, junk and spoofed datagrams dropped and counted, lease removal taking effect.
 */
class UdpBackendKernelTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private UdpCluster cluster;
    private UdpCluster.Node n1;
    private UdpCluster.Node n2;
    private UdpCluster.Node n3;

    @BeforeEach
    void createHosts() {
        cluster = new UdpCluster();
        n1 = cluster.addNode(1);
        n2 = cluster.addNode(2);
        n3 = cluster.addNode(3);
    }

    @AfterEach
    void removeHosts() {
        cluster.close();
    }

    private static Cmd.Result ping(UdpCluster.Node from, String to, String... extra) {
        List<String> cmd = new java.util.ArrayList<>(List.of("ping", "-n", "-c", "3", "-i", "0.2", "-W", "2"));
        cmd.addAll(List.of(extra));
        cmd.add(to);
        return from.host().exec(Duration.ofSeconds(15), cmd.toArray(String[]::new));
    }

    @Test
    void configuresFlannel0AndPingsAcrossEveryPair() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        UdpBackend b2 = cluster.start(n2);
        UdpBackend b3 = cluster.start(n3);

        String dev = n1.host().exec("ip", "-d", "addr", "show", "dev", "flannel0").check().stdout();
        assertTrue(dev.contains("mtu " + (n1.iface().mtu() - 28)), dev);
        assertTrue(dev.contains("inet 198.19.1.0/16"), dev);
        assertTrue(dev.contains("tun type tun pi off"), dev);
        assertTrue(n1.host().exec("ip", "route", "show", "198.19.0.0/16").check().stdout().contains("dev flannel0"));
        assertEquals("udp", b1.type());
        assertNull(b1.backendData());
        assertEquals(n1.iface().mtu() - 28, b1.mtu());
        assertEquals(2, b1.peerCount());

        for (UdpCluster.Node from : cluster.nodes) {
            for (UdpCluster.Node to : cluster.nodes) {
                if (from != to) {
                    Cmd.Result r = ping(from, to.overlayIp(), "-I", from.overlayIp());
                    assertTrue(r.ok(), from.overlayIp() + " -> " + to.overlayIp() + ": " + r.stdout() + r.stderr());
                }
            }
        }
        UdpCounters c = b1.counters();
        assertTrue(c.tunToUdpPackets() >= 12, c.toString());   // 2 peers x (3 requests + 3 replies)
        assertTrue(c.udpToTunPackets() >= 12, c.toString());
        assertTrue(c.tunToUdpBytes() >= c.tunToUdpPackets() * 84, c.toString());
        assertEquals(0, c.droppedTotal(), c.toString());
        assertEquals(0, b2.counters().droppedTotal());
        assertEquals(0, b3.counters().droppedTotal());
    }

    @Test
    void unleasedDestinationGetsNetUnreachableAndTtlOneIsDropped() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        cluster.start(n2);

        Cmd.Result r = ping(n1, "198.19.77.1");
        assertFalse(r.ok());
        assertTrue(r.stdout().contains("Destination Net Unreachable"), r.stdout());
        assertTrue(r.stdout().contains("From 198.19.1.0"), r.stdout());
        assertEquals(3, b1.counters().droppedNoRoute(), b1.counters().toString());

        Cmd.Result ttl = ping(n1, n2.overlayIp(), "-t", "1");
        assertFalse(ttl.ok(), ttl.stdout());
        assertEquals(3, b1.counters().droppedTtl(), b1.counters().toString());
        assertEquals(0, b1.counters().tunToUdpPackets());
    }

    @Test
    void junkAndSpoofedDatagramsAreDroppedPerReasonWhilePingKeepsWorking() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        cluster.start(n2);
        UdpCluster.Node n3NotMember = n3; // host 3 runs no backend and holds no lease here
        // Host 1 knows only host 2: restart it so that host 3 is a stranger.
        b1.apply(List.of(new LeaseEvent.Removed(n3NotMember.lease())));
        assertEquals(1, b1.peerCount());

        InetSocketAddress target = new InetSocketAddress(InetAddress.getByName(n1.ip()), UdpBackend.DEFAULT_PORT);
        Random random = new Random(42);
        int junk = 200;
        int truncated = 50;
        int spoofed = 50;
        int strangers = 100;
        try (DatagramSocket member = socketIn(n2); DatagramSocket stranger = socketIn(n3)) {
            for (int i = 0; i < junk; i++) {
                byte[] bytes = new byte[1 + random.nextInt(1400)];
                random.nextBytes(bytes);
                bytes[0] = (byte) 0x55;   // never a valid IPv4 first byte, so every one is malformed
                member.send(new DatagramPacket(bytes, bytes.length, target));
                pace(i);
            }
            byte[] echo = array(Packets.echoRequest("198.19.2.9", "198.19.1.0", 64));
            for (int i = 0; i < truncated; i++) {
                int len = random.nextInt(echo.length);   // shorter than its total length field: cut short
                member.send(new DatagramPacket(echo, len, target));
                pace(i);
            }
            byte[] spoof = array(Packets.echoRequest("198.19.3.9", "198.19.1.0", 64));   // host 3's subnet
            for (int i = 0; i < spoofed; i++) {
                member.send(new DatagramPacket(spoof, spoof.length, target));
                pace(i);
            }
            for (int i = 0; i < strangers; i++) {
                stranger.send(new DatagramPacket(echo, echo.length, target));
                pace(i);
            }
            Cmd.Result r = ping(n1, n2.overlayIp());
            assertTrue(r.ok(), r.stdout());
        }
        try {
            Wait.until(WAIT, "all junk counted", () -> b1.counters().droppedTotal() == junk + truncated + spoofed + strangers);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + ": " + b1.counters(), e);
        }
        UdpCounters c = b1.counters();
        assertEquals(junk + truncated, c.droppedMalformed(), c.toString());
        assertEquals(spoofed, c.droppedSpoofedSource(), c.toString());
        assertEquals(strangers, c.droppedUnknownPeer(), c.toString());
        assertEquals(0, c.ioErrors(), c.toString());
        assertTrue(c.udpToTunPackets() >= 3, c.toString());
        assertEquals(c.droppedMalformed(), c.dropsByReason().get("malformed"));
    }

    @Test
    void removedLeaseStopsForwardingAndAddedLeaseRestoresIt() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        UdpBackend b2 = cluster.start(n2);
        assertTrue(ping(n1, n2.overlayIp()).ok());

        b1.apply(List.of(new LeaseEvent.Removed(n2.lease())));
        assertEquals(1, b1.peerCount());
        Cmd.Result r = ping(n1, n2.overlayIp());
        assertFalse(r.ok());
        assertTrue(r.stdout().contains("Destination Net Unreachable"), r.stdout());
        // Host 2 still sends to host 1, which now treats it as a stranger.
        long before = b1.counters().droppedUnknownPeer();
        assertFalse(ping(n2, n1.overlayIp()).ok());
        assertTrue(b1.counters().droppedUnknownPeer() >= before + 3, b1.counters().toString());

        b1.apply(List.of(new LeaseEvent.Added(n2.lease())));
        assertTrue(ping(n1, n2.overlayIp()).ok());
        assertTrue(ping(n2, n1.overlayIp()).ok());
        assertEquals(2, b1.peerCount());
        assertEquals(2, b2.peerCount());
    }

    /**
     * flannel's udp backend writes its lease without a BackendType ({@code {"PublicIP":"…","PublicIPv6":null}}, every
     * release): such a host is a udp peer, reached and accepted both ways.
     */
    @Test
    void aLeaseAsFlannelsUdpBackendWritesItIsAPeer() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        cluster.start(n2);
        b1.apply(List.of(new LeaseEvent.Removed(n2.lease())));
        Lease flannels = new Lease(n2.subnet(), LeaseCodec.parse("{\"PublicIP\":\"" + n2.ip() + "\",\"PublicIPv6\":null}"), 1, 2);
        b1.apply(List.of(new LeaseEvent.Added(flannels)));
        assertEquals(2, b1.peerCount());
        long strangers = b1.counters().droppedUnknownPeer();
        assertTrue(ping(n1, n2.overlayIp()).ok(), "to the flannel host");
        assertTrue(ping(n2, n1.overlayIp()).ok(), "from the flannel host");
        assertEquals(strangers, b1.counters().droppedUnknownPeer(), "nothing from it dropped as unknown");
    }

    /**
     * No forwarding entry for the vxlan host's subnet: a packet to it is a no-route drop answered with ICMP net
     * unreachable, never a datagram to host 2 (which would go unanswered: host 2 runs no backend here).
     */
    @Test
    void leaseOfAnotherBackendTypeIsIgnored() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        b1.apply(List.of(new LeaseEvent.Added(Packets.lease("198.19.2.0/24", n2.ip(), "vxlan"))));
        assertEquals(1, b1.peerCount(), "host 3 only");
        Cmd.Result r = ping(n1, "198.19.2.1");
        assertFalse(r.ok());
        assertTrue(r.stdout().contains("Destination Net Unreachable"), r.stdout());
        assertEquals(3, b1.counters().droppedNoRoute(), b1.counters().toString());
        assertEquals(0, b1.counters().tunToUdpPackets(), b1.counters().toString());
    }

    @Test
    void tcpTransfersDataAcross() throws Exception {
        cluster.start(n1);
        cluster.start(n2);
        Path log = Files.createTempFile("iperf3-server", ".log");
        try {
            Process server = n2.host().start(List.of("iperf3", "-s", "-1", "-B", n2.overlayIp()), log);
            Wait.until(WAIT, "iperf3 server listening", () -> n2.host().exec("ss", "-ltn").stdout().contains(":5201"));
            Cmd.Result r = n1.host().exec(Duration.ofSeconds(30), "iperf3", "-c", n2.overlayIp(), "-t", "2", "-f", "m");
            assertTrue(r.ok(), r.stdout() + r.stderr());
            assertTrue(r.stdout().contains("receiver"), r.stdout());
            server.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /**
     * A clean stop frees the port and leaves flannel0 with its address and route (the kernel drops what is routed
     * into it meanwhile); the next start attaches to the same device and forwards; removeDevice deletes it for good.
     */
    @Test
    void closeLeavesFlannel0WithAddressAndRouteAndFreesThePortAndTheNextStartAttaches() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        cluster.start(n2);
        assertTrue(ping(n1, n2.overlayIp()).ok());
        int index = flannel0Index(n1);
        b1.close();
        assertFalse(n1.host().exec("ss", "-uln").stdout().contains(":8285"));
        String dev = n1.host().exec("ip", "-d", "addr", "show", "dev", "flannel0").check().stdout();
        assertTrue(dev.contains("persist on"), dev);
        assertTrue(dev.contains("inet 198.19.1.0/16"), dev);
        assertTrue(n1.host().exec("ip", "route", "show", "198.19.0.0/16").check().stdout().contains("dev flannel0"));
        Cmd.Result gap = ping(n1, n2.overlayIp());
        assertFalse(gap.ok(), "nothing carries traffic while no backend runs: " + gap.stdout());
        assertFalse(gap.stdout().contains("Unreachable"), "dropped by the kernel, not answered: " + gap.stdout());
        b1.close();
        // A new backend takes the port again and the same device.
        UdpBackend again = cluster.start(n1);
        assertEquals(2, again.peerCount());
        assertEquals(index, flannel0Index(n1), "attached to the device left in place");
        assertTrue(again.offloads().tso(), again.offloads().describe());
        assertTrue(ping(n1, n2.overlayIp()).ok(), "to h2 through the re-attached device");
        assertTrue(ping(n2, n1.overlayIp()).ok(), "from h2 through the re-attached device");
        assertEquals(List.of(), again.repair(), "address, up state and route as they should be");

        again.close();
        assertTrue(UdpBackend.removeDevice(n1.nl()));
        assertFalse(n1.host().exec("ip", "link", "show").stdout().contains("flannel0"), "deleted for good");
        assertFalse(n1.host().exec("ip", "route", "show").stdout().contains("198.19.0.0/16"));
        assertFalse(UdpBackend.removeDevice(n1.nl()), "nothing left to delete");
    }

    /** A start whose lease is another subnet replaces the address flannel0 kept from the previous one. */
    @Test
    void aRestartWithAnotherLeaseReplacesTheOldAddress() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        b1.close();
        UdpBackend moved = fabric(n1, Ip4Net.parse("198.19.9.0/24"));
        String dev = n1.host().exec("ip", "addr", "show", "dev", "flannel0").check().stdout();
        assertTrue(dev.contains("inet 198.19.9.0/16"), dev);
        assertFalse(dev.contains("198.19.1.0"), dev);
        assertEquals(List.of(), moved.repair());
    }

    /**
     * The offloads are those of this start, also on a device carried over: the same vnet header attaches (the
     * offload flags set again, so turning USO off shows), a different one deletes flannel0 and creates it anew; TCP
     * crosses each time.
     */
    @Test
    void reattachingAppliesThisStartsOffloadsAndOtherFlagsRecreateFlannel0() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        cluster.start(n2);
        int first = flannel0Index(n1);
        assertTrue(b1.offloads().tso() && b1.offloads().uso(), b1.offloads().describe());
        assertTrue(features(n1).contains("tx-udp-segmentation: on"), features(n1));
        assertTrue(details(n1).contains("vnet_hdr on"), details(n1));
        b1.close();

        UdpOptions noUso = new UdpOptions(true, false, true, true, true, UdpOptions.DEFAULT_RX_BATCH,
                UdpOptions.MAX_TX_BATCH);
        UdpBackend b1NoUso = cluster.start(n1, noUso);
        assertEquals(first, flannel0Index(n1), "same flags: attached");
        assertTrue(b1NoUso.offloads().tso() && !b1NoUso.offloads().uso(), b1NoUso.offloads().describe());
        assertTrue(features(n1).contains("tx-udp-segmentation: off"), "USO off on the re-attached device: " + features(n1));
        assertTrue(features(n1).contains("tcp-segmentation-offload: on"), features(n1));
        assertTcpCrosses();
        b1NoUso.close();

        UdpBackend plain = cluster.start(n1, UdpOptions.NO_OFFLOADS);
        int second = flannel0Index(n1);
        assertNotEquals(first, second, "no vnet header wanted: flannel0 created anew");
        assertFalse(plain.offloads().tso(), plain.offloads().describe());
        assertTrue(details(n1).contains("vnet_hdr off persist on"), details(n1));
        assertTrue(n1.host().exec("ip", "addr", "show", "dev", "flannel0").stdout().contains("inet 198.19.1.0/16"));
        assertTrue(ping(n1, n2.overlayIp()).ok());
        assertTcpCrosses();
        plain.close();

        UdpBackend offloadsAgain = cluster.start(n1);
        assertNotEquals(second, flannel0Index(n1), "a vnet header wanted again: created anew");
        assertTrue(offloadsAgain.offloads().tso(), offloadsAgain.offloads().describe());
        assertTrue(details(n1).contains("vnet_hdr on persist on"), details(n1));
        assertTcpCrosses();
        assertEquals(0, offloadsAgain.counters().droppedTotal(), offloadsAgain.counters().toString());
    }

    private UdpBackend fabric(UdpCluster.Node node, Ip4Net subnet) throws Exception {
        UdpBackend backend = cluster.fabric.own(UdpBackend.createInNamespace(node.nl(), node.iface(), UdpCluster.CONFIG,
                UdpOptions.DEFAULTS, node.host().netns()));
        backend.start(new Lease(subnet, node.lease().attrs(), 1, 1), List.of());
        return backend;
    }

    private static int flannel0Index(UdpCluster.Node node) {
        return node.nl().links().byName(UdpBackend.DEVICE).orElseThrow().index();
    }

    private static String details(UdpCluster.Node node) {
        return node.host().exec("ip", "-d", "link", "show", "flannel0").check().stdout();
    }

    private static String features(UdpCluster.Node node) {
        return node.host().exec("ethtool", "-k", "flannel0").check().stdout();
    }

    private void assertTcpCrosses() throws Exception {
        Path log = Files.createTempFile("iperf3-server", ".log");
        try {
            Process server = n2.host().start(List.of("iperf3", "-s", "-1", "-B", n2.overlayIp()), log);
            Wait.until(WAIT, "iperf3 server listening", () -> n2.host().exec("ss", "-ltn").stdout().contains(":5201"));
            Cmd.Result r = n1.host().exec(Duration.ofSeconds(30), "iperf3", "-c", n2.overlayIp(), "-t", "1", "-f", "m");
            assertTrue(r.ok(), r.stdout() + r.stderr());
            assertTrue(r.stdout().contains("receiver"), r.stdout());
            assertTrue(server.waitFor(5, java.util.concurrent.TimeUnit.SECONDS), "iperf3 server done");
        } finally {
            Files.deleteIfExists(log);
        }
    }

    /** A short pause every 20 datagrams, so that the test measures the backend's checks, not socket buffer overflow. */
    private static void pace(int i) throws InterruptedException {
        if (i % 20 == 19) {
            Thread.sleep(2);
        }
    }

    private static DatagramSocket socketIn(UdpCluster.Node node) {
        return NetworkNamespaces.callIn(node.host().netns(), () -> {
            try {
                return new DatagramSocket(new InetSocketAddress(InetAddress.getByName(node.ip()), 0));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static byte[] array(ByteBuffer b) {
        byte[] a = new byte[b.capacity()];
        b.duplicate().clear().get(a);
        return a;
    }

    @Test
    void repairPutsBackFlannel0sAddressAndRouteAndReopensADeletedDevice() throws Exception {
        UdpBackend b1 = cluster.start(n1);
        cluster.start(n2);
        assertEquals(List.of(), b1.repair(), "nothing to repair");
        assertTrue(ping(n1, n2.overlayIp()).ok());

        n1.host().exec("ip", "addr", "flush", "dev", "flannel0").check();
        assertFalse(ping(n1, n2.overlayIp()).ok(), "without its address and route flannel0 carries nothing");
        assertEquals(List.of("address"), b1.repair());
        assertTrue(ping(n1, n2.overlayIp()).ok());

        n1.host().exec("ip", "route", "del", "198.19.0.0/16", "dev", "flannel0").check();
        assertEquals(List.of("route"), b1.repair());
        assertTrue(ping(n1, n2.overlayIp()).ok());

        n1.host().exec("ip", "link", "del", "flannel0").check();
        assertFalse(n1.host().exec("ip", "link", "show", "flannel0").ok(), "deleted");
        assertEquals(List.of("device"), b1.repair());
        assertTrue(ping(n1, n2.overlayIp()).ok(), "to h2 through the re-opened device");
        assertTrue(ping(n2, n1.overlayIp()).ok(), "from h2 through the re-opened device");
        assertEquals(List.of(), b1.repair());
    }
}
