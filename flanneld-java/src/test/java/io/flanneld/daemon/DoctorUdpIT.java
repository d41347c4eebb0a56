package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.NetnsFabric;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code doctor} on two namespace hosts running the udp backend: flannel0 and the daemon's own peer count from /metrics. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DoctorUdpIT {
    private DaemonCluster cluster;
    private NetnsFabric.Host h1;
    private Daemons.Running d1;
    private Daemons.Running d2;

    @TempDir
    static Path dir;

    @BeforeAll
    void cluster() {
        cluster = DaemonCluster.start();
        cluster.config(DaemonCluster.networkConfig("udp"));
        h1 = cluster.fabric().addHost("h1", "198.18.0.1/16");
        NetnsFabric.Host h2 = cluster.fabric().addHost("h2", "198.18.0.2/16");
        d1 = Daemons.start(h1, dir.resolve("h1"), cluster.etcd().endpoint(), "--healthz-ip", "127.0.0.1", "--healthz-port", "8471");
        d2 = Daemons.start(h2, dir.resolve("h2"), cluster.etcd().endpoint());
        for (Daemons.Running d : List.of(d1, d2)) {
            d.awaitSubnetFile();
            d.awaitLog("backend udp started");
            cluster.pods().attach(d.host(), d);
        }
    }

    @AfterAll
    void teardown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private Cmd.Result doctor(String... extra) {
        List<String> cmd = new java.util.ArrayList<>(List.of("java", "-jar", Daemons.JAR.toString(), "--etcd-endpoints", cluster.etcd().endpoint(),
                "--subnet-file", d1.subnetFile().toString(), "--iface", "eth0", "--healthz-ip", "127.0.0.1", "--healthz-port", "8471", "doctor"));
        cmd.addAll(List.of(extra));
        Cmd.Result r = h1.exec(Duration.ofSeconds(90), cmd.toArray(String[]::new));
        System.out.println("---- doctor (udp) " + String.join(" ", extra) + " (exit " + r.exitCode() + ")\n" + r.stdout() + r.stderr());
        return r;
    }

    private static String line(Cmd.Result r, String start) {
        return r.stdout().lines().filter(l -> l.startsWith(start)).findFirst()
                .orElseThrow(() -> new AssertionError("no line starting \"" + start + "\" in:\n" + r.stdout() + r.stderr()));
    }

    @Test
    @Order(1)
    void aHealthyUdpNodeWithTheFlagsGivenAsOnTheDaemonsCommandLine() {
        Cmd.Result r = doctor("--probe");
        assertEquals(0, r.exitCode(), r.stdout() + r.stderr());
        assertFalse(r.stdout().lines().anyMatch(l -> l.startsWith("FAIL") || l.startsWith("warn")), r.stdout());
        String own = d1.keyName().substring(0, d1.keyName().indexOf('-'));
        assertEquals("ok   device: flannel0: " + own + "/16, MTU 1472, up", line(r, "ok   device: "));
        assertEquals("ok   data path: route to 198.19.0.0/16 through flannel0; 1 other udp lease(s) in etcd, the daemon forwards to 1",
                line(r, "ok   data path: "));
        assertTrue(line(r, "ok   probe: ").contains("all 1 peer(s) answered"), r.stdout());
    }

    @Test
    @Order(2)
    void flannel0WithTheWrongMtu() {
        h1.exec("ip", "link", "set", "flannel0", "mtu", "1500").check();
        try {
            Cmd.Result r = doctor();
            assertEquals(1, r.exitCode(), r.stdout());
            assertEquals(List.of("FAIL device: flannel0 has MTU 1500 instead of 1472 (eth0's 1500 − 28); fix: systemctl restart flanneld-java: "
                    + "it opens flannel0 again and configures it"), r.stdout().lines().filter(l -> l.startsWith("FAIL")).toList());
        } finally {
            h1.exec("ip", "link", "set", "flannel0", "mtu", "1472").check();
        }
    }
}
