package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The udp backend's sender check, end to end: a pod on h1 listens on a UDP port. Inner packets addressed to it,
 * sent straight to h1's port 8285 by a namespace that holds no lease (claiming a member pod's address as source),
 * or by a member whose inner source lies outside its own subnet, never reach the pod and are counted as drops;
 * the same hand-made packet sent by the member for its own pod, and a datagram from the member's real pod, do reach it.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class SpoofedPacketIT {
    private static final int PORT = 9999;
    private static final int SENT = 20;
    private static final Path TEST_CLASSES = Path.of("target", "test-classes").toAbsolutePath();

    @TempDir
    Path dir;
    private DaemonCluster cluster;
    private Process sink;

    @AfterEach
    void teardown() throws InterruptedException {
        try {
            if (sink != null) {
                sink.destroyForcibly();
                sink.waitFor(10, TimeUnit.SECONDS);
            }
        } finally {
            cluster.close();
        }
    }

    @Test
    void spoofedDatagramsNeverReachAPodAndAreCounted() throws Exception {
        cluster = DaemonCluster.start();
        cluster.config(DaemonCluster.networkConfig("udp"));
        NetnsFabric fabric = cluster.fabric();
        NetnsFabric.Host h1 = fabric.addHost("h1", "198.18.0.1/16");
        NetnsFabric.Host h2 = fabric.addHost("h2", "198.18.0.2/16");
        Daemons.Running d1 = Daemons.start(h1, dir.resolve("h1"), cluster.etcd().endpoint(), "--healthz-ip", "127.0.0.1", "--healthz-port", "8471");
        Daemons.Running d2 = Daemons.start(h2, dir.resolve("h2"), cluster.etcd().endpoint());
        d1.awaitSubnetFile();
        d2.awaitSubnetFile();
        d1.awaitLog("backend udp started");
        d2.awaitLog("backend udp started");
        Pods.Pod pod1 = cluster.pods().attach(h1, d1);
        Pods.Pod pod2 = cluster.pods().attach(h2, d2);
        Wait.until(Duration.ofSeconds(20), Duration.ofMillis(100), "h1 knows h2's lease",
                () -> Daemons.metric(metrics(h1), "flannel_backend_peers{backend=\"udp\"}") == 1.0);

        Path received = dir.resolve("received.txt");
        sink = new ProcessBuilder("ip", "netns", "exec", pod1.netns(), "java", "-Xmx64m", "-cp", TEST_CLASSES.toString(),
                UdpSink.class.getName(), pod1.ip(), Integer.toString(PORT), received.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("sink.log").toFile()).start();
        Wait.until(Duration.ofSeconds(30), Duration.ofMillis(100), "the pod's UDP listener is bound", () -> Files.exists(received) || !sink.isAlive());
        assertTrue(sink.isAlive(), "the listener runs: " + Files.readString(dir.resolve("sink.log")));

        // The legitimate way: pod 2 sends, h2's daemon carries it, h1's daemon delivers it.
        sendFromPod(pod2, pod1, "control-before");
        awaitReceived(received, "control-before");

        String metricsBefore = metrics(h1);
        double unknownBefore = Daemons.metric(metricsBefore, "flannel_udp_dropped_total{reason=\"unknown_peer\"}");
        double spoofedBefore = Daemons.metric(metricsBefore, "flannel_udp_dropped_total{reason=\"spoofed_source\"}");

        // A namespace on the underlay that holds no lease, claiming to be pod 2.
        NetnsFabric.Host intruder = fabric.addHost("evil", "198.18.0.66/16");
        sendToPort8285(intruder, innerUdp(pod2.ip(), pod1.ip(), "spoofed-by-stranger"), SENT);
        // A member whose inner source lies outside its own subnet (198.19.0.0/24 is never leased).
        sendToPort8285(h2, innerUdp("198.19.0.77", pod1.ip(), "spoofed-by-member"), SENT);
        // The same hand-made packet, now sent by the member for its own pod: accepted, so the format is not why the others fail.
        sendToPort8285(h2, innerUdp(pod2.ip(), pod1.ip(), "crafted-by-member"), 1);
        sendFromPod(pod2, pod1, "control-after");
        awaitReceived(received, "crafted-by-member");
        awaitReceived(received, "control-after");

        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "every spoofed datagram counted", () -> {
            String m = metrics(h1);
            return Daemons.metric(m, "flannel_udp_dropped_total{reason=\"unknown_peer\"}") >= unknownBefore + SENT
                    && Daemons.metric(m, "flannel_udp_dropped_total{reason=\"spoofed_source\"}") >= spoofedBefore + SENT;
        });
        String after = metrics(h1);
        assertEquals(unknownBefore + SENT, Daemons.metric(after, "flannel_udp_dropped_total{reason=\"unknown_peer\"}"), after);
        assertEquals(spoofedBefore + SENT, Daemons.metric(after, "flannel_udp_dropped_total{reason=\"spoofed_source\"}"), after);
        String got = Files.readString(received);
        assertFalse(got.contains("spoofed"), "a spoofed packet reached the pod:\n" + got);
        System.out.println("pod received:\n" + got + "h1 drops: unknown_peer " + unknownBefore + " -> "
                + Daemons.metric(after, "flannel_udp_dropped_total{reason=\"unknown_peer\"}") + ", spoofed_source " + spoofedBefore + " -> "
                + Daemons.metric(after, "flannel_udp_dropped_total{reason=\"spoofed_source\"}"));
    }

    private static String metrics(NetnsFabric.Host host) {
        return Daemons.httpGet(host, 8471, "/metrics");
    }

    private static void sendFromPod(Pods.Pod from, Pods.Pod to, String text) {
        io.flanneld.testkit.Cmd.run(Duration.ofSeconds(10), "ip", "netns", "exec", from.netns(), "bash", "-c",
                "printf '" + text + "\\n' > /dev/udp/" + to.ip() + "/" + PORT).check();
    }

    private static void awaitReceived(Path file, String text) {
        Wait.until(Duration.ofSeconds(15), Duration.ofMillis(100), "the pod receives " + text, () -> read(file).contains(text + "\n"));
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code count} datagrams to h1's udp backend port (8285), each carrying {@code packet}, sent with bash's /dev/udp. */
    private static void sendToPort8285(NetnsFabric.Host from, byte[] packet, int count) {
        StringBuilder escaped = new StringBuilder();
        for (byte b : packet) {
            escaped.append(String.format("\\x%02x", b & 0xff));
        }
        String script = "for i in $(seq 1 " + count + "); do printf '" + escaped + "' > /dev/udp/198.18.0.1/8285; done";
        assertEquals(0, from.exec(Duration.ofSeconds(30), "bash", "-c", script).exitCode());
    }

    /** An IPv4/UDP packet (valid header checksum, no UDP checksum) to {@code dst}:{@link #PORT} with {@code text} as payload. */
    static byte[] innerUdp(String src, String dst, String text) throws IOException {
        byte[] payload = (text + "\n").getBytes(StandardCharsets.US_ASCII);
        int total = 20 + 8 + payload.length;
        ByteBuffer p = ByteBuffer.allocate(total);
        p.put((byte) 0x45).put((byte) 0).putShort((short) total).putShort((short) 0x1234).putShort((short) 0x4000)
                .put((byte) 64).put((byte) 17).putShort((short) 0)
                .put(InetAddress.getByName(src).getAddress()).put(InetAddress.getByName(dst).getAddress());
        p.putShort((short) 40000).putShort((short) PORT).putShort((short) (8 + payload.length)).putShort((short) 0).put(payload);
        int sum = 0;
        for (int i = 0; i < 20; i += 2) {
            sum += p.getShort(i) & 0xffff;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        p.putShort(10, (short) ~sum);
        return p.array();
    }
}
