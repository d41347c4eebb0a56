package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.net.UnixDatagramReceiver;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The packaged daemon on namespace hosts against a real etcd in its own namespace. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DaemonIT {
    private static final String PREFIX = DaemonCluster.PREFIX;
    private DaemonCluster cluster;
    private NetnsFabric fabric;
    private EtcdProcess etcd;
    private String endpoint;

    @TempDir
    Path dir;

    @BeforeEach
    void cluster() {
        cluster = DaemonCluster.start();
        fabric = cluster.fabric();
        etcd = cluster.etcd();
        endpoint = etcd.endpoint();
    }

    @AfterEach
    void teardown() {
        cluster.close();
    }

    private void config(String json) {
        cluster.config(json);
    }

    private String value(String keyName) {
        return cluster.leaseValue(keyName);
    }

    private Daemons.Running daemon(String host, String... extra) {
        NetnsFabric.Host h = fabric.host(host);
        return Daemons.start(h, dir.resolve(host), endpoint, extra);
    }

    @Test
    void threeHostsGetDistinctSubnetsKeptAcrossRestartsAndCrashes() throws Exception {
        config("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}");
        for (int i = 1; i <= 3; i++) {
            fabric.addHost("h" + i, "198.18.0." + i + "/16");
        }
        List<Daemons.Running> daemons = List.of(daemon("h1"), daemon("h2"), daemon("h3"));
        Set<String> subnets = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            Daemons.Running d = daemons.get(i);
            d.awaitSubnetFile();
            subnets.add(d.subnet());
            String env = d.subnetEnv();
            assertTrue(env.matches("FLANNEL_NETWORK=198\\.19\\.0\\.0/16\nFLANNEL_SUBNET=198\\.19\\.\\d+\\.1/24\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n"), env);
            assertEquals("{\"PublicIP\":\"198.18.0." + (i + 1) + "\",\"BackendType\":\"alloc\"}", value(d.keyName()));
        }
        assertEquals(3, subnets.size(), "distinct subnets: " + subnets);

        // SIGTERM: clean stop, lease kept, same subnet on the next start.
        Daemons.Running h1 = daemons.get(0);
        String h1Subnet = h1.subnet();
        assertEquals(0, h1.stop());
        assertTrue(h1.logText().contains("lease kept"), h1.logText());
        assertFalse(value(h1.keyName()).isEmpty(), "the key stays in etcd after a clean stop");
        Files.delete(h1.subnetFile());
        Daemons.Running h1Again = daemon("h1");
        h1Again.awaitSubnetFile();
        assertEquals(h1Subnet, h1Again.subnet(), "found again by PublicIP");

        // SIGKILL: same subnet too.
        Daemons.Running h2 = daemons.get(1);
        String h2Subnet = h2.subnet();
        h2.kill();
        Daemons.Running h2Again = daemon("h2");
        h2Again.awaitLog("backend alloc started");
        assertEquals(h2Subnet, h2Again.subnet());

        // An operator deleting a key: the daemon puts the same subnet back.
        Daemons.Running h3 = daemons.get(2);
        etcd.etcdctl("del", PREFIX + "/subnets/" + h3.keyName()).check();
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(50), "h3 re-creates its key",
                () -> value(h3.keyName()).contains("198.18.0.3"));
        h3.awaitLog("re-created");
        assertTrue(h3.process().isAlive());

        // Another host taking this host's subnet: loud error, exit 1, rather than a silent move.
        etcd.etcdctl("put", PREFIX + "/subnets/" + h3.keyName(), "{\"PublicIP\":\"198.18.0.77\",\"BackendType\":\"alloc\"}").check();
        assertEquals(1, h3.awaitExit());
        assertTrue(h3.logText().contains("now held by 198.18.0.77"), h3.logText());
    }

    @Test
    void waitsForEtcdAndForAValidConfigNamingTheBadField() throws Exception {
        fabric.addHost("h1", "198.18.0.1/16");
        etcd.stop();
        Daemons.Running d = daemon("h1");
        d.awaitLog("not answering");
        assertTrue(d.logText().contains("etcd at http://198.18.0.100:2379 is not answering"), d.logText());
        etcd.restart();
        d.awaitLog("does not exist yet");
        config("{\"Network\":\"198.19.0.0/16\",\"SubnetLen\":31,\"Backend\":{\"Type\":\"alloc\"}}");
        d.awaitLog("SubnetLen: must be less than /31, got 31");
        config("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"gre\"}}");
        d.awaitLog("Backend.Type: \"gre\" is not supported");
        assertFalse(Files.exists(d.subnetFile()), "no lease without a valid config");
        config("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}");
        d.awaitSubnetFile();
        assertTrue(d.process().isAlive());
    }

    @Test
    void healthzSaysWhyUntilTheLeaseIsHeld() throws Exception {
        NetnsFabric.Host h = fabric.addHost("h1", "198.18.0.1/16");
        Daemons.Running d = daemon("h1", "--healthz-ip", "127.0.0.1", "--healthz-port", "8471");
        d.awaitLog("does not exist yet");
        String waiting = Daemons.httpGet(h, 8471, "/healthz");
        assertTrue(waiting.startsWith("HTTP/1.1 503") && waiting.contains("lease not held"), waiting);
        config("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}");
        d.awaitLog("backend alloc started");
        String ok = Daemons.httpGet(h, 8471, "/healthz");
        assertTrue(ok.startsWith("HTTP/1.1 200") && ok.strip().endsWith("ok"), ok);
        String metrics = Daemons.httpGet(h, 8471, "/metrics");
        assertTrue(metrics.startsWith("HTTP/1.1 200"), metrics);
        assertEquals(1.0, Daemons.metric(metrics, "flannel_lease_held"), metrics);
        assertTrue(Daemons.metric(metrics, "flannel_lease_expiry_seconds") > 23 * 3600, "a fresh 24 h lease");
        assertTrue(Daemons.metric(metrics, "flannel_etcd_request_seconds_count") >= 3, "config read, list, grant, create...");
        assertTrue(Daemons.metric(metrics, "flannel_etcd_request_errors_total") >= 0);
        assertEquals(0.0, Daemons.metric(metrics, "flannel_backend_peers{backend=\"alloc\"}"));
        assertTrue(metrics.contains("\njvm_memory_used_bytes{area=\"heap\"") && metrics.contains("\nprocess_uptime_seconds "),
                "JVM metrics are served too");
    }

    @Test
    void tellsSystemdItIsReadyOnlyOnceSubnetEnvIsWritten() throws Exception {
        NetnsFabric.Host h = fabric.addHost("h1", "198.18.0.1/16");
        try (UnixDatagramReceiver systemd = UnixDatagramReceiver.bind(dir.resolve("notify.sock"))) {
            Daemons.Running d = Daemons.start(h, dir.resolve("h1"), endpoint, java.util.Map.of("NOTIFY_SOCKET", systemd.path().toString()));
            d.awaitLog("does not exist yet");
            assertEquals(java.util.Optional.empty(), systemd.receive(500), "not ready while the config is missing");
            config("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}");
            String ready = systemd.receive(30_000).orElseThrow(() -> new AssertionError("no READY=1:\n" + d.logText()));
            assertTrue(ready.startsWith("READY=1\n"), ready);
            assertTrue(Files.exists(d.subnetFile()), "subnet.env exists when READY=1 arrives");
            assertTrue(ready.contains("STATUS=subnet " + d.keyName().replace('-', '/')), ready);
            assertEquals(0, d.stop());
            assertEquals(java.util.Optional.of("STOPPING=1"), systemd.receive(5000));
        }
    }

    @Test
    void exhaustionIsAClearFatalError() throws Exception {
        config("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.9.0\",\"SubnetMax\":\"198.19.9.0\",\"Backend\":{\"Type\":\"alloc\"}}");
        fabric.addHost("h1", "198.18.0.1/16");
        fabric.addHost("h2", "198.18.0.2/16");
        daemon("h1").awaitSubnetFile();
        Daemons.Running h2 = daemon("h2");
        assertEquals(1, h2.awaitExit());
        assertTrue(h2.logText().contains("no free subnet left in Network 198.19.0.0/16"), h2.logText());
        assertTrue(h2.logText().contains("SubnetMin 198.19.9.0"), h2.logText());
    }

    @Test
    void ipMasqRulesAreInstalledAndRemovedOnCleanStop() throws Exception {
        config("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}");
        NetnsFabric.Host h = fabric.addHost("h1", "198.18.0.1/16");
        Daemons.Running d = daemon("h1", "--ip-masq");
        d.awaitSubnetFile();
        assertTrue(d.subnetEnv().contains("FLANNEL_IPMASQ=true"));
        d.awaitLog("--ip-masq: rules in place in iptables nat/FLANNEL-POSTRTG");
        String rules = h.exec("iptables-save", "-t", "nat").check().stdout();
        assertTrue(rules.contains("-A POSTROUTING") && rules.contains("FLANNEL-POSTRTG"), rules);
        assertTrue(rules.contains("-s 198.19.0.0/16 -d 198.19.0.0/16"), rules);
        assertEquals(0, d.stop());
        String after = h.exec("iptables-save", "-t", "nat").check().stdout();
        assertFalse(after.contains("FLANNEL-POSTRTG"), after);
    }

    /** No --iface and no default route: only --iface-can-reach can choose eth0, the way to etcd's host. */
    @Test
    void interfaceFromIfaceCanReachAndBlackholeRouteRemovedOnCleanStop() throws Exception {
        config("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}");
        NetnsFabric.Host h = fabric.addHost("h1", "198.18.0.1/16");
        Daemons.Running d = Daemons.startChoosingInterface(h, dir.resolve("h1"), endpoint, "--iface-regex", "^wlan",
                "--iface-can-reach", fabric.host("etcd").ip(), "--ip-blackhole-route");
        d.awaitSubnetFile();
        assertTrue(d.logText().contains("interface eth0 (index "), d.logText());
        d.awaitLog("--ip-blackhole-route: blackhole route for");
        String subnet = d.keyName().replace('-', '/');
        assertEquals("blackhole " + subnet, h.exec("ip", "route", "show", "type", "blackhole").check().stdout().strip());
        assertEquals(0, d.stop());
        assertEquals("", h.exec("ip", "route", "show", "type", "blackhole").check().stdout().strip(), d.logText());
    }
}
