package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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

/**
 * {@code flanneld-java doctor} on namespace hosts running the vxlan backend: on a healthy node every check is ok and
 * the exit status 0; then each test breaks exactly one thing on h1 (and puts it back), and doctor must name it, with
 * its evidence, and exit 1. One etcd and three daemons serve the whole class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DoctorIT {
    private static final int HEALTHZ = 8471;
    private DaemonCluster cluster;
    private NetnsFabric.Host h1;
    private final Map<String, Daemons.Running> daemons = new LinkedHashMap<>();

    @TempDir
    static Path dir;

    @BeforeAll
    void cluster() {
        cluster = DaemonCluster.start();
        cluster.config(DaemonCluster.networkConfig("vxlan"));
        for (int i = 1; i <= 3; i++) {
            cluster.fabric().addHost("h" + i, "198.18.0." + i + "/16");
        }
        h1 = cluster.fabric().host("h1");
        daemons.put("h1", startH1());
        daemons.put("h2", Daemons.start(cluster.fabric().host("h2"), dir.resolve("h2"), cluster.etcd().endpoint()));
        daemons.put("h3", Daemons.start(cluster.fabric().host("h3"), dir.resolve("h3"), cluster.etcd().endpoint()));
        for (var e : daemons.entrySet()) {
            e.getValue().awaitSubnetFile();
            e.getValue().awaitLog("backend vxlan started");
            cluster.pods().attach(cluster.fabric().host(e.getKey()), e.getValue());
        }
        Wait.until(Duration.ofSeconds(20), Duration.ofMillis(100), "every host routes to the two others",
                () -> daemons.keySet().stream().allMatch(h -> routes(cluster.fabric().host(h)) == 2));
    }

    @AfterAll
    void teardown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private Daemons.Running startH1(String... extra) {
        List<String> args = new ArrayList<>(List.of("--healthz-ip", "127.0.0.1", "--healthz-port", Integer.toString(HEALTHZ),
                "--cni-conf-dir", dir.resolve("cni").toString()));
        args.addAll(List.of(extra));
        Daemons.Running d = Daemons.start(h1, dir.resolve("h1"), cluster.etcd().endpoint(), args.toArray(String[]::new));
        d.awaitSubnetFile();
        d.awaitLog("backend vxlan started");
        return d;
    }

    private void restartH1(String... extra) throws InterruptedException {
        Daemons.Running old = daemons.get("h1");
        if (old.process().isAlive()) {
            assertEquals(0, old.stop());
        }
        daemons.put("h1", startH1(extra));
        Wait.until(Duration.ofSeconds(20), Duration.ofMillis(100), "h1 routes to the two others again", () -> routes(h1) == 2);
    }

    private static long routes(NetnsFabric.Host host) {
        return host.exec("ip", "route", "show", "dev", "flannel.1").stdout().lines().count();
    }

    private String subnet(String host) {
        return daemons.get(host).keyName().replace('-', '/');
    }

    /** The subnet's .0, e.g. 198.19.7.0. */
    private String gateway(String host) {
        String s = subnet(host);
        return s.substring(0, s.indexOf('/'));
    }

    /** doctor on h1 with the daemon's flags; its output is printed, for the README and for a failing test's reader. */
    private Cmd.Result doctor(String... extra) {
        List<String> cmd = new ArrayList<>(List.of("java", "-jar", Daemons.JAR.toString(), "doctor", "--etcd-endpoints", cluster.etcd().endpoint(),
                "--subnet-file", daemons.get("h1").subnetFile().toString(), "--iface", "eth0", "--healthz-ip", "127.0.0.1",
                "--healthz-port", Integer.toString(HEALTHZ), "--cni-conf-dir", dir.resolve("cni").toString()));
        cmd.addAll(List.of(extra));
        Cmd.Result r = h1.exec(Duration.ofSeconds(90), cmd.toArray(String[]::new));
        System.out.println("---- doctor " + String.join(" ", extra) + " (exit " + r.exitCode() + ")\n" + r.stdout() + r.stderr());
        return r;
    }

    /** The line of check {@code name}, which must have {@code status}. */
    private static String line(Cmd.Result r, String status, String name) {
        return r.stdout().lines().filter(l -> l.startsWith(String.format("%-4s %s: ", status, name))).findFirst()
                .orElseThrow(() -> new AssertionError("no \"" + status + " " + name + "\" line in:\n" + r.stdout() + r.stderr()));
    }

    /** Everything doctor printed below the line of check {@code name} (its details). */
    private static String details(Cmd.Result r, String name) {
        List<String> lines = r.stdout().lines().toList();
        StringBuilder s = new StringBuilder();
        boolean in = false;
        for (String l : lines) {
            if (l.matches("^(ok|warn|FAIL)\\s+" + java.util.regex.Pattern.quote(name) + ": .*")) {
                in = true;
            } else if (in && l.startsWith("       ")) {
                s.append(l.strip()).append('\n');
            } else if (in) {
                break;
            }
        }
        return s.toString();
    }

    private static void assertOnlyFailures(Cmd.Result r, String... names) {
        List<String> failing = r.stdout().lines().filter(l -> l.startsWith("FAIL ")).map(l -> l.substring(5, l.indexOf(':'))).toList();
        assertEquals(List.of(names), failing, r.stdout());
        assertEquals(1, r.exitCode(), r.stdout() + r.stderr());
    }

    @Test
    @Order(1)
    void onAHealthyNodeEveryCheckIsOkAndTheExitStatusZero() throws Exception {
        Cmd.Result r = doctor("--probe");
        assertEquals(0, r.exitCode(), r.stdout() + r.stderr());
        assertFalse(r.stdout().lines().anyMatch(l -> l.startsWith("FAIL") || l.startsWith("warn")), r.stdout());
        String pid = Long.toString(daemons.get("h1").process().pid());
        assertTrue(line(r, "ok", "daemon").contains("flanneld-java running, pid " + pid), r.stdout());
        assertTrue(line(r, "ok", "healthz").contains("answers 200"), r.stdout());
        assertTrue(line(r, "ok", "lease").contains(subnet("h1") + " held for 198.18.0.1 (this node), expires in 2"), r.stdout());
        assertTrue(line(r, "ok", "subnet.env").contains("FLANNEL_MTU 1450"), r.stdout());
        assertTrue(line(r, "ok", "cni").contains("host-local over " + subnet("h1")), r.stdout());
        line(r, "ok", "ip_forward");
        line(r, "ok", "forward rules");
        line(r, "ok", "rp_filter");
        assertTrue(line(r, "ok", "device").contains("flannel.1: VNI 1, port 8472, local 198.18.0.1 on eth0"), r.stdout());
        assertTrue(line(r, "ok", "data path").contains("for all 2 other lease(s)"), r.stdout());
        assertTrue(line(r, "ok", "cni0").contains("MTU 1450"), r.stdout());
        assertTrue(line(r, "ok", "probe").contains("all 2 peer(s) answered"), r.stdout());
        assertTrue(details(r, "probe").contains(gateway("h2") + " answered 3/3"), r.stdout());

        Cmd.Result json = doctor("--json");
        assertEquals(0, json.exitCode());
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json.stdout());
        assertTrue(tree.get("ok").asBoolean(), json.stdout());
        assertEquals("ok", tree.get("checks").get(0).get("status").asText());
    }

    @Test
    @Order(2)
    void ipForwardingOff() {
        h1.exec("sysctl", "-qw", "net.ipv4.ip_forward=0").check();
        try {
            Cmd.Result r = doctor();
            assertOnlyFailures(r, "ip_forward");
            assertTrue(line(r, "FAIL", "ip_forward").contains("net.ipv4.ip_forward = 0") && r.stdout().contains("fix: sysctl -w net.ipv4.ip_forward=1"),
                    r.stdout());
        } finally {
            h1.exec("sysctl", "-qw", "net.ipv4.ip_forward=1").check();
        }
    }

    @Test
    @Order(3)
    void forwardPolicyDropWithTheForwardRulesDisabled() throws Exception {
        restartH1("--iptables-forward-rules=false");
        h1.exec("iptables", "-P", "FORWARD", "DROP").check();
        try {
            Cmd.Result r = doctor();
            assertOnlyFailures(r, "forward rules");
            String fail = line(r, "FAIL", "forward rules");
            assertTrue(fail.contains("FORWARD policy DROP and no FLANNEL-FWD jump: forwarded pod traffic is dropped (iptables -S FORWARD: -P FORWARD DROP)"), fail);
            assertTrue(fail.contains("fix: restart flanneld-java without --iptables-forward-rules=false, or iptables -A FORWARD -s 198.19.0.0/16 -j ACCEPT"),
                    fail);
        } finally {
            h1.exec("iptables", "-P", "FORWARD", "ACCEPT").check();
            restartH1();
        }
    }

    @Test
    @Order(4)
    void strictRpFilterOnAnAsymmetricPath() {
        h1.exec("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1").check();
        String half = gateway("h2") + "/25";
        try {
            Cmd.Result symmetric = doctor();
            assertEquals(0, symmetric.exitCode(), symmetric.stdout());
            assertTrue(line(symmetric, "ok", "rp_filter").contains("strict on flannel.1"), symmetric.stdout());

            // Half of h2's subnet now routed back through the underlay: h2's pods' packets still arrive on flannel.1.
            h1.exec("ip", "route", "add", half, "via", "198.18.0.2", "dev", "eth0").check();
            Cmd.Result r = doctor();
            assertOnlyFailures(r, "rp_filter");
            assertTrue(line(r, "FAIL", "rp_filter").contains("drops packets from 1 peer(s) arriving on flannel.1 (net.ipv4.conf.all.rp_filter=1"),
                    r.stdout());
            String why = details(r, "rp_filter");
            assertTrue(why.contains(subnet("h2") + " (198.18.0.2) arrives on flannel.1, rp_filter 1 (strict), but the route back leaves by eth0 (ip route get "),
                    why);
            assertTrue(why.contains("via 198.18.0.2 dev eth0"), why);
            assertFalse(why.contains(subnet("h3")), why);
        } finally {
            h1.exec("ip", "route", "del", half);
            h1.exec("sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0").check();
        }
    }

    @Test
    @Order(5)
    void aDocker0BridgeOnAnotherSubnet() {
        h1.exec("ip", "link", "add", "docker0", "type", "bridge").check();
        try {
            h1.exec("ip", "addr", "add", "198.19.0.1/24", "dev", "docker0").check();
            Cmd.Result r = doctor();
            assertOnlyFailures(r, "docker0");
            String fail = line(r, "FAIL", "docker0");
            assertTrue(fail.contains("docker0 has 198.19.0.1/24, outside this node's subnet " + subnet("h1")
                    + ": Docker started before flannel and kept its own --bip"), fail);
            assertTrue(fail.contains("--bip=" + gateway("h1").replaceAll("0$", "1") + "/24 --mtu=1450"), fail);
        } finally {
            h1.exec("ip", "link", "del", "docker0");
        }
    }

    @Test
    @Order(6)
    void aBridgeMtuAboveFlannelMtu() {
        h1.exec("ip", "link", "set", "cni0", "mtu", "1500").check();
        try {
            Cmd.Result r = doctor();
            assertOnlyFailures(r, "cni0");
            assertTrue(line(r, "FAIL", "cni0").contains("cni0 has MTU 1500, above FLANNEL_MTU 1450"), r.stdout());
            assertTrue(line(r, "FAIL", "cni0").contains("fix: ip link set cni0 mtu 1450"), r.stdout());
        } finally {
            h1.exec("ip", "link", "set", "cni0", "mtu", "1450").check();
        }
    }

    @Test
    @Order(7)
    void aDeletedRouteWhileTheDaemonIsDead() throws Exception {
        daemons.get("h1").kill();
        try {
            h1.exec("ip", "route", "del", subnet("h2"), "dev", "flannel.1").check();
            Cmd.Result r = doctor();
            assertOnlyFailures(r, "daemon", "healthz", "data path");
            assertTrue(line(r, "FAIL", "daemon").contains("no flanneld-java (nor flanneld) process in this network namespace"), r.stdout());
            assertTrue(line(r, "FAIL", "data path").contains("1 entry missing and 0 stale, against 2 other lease(s) in etcd; fix: start flanneld-java"),
                    r.stdout());
            String entry = "missing for " + subnet("h2") + " (198.18.0.2): route " + subnet("h2") + " via " + gateway("h2")
                    + " dev flannel.1 onlink  → ip route replace " + subnet("h2") + " via " + gateway("h2") + " dev flannel.1 onlink";
            assertEquals(entry + "\n", details(r, "data path"), r.stdout());
        } finally {
            restartH1();
        }
    }

    @Test
    @Order(8)
    void aWrongVtepMacInTheLease() throws Exception {
        daemons.get("h1").kill();
        String key = DaemonCluster.PREFIX + "/subnets/" + daemons.get("h1").keyName();
        String mac = h1.exec("cat", "/sys/class/net/flannel.1/address").check().stdout().strip();
        try {
            String value = cluster.leaseValue(daemons.get("h1").keyName());
            cluster.etcd().etcdctl("put", "--ignore-lease", key, value.replace(mac, "02:42:de:ad:be:ef")).check();
            Cmd.Result r = doctor();
            assertOnlyFailures(r, "daemon", "healthz", "device");
            assertTrue(line(r, "FAIL", "device").contains("flannel.1 has MAC " + mac + " but the lease's VtepMAC is 02:42:de:ad:be:ef"), r.stdout());
        } finally {
            restartH1();
            Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "h1's lease carries its MAC again",
                    () -> cluster.leaseValue(daemons.get("h1").keyName()).contains(mac));
        }
    }

    @Test
    @Order(9)
    void aPeerThatDropsVxlanDoesNotAnswerTheProbe() {
        NetnsFabric.Host h3 = cluster.fabric().host("h3");
        h3.exec("iptables", "-I", "INPUT", "-p", "udp", "--dport", "8472", "-j", "DROP").check();
        try {
            Cmd.Result r = doctor("--probe");
            assertOnlyFailures(r, "probe");
            assertTrue(line(r, "FAIL", "probe").contains("1 of 2 peer(s) did not answer through the overlay; fix: check that UDP 8472 passes between "
                    + "198.18.0.1 and 198.18.0.3"), r.stdout());
            String d = details(r, "probe");
            assertTrue(d.contains(subnet("h2") + " (198.18.0.2): " + gateway("h2") + " answered 3/3"), d);
            assertTrue(d.contains(subnet("h3") + " (198.18.0.3): " + gateway("h3") + " did not answer 3 echo request(s)"), d);
        } finally {
            h3.exec("iptables", "-D", "INPUT", "-p", "udp", "--dport", "8472", "-j", "DROP");
        }
    }

    @Test
    @Order(10)
    void staleEntriesOfALeaseThatVanishedWhileTheDaemonWasDead() throws Exception {
        daemons.get("h1").kill();
        Daemons.Running h3 = daemons.get("h3");
        assertEquals(0, h3.stop());
        cluster.etcd().etcdctl("del", DaemonCluster.PREFIX + "/subnets/" + h3.keyName()).check();
        String h3Mac = cluster.fabric().host("h3").exec("cat", "/sys/class/net/flannel.1/address").check().stdout().strip();
        Cmd.Result r = doctor();
        assertOnlyFailures(r, "daemon", "healthz", "data path");
        assertTrue(line(r, "FAIL", "data path").contains("0 entries missing and 3 stale, against 1 other lease(s) in etcd"), r.stdout());
        String d = details(r, "data path");
        assertTrue(d.contains("stale, no lease accounts for it: route " + subnet("h3") + " via " + gateway("h3") + " dev flannel.1 onlink  → ip route del "),
                d);
        assertTrue(d.contains("stale, no lease accounts for it: arp " + gateway("h3") + " lladdr " + h3Mac + " dev flannel.1  → ip neigh del "
                + gateway("h3") + " dev flannel.1"), d);
        assertTrue(d.contains("stale, no lease accounts for it: fdb " + h3Mac + " dev flannel.1 dst 198.18.0.3  → bridge fdb del "), d);
        assertTrue(Files.exists(daemons.get("h1").subnetFile()));
    }
}
