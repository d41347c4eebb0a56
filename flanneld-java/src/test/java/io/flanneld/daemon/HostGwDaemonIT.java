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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pods on namespace hosts reach each other through daemons running the host-gw backend: plain routes via the other
 * hosts' PublicIPs on eth0, no encapsulation. Also a node standing in for flannel's own host-gw node, whose lease is
 * written exactly as flannel writes it and whose routes are programmed exactly as flannel programs them.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class HostGwDaemonIT {
    private static final String PREFIX = DaemonCluster.PREFIX;
    private static final Pattern ETCD_LEASE = Pattern.compile("lease ([0-9a-f]+) granted");
    private DaemonCluster cluster;
    private NetnsFabric fabric;
    private EtcdProcess etcd;
    private Pods pods;
    private PingRun ping;

    @TempDir
    Path dir;

    @BeforeEach
    void cluster() {
        cluster = DaemonCluster.start();
        fabric = cluster.fabric();
        etcd = cluster.etcd();
        pods = cluster.pods();
        cluster.config(DaemonCluster.networkConfig("host-gw"));
    }

    @AfterEach
    void teardown() {
        if (ping != null) {
            ping.close();
        }
        cluster.close();
    }

    private Daemons.Running daemon(String name) {
        return Daemons.start(fabric.host(name), dir.resolve(name), etcd.endpoint(), "--healthz-ip", "127.0.0.1", "--healthz-port", "8471");
    }

    private static String metrics(NetnsFabric.Host host) {
        return Daemons.httpGet(host, 8471, "/metrics");
    }

    /** Routes into the overlay Network through eth0, as `ip route` prints them without the device. */
    private static List<String> overlayRoutes(NetnsFabric.Host host) {
        return host.exec("ip", "route", "show", "root", "198.19.0.0/16", "dev", "eth0").check().stdout().lines()
                .map(String::strip).filter(l -> !l.isEmpty()).sorted().toList();
    }

    private static String net(Daemons.Running d) {
        return d.keyName().replace('-', '/');
    }

    private static String routeTo(Daemons.Running d) {
        return net(d) + " via " + d.host().ip();
    }

    @Test
    void podsReachEachOtherAndRoutesFollowTheLeasesThroughRestartsAndRepairs() throws Exception {
        Map<String, Daemons.Running> daemons = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) {
            fabric.addHost("h" + i, "198.18.0." + i + "/16");
            daemons.put("h" + i, daemon("h" + i));
        }
        Map<String, Pods.Pod> all = new LinkedHashMap<>();
        for (var e : daemons.entrySet()) {
            Daemons.Running d = e.getValue();
            d.awaitSubnetFile();
            assertTrue(d.subnetEnv().contains("FLANNEL_MTU=1500"), "host-gw adds nothing to packets: " + d.subnetEnv());
            assertEquals("{\"PublicIP\":\"" + d.host().ip() + "\",\"BackendType\":\"host-gw\"}", cluster.leaseValue(d.keyName()),
                    "exactly flannel's host-gw lease value");
            all.put(e.getKey(), pods.attach(fabric.host(e.getKey()), d));
        }
        for (Daemons.Running d : daemons.values()) {
            d.awaitLog("backend host-gw started");
        }
        for (var e : daemons.entrySet()) {
            List<String> want = daemons.entrySet().stream().filter(o -> !o.getKey().equals(e.getKey()))
                    .map(o -> routeTo(o.getValue())).sorted().toList();
            Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), e.getKey() + " routes to the two others: " + want,
                    () -> overlayRoutes(fabric.host(e.getKey())).equals(want));
        }
        Pods.assertAllReachEachOther(all);
        String m = metrics(fabric.host("h1"));
        assertEquals(2.0, Daemons.metric(m, "flannel_backend_peers{backend=\"host-gw\"}"), m);
        assertEquals(0.0, Daemons.metric(m, "flannel_hostgw_unroutable_peers_total"), m);
        assertEquals(0.0, Daemons.metric(m, "flannel_netlink_errors_total"), m);
        Cmd.Result status = fabric.host("h1").exec(Duration.ofSeconds(40), "java", "-jar", Daemons.JAR.toString(), "status",
                "--etcd-endpoints", etcd.endpoint(), "--subnet-file", daemons.get("h1").subnetFile().toString());
        assertEquals(0, status.exitCode(), status.stdout() + status.stderr());
        assertTrue(status.stdout().contains("backend:      host-gw")
                && status.stdout().contains("device:       none (host-gw), routes 2 into 198.19.0.0/16 via peers' PublicIPs on eth0"),
                status.stdout());

        // A fourth host joins: everyone reaches its pod and it reaches everyone.
        fabric.addHost("h4", "198.18.0.4/16");
        Daemons.Running h4 = daemon("h4");
        h4.awaitSubnetFile();
        h4.awaitLog("backend host-gw started");
        all.put("h4", pods.attach(fabric.host("h4"), h4));
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "h1..h3 route to h4",
                () -> daemons.keySet().stream().allMatch(h -> overlayRoutes(fabric.host(h)).contains(routeTo(h4))));
        Pods.assertAllReachEachOther(all);

        // A host-gw lease whose PublicIP is on no host's network: warned about and counted, everyone else unaffected.
        // A subnet no daemon was given (they draw theirs at random).
        java.util.Set<String> taken = new java.util.HashSet<>();
        daemons.values().forEach(d -> taken.add(d.keyName()));
        taken.add(h4.keyName());
        String offLink = java.util.stream.IntStream.rangeClosed(200, 254).mapToObj(x -> "198.19." + x + ".0-24")
                .filter(k -> !taken.contains(k)).findFirst().orElseThrow();
        String offLinkNet = offLink.replace('-', '/');
        etcd.etcdctl("put", PREFIX + "/subnets/" + offLink, "{\"PublicIP\":\"198.19.200.9\",\"BackendType\":\"host-gw\"}").check();
        daemons.get("h1").awaitLog("Cannot route peer " + offLinkNet + ": its PublicIP 198.19.200.9 is not on eth0's network(s) 198.18.0.0/16");
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(100), "the unroutable peer counted",
                () -> Daemons.metric(metrics(fabric.host("h1")), "flannel_hostgw_unroutable_peers_total") == 1.0);
        assertFalse(overlayRoutes(fabric.host("h1")).stream().anyMatch(r -> r.startsWith(offLinkNet)));
        Pods.assertAllReachEachOther(all);
        etcd.etcdctl("del", PREFIX + "/subnets/" + offLink).check();

        // Its key deleted (its daemon stopped first, or it would put the key back): its route gone everywhere within 2 s.
        assertEquals(0, h4.stop());
        long t0 = System.nanoTime();
        etcd.etcdctl("del", PREFIX + "/subnets/" + h4.keyName()).check();
        Wait.until(Duration.ofSeconds(2), Duration.ofMillis(20), "h4's route removed from h1..h3",
                () -> daemons.keySet().stream().allMatch(h -> fabric.host(h).exec("ip", "route", "show", net(h4)).stdout().isBlank()));
        System.out.printf("lease deletion to route removal on three hosts: %d ms%n", (System.nanoTime() - t0) / 1_000_000);

        // Someone flushes the routes on h1's eth0: the kernel's notification makes the daemon put them back at once.
        Daemons.Running h1 = daemons.get("h1");
        double repairsBefore = repairs(fabric.host("h1"));
        fabric.host("h1").exec("ip", "route", "flush", "dev", "eth0", "proto", "boot").check();
        long flushed = System.nanoTime();
        List<String> want = List.of(routeTo(daemons.get("h2")), routeTo(daemons.get("h3"))).stream().sorted().toList();
        Wait.until(Duration.ofSeconds(3), Duration.ofMillis(10), "h1's routes put back",
                () -> overlayRoutes(fabric.host("h1")).equals(want));
        System.out.printf("flushed routes on eth0 put back after %d ms%n", (System.nanoTime() - flushed) / 1_000_000);
        h1.awaitLog("Repaired peer " + routeTo(daemons.get("h2")) + ": put back its route dev eth0");
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(100), "flannel_repairs_total{what=\"route\"} counts both",
                () -> repairs(fabric.host("h1")) >= repairsBefore + 2);
        Pods.assertAllReachEachOther(Map.of("h1", all.get("h1"), "h2", all.get("h2"), "h3", all.get("h3")));

        // SIGKILL and restart while h2's pod pings h1's: the routes are the kernel's, so no ping is lost.
        String subnet = h1.subnet();
        ping = PingRun.start(all.get("h2").netns(), all.get("h1").ip(), dir.resolve("ping.out"));
        Thread.sleep(1000);
        h1.kill();
        Daemons.Running h1Again = daemon("h1");
        h1Again.awaitLog("backend host-gw started", Duration.ofSeconds(60));
        Thread.sleep(1000);
        PingRun.Result lost = ping.stop();
        ping = null;
        assertEquals(subnet, h1Again.subnet());
        assertEquals(0, lost.lost(), "no ping lost while h1's daemon was killed and restarted: " + lost.summary());
        assertTrue(lost.sent() >= 10, lost.summary());
        assertEquals(want, overlayRoutes(fabric.host("h1")), "exactly h2's and h3's routes, once each, after the restart");
        Pods.assertAllReachEachOther(Map.of("h1", all.get("h1"), "h2", all.get("h2"), "h3", all.get("h3")));

        // doctor on a host-gw node: whole, then with h2's route gone while the daemon is dead.
        Cmd.Result whole = doctor(fabric.host("h1"), h1Again);
        assertTrue(whole.stdout().contains("ok   data path: routes via their PublicIP for all 2 host-gw peer(s) in etcd; nothing stale"),
                whole.stdout() + whole.stderr());
        h1Again.kill();
        fabric.host("h1").exec("ip", "route", "del", net(daemons.get("h2"))).check();
        Cmd.Result broken = doctor(fabric.host("h1"), h1Again);
        assertEquals(1, broken.exitCode(), broken.stdout() + broken.stderr());
        assertTrue(broken.stdout().contains("FAIL data path: 1 route(s) missing and 0 stale, against 2 host-gw peer(s) in etcd"), broken.stdout());
        assertTrue(broken.stdout().contains("missing: " + net(daemons.get("h2")) + " via " + daemons.get("h2").host().ip() + " dev eth0"),
                broken.stdout());
    }

    private Cmd.Result doctor(NetnsFabric.Host host, Daemons.Running d) {
        Cmd.Result r = host.exec(Duration.ofSeconds(90), "java", "-jar", Daemons.JAR.toString(), "doctor", "--etcd-endpoints", etcd.endpoint(),
                "--subnet-file", d.subnetFile().toString(), "--iface", "eth0");
        System.out.println("---- doctor (exit " + r.exitCode() + ")\n" + r.stdout() + r.stderr());
        return r;
    }

    private static double repairs(NetnsFabric.Host host) {
        return metrics(host).lines().filter(l -> l.startsWith("flannel_repairs_total{") && l.contains("what=\"route\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    /**
     * A flannel host-gw node and this daemon in one etcd and one L2 network. flannel's daemon cannot be built on this
     * machine (no Go toolchain), so host f2 stands in for it, doing exactly what flannel's host-gw backend does
     * (pkg/backend/hostgw, pkg/backend/route_network.go): it writes its lease as flannel's LeaseAttrs marshals it,
     * bound to an etcd lease, and for every host-gw lease it reads adds the route {Dst: subnet, Gw: PublicIP,
     * LinkIndex: eth0}. Each routes the other's pods.
     */
    @Test
    void aFlannelHostGwNodeAndThisDaemonRouteEachOthersPods() throws Exception {
        NetnsFabric.Host h1 = fabric.addHost("h1", "198.18.0.1/16");
        NetnsFabric.Host f2 = fabric.addHost("f2", "198.18.0.2/16");
        // flannel's lease: LeaseAttrs{PublicIP, PublicIPv6 *IP6 (null), BackendType "host-gw", no BackendData}.
        Matcher granted = ETCD_LEASE.matcher(etcd.etcdctl("lease", "grant", "86400").check().stdout());
        assertTrue(granted.find());
        String flannelKey = PREFIX + "/subnets/198.19.77.0-24";
        etcd.etcdctl("put", "--lease=" + granted.group(1), flannelKey,
                "{\"PublicIP\":\"198.18.0.2\",\"PublicIPv6\":null,\"BackendType\":\"host-gw\"}").check();
        Pods.Pod flannelPod = pods.attach(f2, "198.19.77.1/24", "1500");

        Daemons.Running d1 = daemon("h1");
        d1.awaitSubnetFile();
        d1.awaitLog("backend host-gw started");
        Pods.Pod ourPod = pods.attach(h1, d1);
        assertFalse(d1.subnet().startsWith("198.19.77."), "the subnet flannel's node holds is not taken twice");
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "our node routes the flannel node's subnet",
                () -> overlayRoutes(h1).equals(List.of("198.19.77.0/24 via 198.18.0.2")));

        // The flannel node reads our lease as flannel's decoder does and programs flannel's route for it.
        String ours = cluster.leaseValue(d1.keyName());
        var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(ours);
        assertEquals("host-gw", json.get("BackendType").asText(), "flannel skips a lease whose BackendType is not its own");
        assertEquals("198.18.0.1", json.get("PublicIP").asText());
        f2.exec("ip", "route", "add", net(d1), "via", json.get("PublicIP").asText(), "dev", "eth0").check();
        assertEquals(List.of(routeTo(d1)), overlayRoutes(f2), "flannel's route has the form of ours");

        Cmd.Result there = ourPod.ping(flannelPod.ip(), 3);
        assertTrue(there.ok(), "our pod reaches the flannel node's pod: " + there.stdout() + there.stderr());
        Cmd.Result back = flannelPod.ping(ourPod.ip(), 3);
        assertTrue(back.ok(), "the flannel node's pod reaches ours: " + back.stdout() + back.stderr());

        // The flannel node leaves (its etcd lease revoked, as when it expires): its route goes.
        etcd.etcdctl("lease", "revoke", granted.group(1)).check();
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(50), "the flannel node's route removed",
                () -> overlayRoutes(h1).isEmpty());
        assertTrue(d1.process().isAlive(), d1.logText());
    }

    /** flannel's host-gw refuses a PublicIP that is not the interface's address (a host behind NAT), and so does this one. */
    @Test
    void aPublicIpOtherThanTheInterfacesAddressEndsTheDaemonWithOneLine() throws Exception {
        NetnsFabric.Host h1 = fabric.addHost("h1", "198.18.0.1/16");
        Daemons.Running d = Daemons.start(h1, dir.resolve("h1"), etcd.endpoint(), "--public-ip", "198.18.0.9");
        assertEquals(FlannelDaemon.EXIT_FATAL, d.awaitExit(), d.logText());
        assertTrue(d.logText().contains("backend host-gw: host-gw cannot use PublicIP 198.18.0.9: it is not eth0's address 198.18.0.1"),
                d.logText());
        assertFalse(d.logText().contains("\tat "), "no stack trace:\n" + d.logText());
        assertEquals("", cluster.leaseValue("198.19.1.0-24") + etcd.etcdctl("get", "--prefix", PREFIX + "/subnets/", "--keys-only")
                .check().stdout().strip(), "no lease taken");
    }
}
