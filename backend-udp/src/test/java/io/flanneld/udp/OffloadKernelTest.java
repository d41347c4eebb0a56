package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.*;

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
    private static final String[] PROPERTIES = {"flanneld.udp.tso", "flanneld.udp.gso", "flanneld.udp.gro"};
    private UdpCluster cluster;

    @BeforeEach
    void createHosts() {
        cluster = new UdpCluster();
    }

    @AfterEach
    void removeHosts() {
        for (String p : PROPERTIES) {
            System.clearProperty(p);
        }
        cluster.close();
    }

    private UdpBackend start(UdpCluster.Node node, boolean offloads) throws Exception {
        for (String p : PROPERTIES) {
            System.setProperty(p, Boolean.toString(offloads));
        }
        try {
            return cluster.start(node);
        } finally {
            for (String p : PROPERTIES) {
                System.clearProperty(p);
            }
        }
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
