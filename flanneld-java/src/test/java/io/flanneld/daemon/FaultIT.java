package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.EtcdCluster;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.nio.file.Path;
import java.nio.file.Files;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Faults on namespace hosts running the vxlan backend, each measured while a pod on one host pings
 * a pod on another 10 times a second, and each written as one line of the fault report
 * ({@link FaultReport}): etcd stopped for 60 s, etcd wiped, the leader of a 3-member etcd cluster
 * killed, a daemon SIGKILLed and restarted, a host disappearing under a short lease TTL. They run
 * in that order, so the report reads in it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultIT {
    private static final String PREFIX = DaemonCluster.PREFIX;
    private static final String VXLAN = DaemonCluster.networkConfig("vxlan");
    private static final Pattern LEASE_ID = Pattern.compile("\"lease\":(\\d+)");

    @TempDir
    Path dir;

    private DaemonCluster cluster;
    private NetnsFabric ownFabric;
    private Pods ownPods;
    private PingRun ping;

    @AfterEach
    void teardown() {
        if (ping != null) {
            ping.close();
        }
        if (cluster != null) {
            cluster.close();
        }
        if (ownPods != null) {
            ownPods.close();
        }
        if (ownFabric != null) {
            ownFabric.close();
        }
    }

    // ---- the faults ----

    @Test
    @Order(1)
    @Timeout(value = 200, unit = TimeUnit.SECONDS)
    void etcdStoppedFor60sWhilePodsPing() throws Exception {
        cluster = startCluster();
        Map<String, Daemons.Running> d = startHosts(cluster.fabric(), cluster.etcd().endpoint(), 2);
        Map<String, Pods.Pod> pods = attachPods(cluster.fabric(), cluster.pods(), d);
        Map<String, String> leasesBefore = leaseRecords(this::etcdctl, d);
        long pid1 = d.get("h1").process().pid();
        long pid2 = d.get("h2").process().pid();
        ping = PingRun.start(pods.get("h1").netns(), pods.get("h2").ip(), dir.resolve("ping.out"));
        Thread.sleep(1000);

        cluster.etcd().stop();
        long down = System.nanoTime();
        // A third host comes up during the outage: it waits for etcd, then its lease must reach the others.
        NetnsFabric.Host h3Host = cluster.fabric().addHost("h3", "198.18.0.3/16");
        Daemons.Running h3 = daemon(h3Host, cluster.etcd().endpoint());
        Thread.sleep(Math.max(0, 60_000 - (System.nanoTime() - down) / 1_000_000));
        double outage = (System.nanoTime() - down) / 1e9;
        cluster.etcd().restart();
        long back = System.nanoTime();

        h3.awaitSubnetFile(Duration.ofSeconds(60));
        String h3Net = net(h3);
        awaitRoutes(cluster.fabric(), List.of("h1", "h2"), h3Net, true, Duration.ofSeconds(60));
        double recovery = (System.nanoTime() - back) / 1e9;
        PingRun.Result lost = stopPing();

        for (Daemons.Running r : d.values()) {
            assertTrue(r.process().isAlive(), r.host().name() + " kept running:\n" + r.logText());
            assertTrue(warnLines(r).stream().anyMatch(l -> l.contains("http://198.18.0.100:2379")),
                    r.host().name() + " logs the outage as a WARN naming the endpoint:\n" + r.logText());
            assertTrue(r.logText().contains("answers again"), "the watch resumed in the same process:\n" + r.logText());
            String metrics = Daemons.httpGet(r.host(), 8471, "/metrics");
            assertTrue(Daemons.metric(metrics, "flannel_watch_reconnects_total") >= 1, metrics);
        }
        assertEquals(pid1, d.get("h1").process().pid());
        assertEquals(pid2, d.get("h2").process().pid());
        assertEquals(leasesBefore, leaseRecords(this::etcdctl, d), "the same keys, values and etcd leases after the outage");
        assertEquals(0, lost.lost(), "no packet lost on the established path: " + lost.summary());
        Pods.assertAllReachEachOther(Map.of("h1", pods.get("h1"), "h2", pods.get("h2"),
                "h3", cluster.pods().attach(h3Host, h3)));
        FaultReport.add(new FaultReport.Line("etcd stopped 60 s",
                String.format("etcd stopped for %.0f s while pods on h1 and h2 pinged; h3 started during the outage", outage),
                lost.sent(), lost.lost(), recovery, "h3's lease programmed on h1 and h2 after etcd was back", false,
                "daemons kept their PIDs and etcd leases; WARN naming http://198.18.0.100:2379; watch resumed without restart"));
    }

    @Test
    @Order(2)
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void etcdWipedAndRestartedEmpty() throws Exception {
        cluster = startCluster();
        Map<String, Daemons.Running> d = startHosts(cluster.fabric(), cluster.etcd().endpoint(), 2);
        Map<String, Pods.Pod> pods = attachPods(cluster.fabric(), cluster.pods(), d);
        Map<String, String> subnets = subnets(d);
        ping = PingRun.start(pods.get("h1").netns(), pods.get("h2").ip(), dir.resolve("ping.out"));
        Thread.sleep(1000);

        cluster.etcd().wipeAndRestart();
        long back = System.nanoTime();
        // The daemons may already be re-creating their keys; the config, which no daemon writes, shows the wipe.
        assertEquals("", cluster.etcd().etcdctl("get", PREFIX + "/config", "--print-value-only").check().stdout().strip(),
                "etcd came back empty");
        cluster.config(VXLAN); // what an operator restoring etcd does first
        Wait.until(Duration.ofSeconds(60), Duration.ofMillis(100), "both hosts re-create their keys",
                () -> d.values().stream().allMatch(r -> cluster.leaseValue(r.keyName()).contains("\"PublicIP\":\"" + r.host().ip() + "\"")));
        double recovery = (System.nanoTime() - back) / 1e9;
        Thread.sleep(1000);
        PingRun.Result lost = stopPing();

        assertEquals(subnets, subnets(d), "each host keeps its subnet in subnet.env");
        String keys = cluster.etcd().etcdctl("get", "--prefix", PREFIX + "/subnets/", "--keys-only").check().stdout();
        Set<String> expected = d.values().stream().map(r -> PREFIX + "/subnets/" + r.keyName()).collect(Collectors.toSet());
        assertEquals(expected, Set.copyOf(keys.lines().filter(l -> !l.isBlank()).toList()), "the same subnets, re-created");
        for (Daemons.Running r : d.values()) {
            assertTrue(r.process().isAlive(), r.logText());
            assertTrue(r.logText().contains("re-created for " + r.host().ip()), r.logText());
            String keyLease = cluster.etcd().etcdctl("get", PREFIX + "/subnets/" + r.keyName(), "-w", "json").check().stdout()
                    .replaceAll("(?s).*\"lease\":(\\d+).*", "$1");
            Path record = r.subnetFile().resolveSibling(r.subnetFile().getFileName() + ".lease");
            Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), record + " names the new etcd lease",
                    () -> readQuietly(record).strip().endsWith(" " + Long.toHexString(Long.parseLong(keyLease))));
            assertEquals(1.0, Daemons.metric(Daemons.httpGet(r.host(), 8471, "/metrics"), "flannel_watch_data_losses_total"),
                    r.host().name() + " noticed the data loss once");
        }
        String revision = cluster.etcd().etcdctl("endpoint", "status", "-w", "json").check().stdout()
                .replaceAll("(?s).*\"revision\":(\\d+).*", "$1");
        assertEquals(0, lost.lost(), "no packet lost: routes to peers whose keys were missing stay programmed: " + lost.summary());
        Pods.assertAllReachEachOther(pods);
        FaultReport.add(new FaultReport.Line("etcd wiped",
                "etcd stopped, data dir deleted, restarted empty; config put back; pods on h1 and h2 pinging",
                lost.sent(), lost.lost(), recovery, "both hosts' keys re-created with the same subnets", false,
                "etcd after recovery: " + (expected.size() + 1) + " keys (config + leases), revision " + revision));
    }

    @Test
    @Order(3)
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void leaderOfAThreeMemberClusterKilled() throws Exception {
        ownFabric = NetnsFabric.create();
        List<NetnsFabric.Host> members = List.of(ownFabric.addHost("etcd0", "198.18.0.100/16"),
                ownFabric.addHost("etcd1", "198.18.0.101/16"), ownFabric.addHost("etcd2", "198.18.0.102/16"));
        EtcdCluster etcd = ownFabric.own(EtcdCluster.startOn(members));
        etcd.etcdctl("put", PREFIX + "/config", VXLAN).check();
        ownPods = new Pods();
        Function<String[], Cmd.Result> etcdctl = etcd::etcdctl;
        Map<String, Daemons.Running> d = startHosts(ownFabric, etcd.endpointsCsv(), 2, "--subnet-lease-ttl", "15s");
        Map<String, Pods.Pod> pods = attachPods(ownFabric, ownPods, d);
        Map<String, String> leasesBefore = leaseRecords(etcdctl, d);
        ping = PingRun.start(pods.get("h1").netns(), pods.get("h2").ip(), dir.resolve("ping.out"));
        Thread.sleep(1000);

        int leader = etcd.leaderIndex();
        Map<String, Double> renewalsAtKill = renewals(d);
        etcd.kill(leader);
        long killed = System.nanoTime();
        NetnsFabric.Host h3Host = ownFabric.addHost("h3", "198.18.0.3/16");
        Daemons.Running h3 = daemon(h3Host, etcd.endpointsCsv(), "--subnet-lease-ttl", "15s");
        h3.awaitSubnetFile(Duration.ofSeconds(60));
        awaitRoutes(ownFabric, List.of("h1", "h2"), net(h3), true, Duration.ofSeconds(60));
        double watchSeconds = (System.nanoTime() - killed) / 1e9;
        // Past a whole TTL after the kill: the keys are still there only if renewals went on.
        Wait.until(Duration.ofSeconds(60), Duration.ofMillis(200), "two renewals on h1 and h2 after the kill",
                () -> renewals(d).entrySet().stream().allMatch(e -> e.getValue() >= renewalsAtKill.get(e.getKey()) + 2));
        double renewSeconds = (System.nanoTime() - killed) / 1e9;
        Thread.sleep(Math.max(0, 17_000 - (System.nanoTime() - killed) / 1_000_000));
        PingRun.Result lost = stopPing();

        int newLeader = etcd.leaderIndex();
        assertNotEquals(leader, newLeader);
        assertEquals(leasesBefore, leaseRecords(etcdctl, d), "the same keys on the same etcd leases, 17 s after the kill with a 15 s TTL");
        String lease1 = leasesBefore.get("h1").replaceAll(".*lease=(\\d+).*", "$1");
        String ttl = etcd.etcdctl("lease", "timetolive", Long.toHexString(Long.parseLong(lease1))).check().stdout();
        Matcher remaining = Pattern.compile("remaining\\((\\d+)s\\)").matcher(ttl);
        assertTrue(remaining.find() && Integer.parseInt(remaining.group(1)) > 0, ttl);
        assertEquals(0, lost.lost(), lost.summary());
        FaultReport.add(new FaultReport.Line("etcd leader killed",
                "3-member etcd (198.18.0.100-102), daemons given all three endpoints, TTL 15 s; leader m" + leader + " SIGKILLed",
                lost.sent(), lost.lost(), watchSeconds, "a lease created after the kill programmed on h1 and h2", false,
                String.format("two renewals each within %.1f s of the kill; keys on the same etcd leases after 17 s "
                        + "(TTL 15 s, h1's lease %s s left); new leader m%d", renewSeconds, remaining.group(1), newLeader)));
    }

    @Test
    @Order(4)
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void daemonSigkilledAndRestarted() throws Exception {
        cluster = startCluster();
        NetnsFabric fabric = cluster.fabric();
        Map<String, Daemons.Running> d = startHosts(fabric, cluster.etcd().endpoint(), 3);
        Map<String, Pods.Pod> pods = attachPods(fabric, cluster.pods(), d);
        awaitRoutes(fabric, List.of("h1"), net(d.get("h3")), true, Duration.ofSeconds(20));
        Daemons.Running h1 = d.get("h1");
        String subnet = h1.subnet();
        String mac = flannelMac(fabric.host("h1"));
        ping = PingRun.start(pods.get("h2").netns(), pods.get("h1").ip(), dir.resolve("ping.out"));
        Thread.sleep(1000);

        h1.kill();
        // While h1 is dead: h3 leaves (stopped, key deleted) and h4 joins. h1 must catch up on both.
        assertEquals(0, d.get("h3").stop());
        cluster.etcd().etcdctl("del", PREFIX + "/subnets/" + d.get("h3").keyName()).check();
        Daemons.Running h4 = daemon(fabric.addHost("h4", "198.18.0.4/16"), cluster.etcd().endpoint());
        h4.awaitSubnetFile(Duration.ofSeconds(60));
        h4.awaitLog("backend vxlan started");
        long restart = System.nanoTime();
        Daemons.Running h1Again = daemon(fabric.host("h1"), cluster.etcd().endpoint());
        h1Again.awaitLog("backend vxlan started", Duration.ofSeconds(60));
        double recovery = (System.nanoTime() - restart) / 1e9;
        Thread.sleep(1000);
        PingRun.Result lost = stopPing();

        assertEquals(subnet, h1Again.subnet());
        assertEquals(mac, flannelMac(fabric.host("h1")), "the device and its MAC survive");
        Map<String, Daemons.Running> peers = new LinkedHashMap<>();
        peers.put("h2", d.get("h2"));
        peers.put("h4", h4);
        NetnsFabric.Host host1 = fabric.host("h1");
        assertEquals(peers.values().stream().map(FaultIT::net).collect(Collectors.toSet()), routes(host1), "routes: h2 and h4, nothing of h3");
        Set<String> arp = peers.values().stream().map(p -> gateway(p) + " " + vtepMac(p)).collect(Collectors.toSet());
        Set<String> fdb = peers.values().stream().map(p -> vtepMac(p) + " " + p.host().ip()).collect(Collectors.toSet());
        List<String> arpLines = arp(host1);
        List<String> fdbLines = fdb(host1);
        assertEquals(arp, Set.copyOf(arpLines), "ARP entries");
        assertEquals(2, arpLines.size(), "no duplicate ARP entry: " + arpLines);
        assertEquals(fdb, Set.copyOf(fdbLines), "FDB entries");
        assertEquals(2, fdbLines.size(), "no duplicate FDB entry: " + fdbLines);
        assertEquals(2, host1.exec("ip", "route", "show", "dev", "flannel.1").stdout().lines().count(), "no duplicate route");
        assertEquals(0, lost.lost(), lost.summary());
        Pods.assertAllReachEachOther(Map.of("h1", pods.get("h1"), "h2", pods.get("h2"), "h4", cluster.pods().attach(fabric.host("h4"), h4)));
        FaultReport.add(new FaultReport.Line("daemon SIGKILLed",
                "h1's daemon SIGKILLed; while it was dead h3 left (key deleted) and h4 joined; h1 restarted",
                lost.sent(), lost.lost(), recovery, "the restarted daemon's backend running, reconciled", false,
                "same subnet and VTEP MAC; h1 holds exactly 2 routes, 2 ARP and 2 FDB entries (h2, h4), none of h3"));
    }

    @Test
    @Order(5)
    @Timeout(value = 150, unit = TimeUnit.SECONDS)
    void hostDisappearsAndItsLeaseExpires() throws Exception {
        cluster = startCluster();
        NetnsFabric fabric = cluster.fabric();
        Map<String, Daemons.Running> d = startHosts(fabric, cluster.etcd().endpoint(), 3, "--subnet-lease-ttl", "15s");
        Map<String, Pods.Pod> pods = attachPods(fabric, cluster.pods(), d);
        Daemons.Running h3 = d.get("h3");
        String h3Net = net(h3);
        String h3Mac = vtepMac(h3);
        awaitRoutes(fabric, List.of("h1", "h2"), h3Net, true, Duration.ofSeconds(20));
        Map<String, String> survivors = leaseRecords(this::etcdctl, Map.of("h1", d.get("h1"), "h2", d.get("h2")));
        ping = PingRun.start(pods.get("h1").netns(), pods.get("h2").ip(), dir.resolve("ping.out"));
        Thread.sleep(1000);

        h3.kill();
        fabric.host("h3").exec("ip", "link", "set", "eth0", "down").check();
        long gone = System.nanoTime();
        Wait.until(Duration.ofSeconds(45), Duration.ofMillis(100), "h3's key expired",
                () -> cluster.leaseValue(h3.keyName()).isEmpty());
        double expired = (System.nanoTime() - gone) / 1e9;
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "h3's route, ARP and FDB entries gone from h1 and h2",
                () -> List.of("h1", "h2").stream().map(fabric::host).allMatch(h -> !routes(h).contains(h3Net)
                        && arp(h).stream().noneMatch(l -> l.startsWith(gateway(h3) + " "))
                        && fdb(h).stream().noneMatch(l -> l.startsWith(h3Mac))));
        double removed = (System.nanoTime() - gone) / 1e9;
        PingRun.Result lost = stopPing();

        assertEquals(survivors, leaseRecords(this::etcdctl, Map.of("h1", d.get("h1"), "h2", d.get("h2"))),
                "the live hosts renewed their 15 s leases and kept them");
        for (String h : List.of("h1", "h2")) {
            assertTrue(d.get(h).process().isAlive());
            assertEquals(1, routes(fabric.host(h)).size(), h + " routes only to the other live host");
        }
        assertEquals(0, lost.lost(), lost.summary());
        FaultReport.add(new FaultReport.Line("host disappears",
                "TTL 15 s; h3's daemon SIGKILLed and its link set down, so nothing renews its lease",
                lost.sent(), lost.lost(), removed, "h3's route, ARP and FDB entries removed on h1 and h2", false,
                String.format("h3's key expired %.1f s after it vanished; h1 and h2 kept their leases", expired)));
    }

    /**
     * Kernel state and rules broken under running daemons, each while h1's pod pings h2's pod 10 times a second: the
     * routes on flannel.1 flushed, flannel.1 deleted, the masquerade and forward chains flushed (on a host whose
     * FORWARD policy is DROP, as Docker leaves it), a peer's ARP entry replaced with a wrong MAC. Each must be put back
     * by the daemon within 10 s without a restart; the time to repair and the pings lost are the fault table's.
     */
    @Test
    @Order(6)
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void kernelStateBrokenBySomeoneElseIsRepaired() throws Exception {
        cluster = startCluster();
        Map<String, Daemons.Running> d = startHosts(cluster.fabric(), cluster.etcd().endpoint(), 2, "--ip-masq");
        Map<String, Pods.Pod> pods = attachPods(cluster.fabric(), cluster.pods(), d);
        NetnsFabric.Host h1 = cluster.fabric().host("h1");
        NetnsFabric.Host h2 = cluster.fabric().host("h2");
        // As Docker leaves a node: forwarded traffic is dropped unless a rule accepts it.
        h2.exec("iptables", "-P", "FORWARD", "DROP").check();
        Pods.assertAllReachEachOther(pods);
        long pid1 = d.get("h1").process().pid();
        long pid2 = d.get("h2").process().pid();
        String mac1 = vtepMac(d.get("h1"));
        String h2Net = net(d.get("h2"));
        String h2Gateway = gateway(d.get("h2"));
        String h2Mac = vtepMac(d.get("h2"));

        repairFault("routes flushed", "ip route flush dev flannel.1 on h1", pods,
                () -> h1.exec("ip", "route", "flush", "dev", "flannel.1").check(),
                () -> routes(h1).contains(h2Net), "h1's route to h2's subnet put back", "route", d.get("h1"));

        repairFault("flannel.1 deleted", "ip link del flannel.1 on h1", pods,
                () -> h1.exec("ip", "link", "del", "flannel.1").check(),
                () -> h1.exec("ip", "link", "show", "flannel.1").ok() && routes(h1).contains(h2Net)
                        && arp(h1).contains(h2Gateway + " " + h2Mac),
                "flannel.1 re-created with its MAC, h2's route, ARP and FDB entries back", "device", d.get("h1"));
        assertEquals(mac1, vtepMac(d.get("h1")), "flannel.1 came back with the MAC its lease publishes");

        String masqRule = "-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000";
        repairFault("masquerade and forward rules flushed", "iptables -t nat -F FLANNEL-POSTRTG; iptables -F FLANNEL-FWD on h2 "
                        + "(FORWARD policy DROP)", pods,
                () -> {
                    h2.exec("iptables", "-t", "nat", "-F", "FLANNEL-POSTRTG").check();
                    h2.exec("iptables", "-F", "FLANNEL-FWD").check();
                },
                () -> h2.exec("iptables", "-S", "FLANNEL-FWD").stdout().contains("-j ACCEPT")
                        && h2.exec("iptables", "-t", "nat", "-S", "FLANNEL-POSTRTG").stdout().contains(masqRule),
                "both chains' rules put back in order", "forward_rules", d.get("h2"));

        repairFault("ARP entry replaced", "ip neigh replace <h2's gateway> lladdr 02:00:00:00:00:99 on h1", pods,
                () -> h1.exec("ip", "neigh", "replace", h2Gateway, "lladdr", "02:00:00:00:00:99", "dev", "flannel.1", "nud", "permanent").check(),
                () -> arp(h1).contains(h2Gateway + " " + h2Mac), "the ARP entry has h2's VtepMAC again", "arp", d.get("h1"));

        assertEquals(pid1, d.get("h1").process().pid(), "no restart");
        assertEquals(pid2, d.get("h2").process().pid(), "no restart");
        assertTrue(d.get("h1").logText().contains("Repaired flannel.1: it was deleted"), d.get("h1").logText());
        assertTrue(d.get("h2").logText().contains("repaired forward_rules: put back missing rules in iptables filter/FLANNEL-FWD"),
                d.get("h2").logText());
        assertTrue(d.get("h2").logText().contains("repaired ip_masq: put back missing rules in iptables nat/FLANNEL-POSTRTG"),
                d.get("h2").logText());
    }

    /**
     * Breaks something with {@code inject} while h1's pod pings h2's, waits until {@code repaired} holds, then for the
     * pings to flow again, and writes the fault's line: pings lost, seconds from the break to the repair.
     */
    private void repairFault(String fault, String done, Map<String, Pods.Pod> pods, Runnable inject,
                             java.util.function.BooleanSupplier repaired, String what, String metricWhat, Daemons.Running daemon)
            throws Exception {
        double before = repairs(daemon, metricWhat);
        ping = PingRun.start(pods.get("h1").netns(), pods.get("h2").ip(), dir.resolve("ping-" + metricWhat + ".out"));
        Thread.sleep(1000);
        long broken = System.nanoTime();
        inject.run();
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(20), fault + ": " + what, repaired);
        double seconds = (System.nanoTime() - broken) / 1e9;
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), fault + ": pods reach each other again",
                () -> pods.get("h1").ping(pods.get("h2").ip(), 1).ok());
        Thread.sleep(1000);
        PingRun.Result lost = stopPing();
        double after = repairs(daemon, metricWhat);
        assertTrue(after > before, "flannel_repairs_total{what=\"" + metricWhat + "\"} counted it: " + before + " -> " + after);
        FaultReport.add(new FaultReport.Line(fault, done, lost.sent(), lost.lost(), seconds, what + " by the running daemon", false,
                "no restart; one INFO line and flannel_repairs_total{what=\"" + metricWhat + "\"} per repair"));
    }

    private static double repairs(Daemons.Running daemon, String what) {
        String metrics = Daemons.httpGet(daemon.host(), 8471, "/metrics");
        return metrics.lines().filter(l -> l.startsWith("flannel_repairs_total{") && l.contains("what=\"" + what + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    // ---- helpers ----

    private static DaemonCluster startCluster() {
        DaemonCluster c = DaemonCluster.start();
        c.config(VXLAN);
        return c;
    }

    private Cmd.Result etcdctl(String... args) {
        return cluster.etcd().etcdctl(args);
    }

    private Daemons.Running daemon(NetnsFabric.Host host, String endpoints, String... extra) {
        String[] args = new String[extra.length + 4];
        System.arraycopy(new String[] {"--healthz-ip", "127.0.0.1", "--healthz-port", "8471"}, 0, args, 0, 4);
        System.arraycopy(extra, 0, args, 4, extra.length);
        return Daemons.start(host, dir.resolve(host.name()), endpoints, args);
    }

    /** Hosts h1..hN at 198.18.0.1.., one daemon each, every one with its backend running. */
    private Map<String, Daemons.Running> startHosts(NetnsFabric fabric, String endpoints, int n, String... extra) {
        Map<String, Daemons.Running> d = new LinkedHashMap<>();
        for (int i = 1; i <= n; i++) {
            d.put("h" + i, daemon(fabric.addHost("h" + i, "198.18.0." + i + "/16"), endpoints, extra));
        }
        for (Daemons.Running r : d.values()) {
            r.awaitSubnetFile(Duration.ofSeconds(60));
            r.awaitLog("backend vxlan started", Duration.ofSeconds(60));
        }
        for (Daemons.Running r : d.values()) {
            Wait.until(Duration.ofSeconds(20), Duration.ofMillis(100), r.host().name() + " routes to every other host",
                    () -> routes(r.host()).size() == n - 1);
        }
        return d;
    }

    private static Map<String, Pods.Pod> attachPods(NetnsFabric fabric, Pods pods, Map<String, Daemons.Running> d) {
        Map<String, Pods.Pod> all = new LinkedHashMap<>();
        for (var e : d.entrySet()) {
            all.put(e.getKey(), pods.attach(fabric.host(e.getKey()), e.getValue()));
        }
        Pods.assertAllReachEachOther(all);
        return all;
    }

    private PingRun.Result stopPing() throws InterruptedException {
        PingRun.Result r = ping.stop();
        ping = null;
        return r;
    }

    /** Per host: its key, value and the etcd lease it is bound to. */
    private static Map<String, String> leaseRecords(Function<String[], Cmd.Result> etcdctl, Map<String, Daemons.Running> d) {
        Map<String, String> out = new LinkedHashMap<>();
        for (var e : d.entrySet()) {
            String key = PREFIX + "/subnets/" + e.getValue().keyName();
            String json = etcdctl.apply(new String[] {"get", key, "-w", "json"}).check().stdout();
            Matcher m = LEASE_ID.matcher(json);
            String value = etcdctl.apply(new String[] {"get", key, "--print-value-only"}).check().stdout().strip();
            out.put(e.getKey(), key + " = " + value + " lease=" + (m.find() ? m.group(1) : "none"));
        }
        return out;
    }

    private static Map<String, String> subnets(Map<String, Daemons.Running> d) {
        return d.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().subnet()));
    }

    private static Map<String, Double> renewals(Map<String, Daemons.Running> d) {
        return d.entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
                e -> Daemons.metric(Daemons.httpGet(e.getValue().host(), 8471, "/metrics"), "flannel_lease_renewals_total")));
    }

    private static List<String> warnLines(Daemons.Running r) {
        return r.logText().lines().filter(l -> l.contains(" WARN ")).toList();
    }

    /** A host's subnet as a route destination, e.g. 198.19.7.0/24. */
    private static String net(Daemons.Running r) {
        return r.keyName().replace('-', '/');
    }

    private static String gateway(Daemons.Running r) {
        String k = r.keyName();
        return k.substring(0, k.indexOf('-'));
    }

    /** A host's VtepMAC: its flannel.1's MAC, which the lease publishes. */
    private static String vtepMac(Daemons.Running r) {
        return flannelMac(r.host());
    }

    private static String flannelMac(NetnsFabric.Host host) {
        return host.exec("ip", "-o", "link", "show", "flannel.1").check().stdout().replaceAll("(?s).*link/ether ([0-9a-f:]+).*", "$1");
    }

    private static Set<String> routes(NetnsFabric.Host host) {
        return host.exec("ip", "route", "show", "dev", "flannel.1").stdout().lines()
                .filter(l -> !l.isBlank()).map(l -> l.split(" ")[0]).collect(Collectors.toSet());
    }

    /** "198.19.7.0 aa:bb:…" per ARP entry on flannel.1. */
    private static List<String> arp(NetnsFabric.Host host) {
        return host.exec("ip", "neigh", "show", "dev", "flannel.1").stdout().lines().filter(l -> l.contains(" lladdr "))
                .map(l -> l.split(" ")[0] + " " + l.split(" ")[2]).toList();
    }

    /** "aa:bb:… 198.18.0.2" per FDB entry with a destination on flannel.1. */
    private static List<String> fdb(NetnsFabric.Host host) {
        return host.exec("bridge", "fdb", "show", "dev", "flannel.1").stdout().lines().filter(l -> l.contains(" dst "))
                .map(l -> l.split(" ")[0] + " " + l.replaceAll(".* dst (\\S+).*", "$1")).toList();
    }

    private static void awaitRoutes(NetnsFabric fabric, List<String> hosts, String net, boolean present, Duration timeout) {
        Wait.until(timeout, Duration.ofMillis(50), String.join(",", hosts) + (present ? " route to " : " no route to ") + net,
                () -> hosts.stream().allMatch(h -> routes(fabric.host(h)).contains(net) == present));
    }

    private static String readQuietly(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
