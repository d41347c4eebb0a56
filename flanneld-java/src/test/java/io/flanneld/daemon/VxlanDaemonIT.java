package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Pods on different namespace hosts reach each other through daemons running the vxlan backend. */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class VxlanDaemonIT {
    private static final String PREFIX = DaemonCluster.PREFIX;
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
        cluster.config(DaemonCluster.networkConfig("vxlan"));
    }

    @AfterEach
    void teardown() {
        cluster.close();
    }

    private Daemons.Running daemon(String name) {
        return Daemons.start(fabric.host(name), dir.resolve(name), etcd.endpoint(), "--healthz-ip", "127.0.0.1", "--healthz-port", "8471");
    }

    private static String flannelMac(NetnsFabric.Host host) {
        String out = host.exec("ip", "-o", "link", "show", "flannel.1").check().stdout();
        return out.replaceAll("(?s).*link/ether ([0-9a-f:]+).*", "$1");
    }

    @Test
    void podsReachEachOtherAcrossHostsAndTheKernelFollowsTheLeases() throws Exception {
        Map<String, Daemons.Running> daemons = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) {
            fabric.addHost("h" + i, "198.18.0." + i + "/16");
            daemons.put("h" + i, daemon("h" + i));
        }
        Map<String, Pods.Pod> all = new LinkedHashMap<>();
        for (var e : daemons.entrySet()) {
            e.getValue().awaitSubnetFile();
            assertTrue(e.getValue().subnetEnv().contains("FLANNEL_MTU=1450"), "VXLAN MTU = 1500 - 50");
            String lease = etcd.etcdctl("get", PREFIX + "/subnets/" + e.getValue().keyName(), "--print-value-only").check().stdout();
            assertTrue(lease.matches("(?s)\\{\"PublicIP\":\"198\\.18\\.0\\.\\d\",\"BackendType\":\"vxlan\",\"BackendData\":\\{\"VNI\":1,\"VtepMAC\":\"[0-9a-f:]{17}\"}}\\s*"), lease);
            all.put(e.getKey(), pods.attach(fabric.host(e.getKey()), e.getValue()));
        }
        for (String h : daemons.keySet()) {
            daemons.get(h).awaitLog("backend vxlan started");
        }
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "every host has routes to the two others",
                () -> daemons.keySet().stream().allMatch(h ->
                        fabric.host(h).exec("ip", "route", "show", "dev", "flannel.1").stdout().lines().count() == 2));
        Pods.assertAllReachEachOther(all);
        String metrics = Daemons.httpGet(fabric.host("h1"), 8471, "/metrics");
        assertEquals(2.0, Daemons.metric(metrics, "flannel_backend_peers{backend=\"vxlan\"}"), metrics);
        assertTrue(Daemons.metric(metrics, "flannel_netlink_requests_total") > 0);
        assertEquals(0.0, Daemons.metric(metrics, "flannel_netlink_errors_total"));

        // The operator's view: leases as a table and as JSON, and this node's status.
        NetnsFabric.Host h1Host = fabric.host("h1");
        Cmd.Result table = h1Host.exec(Duration.ofSeconds(40), "java", "-jar", Daemons.JAR.toString(), "leases",
                "--etcd-endpoints", etcd.endpoint());
        assertEquals(0, table.exitCode(), table.stderr());
        assertTrue(table.stdout().startsWith("SUBNET"), table.stdout());
        for (var d : daemons.values()) {
            String row = table.stdout().lines().filter(l -> l.startsWith(d.keyName().replace('-', '/') + " ")).findFirst()
                    .orElseThrow(() -> new AssertionError(d.keyName() + " missing in\n" + table.stdout()));
            assertTrue(row.matches(".*198\\.18\\.0\\.\\d\\s+vxlan\\s+[0-9a-f:]{17}\\s+2[34]h\\d+m\\s+no"), row);
        }
        Cmd.Result json = h1Host.exec(Duration.ofSeconds(40), "java", "-jar", Daemons.JAR.toString(), "--etcd-endpoints", etcd.endpoint(),
                "leases", "--json");
        assertEquals(0, json.exitCode(), json.stderr());
        var array = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.stdout());
        assertEquals(3, array.size(), json.stdout());
        assertEquals("vxlan", array.get(0).get("BackendType").asText());
        Cmd.Result status = h1Host.exec(Duration.ofSeconds(40), "java", "-jar", Daemons.JAR.toString(), "status",
                "--etcd-endpoints", etcd.endpoint(), "--subnet-file", daemons.get("h1").subnetFile().toString());
        assertEquals(0, status.exitCode(), status.stdout() + status.stderr());
        assertTrue(status.stdout().contains("device:       flannel.1, MTU 1450") && status.stdout().contains("routes 2"), status.stdout());
        assertTrue(status.stdout().contains("peers:        2 other lease(s)"), status.stdout());

        // A fourth host joins: everyone reaches its pod and it reaches everyone.
        fabric.addHost("h4", "198.18.0.4/16");
        Daemons.Running h4 = daemon("h4");
        h4.awaitSubnetFile();
        h4.awaitLog("backend vxlan started");
        all.put("h4", pods.attach(fabric.host("h4"), h4));
        String h4Net = h4.keyName().replace('-', '/');
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "h1..h3 route to h4",
                () -> daemons.keySet().stream().allMatch(h -> !fabric.host(h).exec("ip", "route", "show", h4Net).stdout().isBlank()));
        Pods.assertAllReachEachOther(all);
        assertEquals(3.0, Daemons.metric(Daemons.httpGet(fabric.host("h1"), 8471, "/metrics"), "flannel_backend_peers{backend=\"vxlan\"}"));

        // Its lease deleted (its daemon stopped first, or it would put the key back): gone everywhere within 2 s.
        String h4Mac = flannelMac(fabric.host("h4"));
        assertEquals(0, h4.stop());
        long t0 = System.nanoTime();
        etcd.etcdctl("del", PREFIX + "/subnets/" + h4.keyName()).check();
        String h4Gw = h4Net.substring(0, h4Net.indexOf('/'));
        Wait.until(Duration.ofSeconds(2), Duration.ofMillis(20), "h4's ARP, FDB and route removed from h1..h3",
                () -> daemons.keySet().stream().allMatch(h -> {
                    NetnsFabric.Host host = fabric.host(h);
                    return host.exec("ip", "route", "show", h4Net).stdout().isBlank()
                            && !host.exec("ip", "neigh", "show", "dev", "flannel.1").stdout().contains(h4Gw + " ")
                            && !host.exec("bridge", "fdb", "show", "dev", "flannel.1").stdout().contains(h4Mac);
                }));
        System.out.printf("lease deletion to removal on three hosts: %d ms%n", (System.nanoTime() - t0) / 1_000_000);

        // SIGKILL and restart: same subnet, same device, and established pod traffic is not interrupted.
        Daemons.Running h1 = daemons.get("h1");
        String subnet = h1.subnet();
        String mac = flannelMac(fabric.host("h1"));
        Process ping = new ProcessBuilder("ip", "netns", "exec", all.get("h2").netns(), "ping", "-c", "40", "-i", "0.1", "-W", "1", "-q",
                all.get("h1").ip()).redirectErrorStream(true).start();
        Thread.sleep(500);
        h1.kill();
        Daemons.Running h1Again = daemon("h1");
        h1Again.awaitLog("backend vxlan started");
        assertEquals(subnet, h1Again.subnet());
        assertEquals(mac, flannelMac(fabric.host("h1")), "the device and its MAC survive the restart");
        assertTrue(ping.waitFor(15, TimeUnit.SECONDS));
        String pingOut = new String(ping.getInputStream().readAllBytes());
        assertTrue(pingOut.contains(" 0% packet loss"), "no packet lost while the daemon restarted: " + pingOut);
        assertEquals(2, fabric.host("h1").exec("ip", "route", "show", "dev", "flannel.1").stdout().lines().count(),
                "no stale or duplicate routes after the restart");
        List<String> neigh = new ArrayList<>(fabric.host("h1").exec("ip", "neigh", "show", "dev", "flannel.1").stdout().lines().toList());
        assertEquals(2, neigh.size(), "ARP entries for h2 and h3 only: " + neigh);
        assertFalse(fabric.host("h1").exec("bridge", "fdb", "show", "dev", "flannel.1").stdout().contains(h4Mac));
        Pods.assertAllReachEachOther(Map.of("h1", all.get("h1"), "h2", all.get("h2"), "h3", all.get("h3")));
    }
}
