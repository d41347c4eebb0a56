package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.net.LinuxAbi;
import io.flanneld.net.NetworkNamespaces;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.security.MessageDigest;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * TCP through the backend with and without offloads (TUN TSO with software segmentation, UDP GSO, UDP GRO, TCP
 * coalescing on the TUN write), and between a host with offloads and one without (the wire format is the same, as
 * with flannel's own udp backend): a 24 MiB stream arrives byte for byte, in both directions at once.
 */
class OffloadKernelTest {
    private static final int BYTES = 24 << 20;
    private UdpCluster cluster;

    @BeforeEach
    void createHosts() {
        cluster = new UdpCluster();
    }

    @AfterEach
    void removeHosts() {
        cluster.close();
    }

    /** With TSO, USO, UDP GSO and GRO on or off; TCP coalescing stays on (it only acts with TSO). */
    private UdpBackend start(UdpCluster.Node node, boolean offloads) throws Exception {
        UdpOptions d = UdpOptions.DEFAULTS;
        return cluster.start(node, new UdpOptions(offloads, offloads, d.coalesce(), offloads, offloads, d.rxBatch(),
                d.txBatch()));
    }

    @ParameterizedTest(name = "offloads on host 1 {0}, on host 2 {1}")
    @CsvSource({"true, true", "false, false", "true, false"})
    void tcpStreamArrivesByteForByte(boolean first, boolean second) throws Exception {
        UdpCluster.Node n1 = cluster.addNode(1);
        UdpCluster.Node n2 = cluster.addNode(2);
        UdpBackend b1 = start(n1, first);
        UdpBackend b2 = start(n2, second);
        assertEquals(first, b1.offloads().tso(), b1.offloads().describe());
        assertEquals(second, b2.offloads().tso(), b2.offloads().describe());
        if (first) {
            assertTrue(b1.offloads().udpGso() && b1.offloads().udpGro(), "this kernel has UDP GSO and GRO");
        }

        try (ServerSocket s2 = listen(n2); ServerSocket s1 = listen(n1)) {
            CompletableFuture<byte[]> toTwo = receive(s2);
            CompletableFuture<byte[]> toOne = receive(s1);
            CompletableFuture<byte[]> sentToTwo = send(n1, n2, s2.getLocalPort(), 1);
            CompletableFuture<byte[]> sentToOne = send(n2, n1, s1.getLocalPort(), 2);
            assertArrayEquals(sentToTwo.get(60, TimeUnit.SECONDS), toTwo.get(60, TimeUnit.SECONDS), "host 1 -> 2");
            assertArrayEquals(sentToOne.get(60, TimeUnit.SECONDS), toOne.get(60, TimeUnit.SECONDS), "host 2 -> 1");
        }
        UdpCounters c1 = b1.counters();
        UdpCounters c2 = b2.counters();
        assertTrue(c1.tunToUdpBytes() > BYTES && c2.udpToTunBytes() > BYTES, c1 + " " + c2);
        assertEquals(0, c1.droppedTotal() + c2.droppedTotal(), c1 + " " + c2);
    }

    /**
     * A pod-side application sending with UDP GSO (UDP_SEGMENT 1000, one 10,500-byte send): with USO on flannel0 the
     * daemon gets one super-packet and segments it; without, the kernel segments before flannel0. Either way the
     * receiver gets the 11 datagrams, each with its own bytes.
     */
    @ParameterizedTest(name = "offloads {0}")
    @CsvSource({"true", "false"})
    void udpGsoSendArrivesAsSeparateDatagrams(boolean offloads) throws Exception {
        UdpCluster.Node n1 = cluster.addNode(1);
        UdpCluster.Node n2 = cluster.addNode(2);
        UdpBackend b1 = start(n1, offloads);
        start(n2, offloads);
        assertEquals(offloads, b1.offloads().uso(), b1.offloads().describe());
        byte[] data = TcpPackets.payload(10_500, 7);
        try (java.net.DatagramSocket receiver = NetworkNamespaces.callIn(n2.host().netns(), () -> {
            try {
                return new java.net.DatagramSocket(new InetSocketAddress(InetAddress.getByName(n2.overlayIp()), 0));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        })) {
            receiver.setSoTimeout(10_000);
            sendWithUdpGso(n1, n2, receiver.getLocalPort(), data, 1000);
            byte[] buf = new byte[2000];
            for (int i = 0; i < 11; i++) {
                java.net.DatagramPacket p = new java.net.DatagramPacket(buf, buf.length);
                receiver.receive(p);
                int expected = i < 10 ? 1000 : 500;
                assertEquals(expected, p.getLength(), "datagram " + i);
                assertArrayEquals(java.util.Arrays.copyOfRange(data, i * 1000, i * 1000 + expected),
                        java.util.Arrays.copyOf(buf, p.getLength()), "datagram " + i);
            }
        }
        assertEquals(0, b1.counters().droppedTotal(), b1.counters().toString());
    }

    /** One send of {@code data} with UDP_SEGMENT {@code segment}, from a socket made in {@code from}'s namespace. */
    private static void sendWithUdpGso(UdpCluster.Node from, UdpCluster.Node to, int port, byte[] data, int segment) {
        try (LibcUdpSocket socket = LibcUdpSocket.open(from.host().netns())) {
            socket.option(LinuxAbi.SOL_UDP, LinuxAbi.UDP_SEGMENT, segment).send(to.overlayIp(), port, data);
        }
    }

    private static ServerSocket listen(UdpCluster.Node node) {
        return NetworkNamespaces.callIn(node.host().netns(), () -> {
            try {
                return new ServerSocket(0, 1, InetAddress.getByName(node.overlayIp()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    /** Reads one connection to its end; completes with the SHA-256 of what came and its length appended. */
    private static CompletableFuture<byte[]> receive(ServerSocket server) {
        return CompletableFuture.supplyAsync(() -> {
            try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                byte[] buf = new byte[64 * 1024];
                long total = 0;
                for (int n; (n = in.read(buf)) > 0; ) {
                    sha.update(buf, 0, n);
                    total += n;
                }
                return withLength(sha.digest(), total);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Sends BYTES seeded random bytes (in odd-sized writes) from {@code from} to {@code to}; their digest. */
    private static CompletableFuture<byte[]> send(UdpCluster.Node from, UdpCluster.Node to, int port, int seed) {
        // A Java socket gets its fd at bind: bind inside the namespace, use it from any thread.
        Socket s = NetworkNamespaces.callIn(from.host().netns(), () -> {
            Socket socket = new Socket();
            try {
                socket.bind(new InetSocketAddress(InetAddress.getByName(from.overlayIp()), 0));
                return socket;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        return CompletableFuture.supplyAsync(() -> {
            try (s) {
                s.connect(new InetSocketAddress(InetAddress.getByName(to.overlayIp()), port), 10_000);
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                Random random = new Random(seed);
                byte[] chunk = new byte[70_001];
                OutputStream out = s.getOutputStream();
                for (int sent = 0; sent < BYTES; ) {
                    int n = Math.min(chunk.length - random.nextInt(1000), BYTES - sent);
                    random.nextBytes(chunk);
                    out.write(chunk, 0, n);
                    sha.update(chunk, 0, n);
                    sent += n;
                }
                s.shutdownOutput();
                return withLength(sha.digest(), BYTES);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    private static byte[] withLength(byte[] digest, long length) {
        byte[] r = java.util.Arrays.copyOf(digest, digest.length + 8);
        java.nio.ByteBuffer.wrap(r).putLong(digest.length, length);
        return r;
    }
}
