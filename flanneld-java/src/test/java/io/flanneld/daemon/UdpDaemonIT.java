package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.NetnsFabric;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Pods on three hosts reach each other through daemons running the udp backend, and junk is dropped and counted. */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class UdpDaemonIT {
    private DaemonCluster cluster;
    private NetnsFabric fabric;
    private EtcdProcess etcd;
    private Pods pods;

    @TempDir
    Path dir;

    @BeforeEach
    void cluster() {
        cluster = DaemonCluster.start();
        fabric = cluster.fabric();
        etcd = cluster.etcd();
        pods = cluster.pods();
        cluster.config(DaemonCluster.networkConfig("udp"));
    }

    @AfterEach
    void teardown() {
        cluster.close();
    }

    private static String metrics(NetnsFabric.Host host) {
        return Daemons.httpGet(host, 8471, "/metrics");
    }

    @Test
    void podsReachEachOtherTcpFlowsAndJunkIsDroppedAndCounted() throws Exception {
        Map<String, Daemons.Running> daemons = new LinkedHashMap<>();
        Map<String, Pods.Pod> all = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) {
            NetnsFabric.Host host = fabric.addHost("h" + i, "198.18.0." + i + "/16");
            daemons.put("h" + i, Daemons.start(host, dir.resolve("h" + i), etcd.endpoint(),
                    "--healthz-ip", "127.0.0.1", "--healthz-port", "8471"));
        }
        for (var e : daemons.entrySet()) {
            e.getValue().awaitSubnetFile();
            e.getValue().awaitLog("backend udp started");
            assertTrue(e.getValue().subnetEnv().contains("FLANNEL_MTU=1472"), "udp MTU = 1500 - 28");
            all.put(e.getKey(), pods.attach(fabric.host(e.getKey()), e.getValue()));
        }
        io.flanneld.testkit.Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "every daemon knows two peers",
                () -> daemons.keySet().stream().allMatch(h -> Daemons.metric(metrics(fabric.host(h)), "flannel_backend_peers{backend=\"udp\"}") == 2.0));
        Pods.assertAllReachEachOther(all);

        // TCP across: iperf3 from pod 1 to pod 2 moves data.
        Pods.Pod p1 = all.get("h1");
        Pods.Pod p2 = all.get("h2");
        Process server = new ProcessBuilder("ip", "netns", "exec", p2.netns(), "iperf3", "-s", "-1", "-B", p2.ip())
                .redirectErrorStream(true).start();
        try {
            Thread.sleep(500);
            Cmd.Result iperf = Cmd.run(Duration.ofSeconds(20), "ip", "netns", "exec", p1.netns(), "iperf3", "-c", p2.ip(), "-t", "2", "-J");
            assertEquals(0, iperf.exitCode(), iperf.stdout() + iperf.stderr());
            var end = new com.fasterxml.jackson.databind.ObjectMapper().readTree(iperf.stdout()).get("end").get("sum_received");
            assertTrue(end.get("bytes").asLong() > 1_000_000, "iperf3 moved data: " + end);
            System.out.printf("udp backend, iperf3 2 s pod to pod: %.2f Gbit/s%n", end.get("bits_per_second").asDouble() / 1e9);
        } finally {
            server.destroyForcibly();
            server.waitFor(5, TimeUnit.SECONDS);
        }

        // A junk flood at h1's port 8285: from a host that holds no lease, and malformed datagrams from a member.
        NetnsFabric.Host intruder = fabric.addHost("junk", "198.18.0.50/16");
        Process ping = new ProcessBuilder("ip", "netns", "exec", p2.netns(), "ping", "-c", "30", "-i", "0.1", "-W", "1", "-q", p1.ip())
                .redirectErrorStream(true).start();
        String flood = "for i in $(seq 1 200); do head -c $((RANDOM % 1400 + 1)) /dev/urandom > /dev/udp/198.18.0.1/8285; done";
        assertEquals(0, intruder.exec(Duration.ofSeconds(30), "bash", "-c", flood).exitCode());
        String truncated = "for i in $(seq 1 100); do printf '\\x45\\x00\\x00\\xff\\x00' > /dev/udp/198.18.0.1/8285; done";
        assertEquals(0, fabric.host("h2").exec(Duration.ofSeconds(30), "bash", "-c", truncated).exitCode());
        assertTrue(ping.waitFor(20, TimeUnit.SECONDS));
        String pingOut = new String(ping.getInputStream().readAllBytes());
        assertTrue(pingOut.contains(" 0% packet loss"), "ping goes on during the flood: " + pingOut);

        io.flanneld.testkit.Wait.until(Duration.ofSeconds(5), Duration.ofMillis(100), "drops counted", () -> {
            String m = metrics(fabric.host("h1"));
            return Daemons.metric(m, "flannel_udp_dropped_total{reason=\"unknown_peer\"}") >= 200
                    && Daemons.metric(m, "flannel_udp_dropped_total{reason=\"malformed\"}") >= 100;
        });
        String m = metrics(fabric.host("h1"));
        assertTrue(Daemons.metric(m, "flannel_udp_packets_total{direction=\"tun_to_udp\"}") > 100, m);
        assertTrue(Daemons.metric(m, "flannel_udp_packets_total{direction=\"udp_to_tun\"}") > 100, m);
        // This machine's kernel has every offload the backend asks for.
        for (String feature : new String[] {"tso", "uso", "tcp_coalesce", "udp_gso", "udp_gro"}) {
            assertEquals(1.0, Daemons.metric(m, "flannel_udp_offload{feature=\"" + feature + "\"}"), m);
        }
        assertTrue(m.contains("flannel_udp_bytes_total{direction=\"udp_to_tun\"}") || m.contains("flannel_udp_bytes_bytes_total"), m);
        assertTrue(daemons.get("h1").process().isAlive(), "the junk never crashes the daemon");
    }
}
