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
 * Dual-stack and IPv6-only clusters end to end with the vxlan backend: namespace hosts with underlay addresses
 * 198.18.0.N/16 and 2001:2::N/64, the overlay 198.19.0.0/16 and 2001:2:19::/48, a pod per host with an address of
 * each family. Every pod reaches every other over both families, a joining host is reached over both, a deleted key
 * takes both families' entries with it, a restart keeps both subnets; an IPv6-only cluster has no flannel.1 at all.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DualStackDaemonIT {
    private static final String SUBNETS = DaemonCluster.PREFIX + "/subnets/";
    private static final String DUAL = "{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"vxlan\"}}";
    private static final String V6_ONLY = "{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"vxlan\"}}";
    private static final Pattern V6_SUBNET = Pattern.compile("(?m)^FLANNEL_IPV6_SUBNET=(2001:2:19:[0-9a-f]+::)1/64$");
    private static final Pattern V4_SUBNET = Pattern.compile("(?m)^FLANNEL_SUBNET=(198\\.19\\.\\d+\\.)1/24$");

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
    }

    @AfterEach
    void teardown() {
        cluster.close();
    }

    private NetnsFabric.Host host(int i) {
        NetnsFabric.Host h = fabric.addHost("h" + i, "198.18.0." + i + "/16");
        h.exec("ip", "-6", "addr", "add", "2001:2::" + i + "/64", "dev", h.iface(), "nodad").check();
        return h;
    }

    private Daemons.Running daemon(String name) {
        return Daemons.start(fabric.host(name), dir.resolve(name), etcd.endpoint(), "--healthz-ip", "127.0.0.1", "--healthz-port", "8471");
    }

    /** With the periodic check 10 minutes apart: whatever is put back within seconds was put back on a kernel notification. */
    private Daemons.Running daemonRepairingOnNotifications(String name) {
        return Daemons.start(fabric.host(name), dir.resolve(name), etcd.endpoint(), "--healthz-ip", "127.0.0.1", "--healthz-port", "8471",
                "--iptables-resync", "600");
    }

    private static String group(Pattern p, String env) {
        Matcher m = p.matcher(env);
        return m.find() ? m.group(1) : null;
    }

    /** The key name flannel writes for a dual-stack or IPv6-only node, from its subnet.env. */
    private static String keyName(Daemons.Running d) {
        String env = d.subnetEnv();
        String v4 = group(V4_SUBNET, env);
        return (v4 == null ? "0.0.0.0-0" : v4 + "0-24") + "&" + group(V6_SUBNET, env) + "-64";
    }

    /** Both families' kernel state of every host and the daemons' logs, for a failure's message. */
    private String state(Map<String, Daemons.Running> daemons) {
        StringBuilder sb = new StringBuilder();
        for (var e : daemons.entrySet()) {
            NetnsFabric.Host h = fabric.host(e.getKey());
            sb.append("== ").append(e.getKey()).append('\n');
            for (String[] cmd : new String[][] {{"ip", "-d", "link", "show"}, {"ip", "addr"}, {"ip", "route"}, {"ip", "-6", "route"},
                    {"ip", "neigh"}, {"ip", "-6", "neigh"}, {"bridge", "fdb", "show"}}) {
                sb.append("$ ").append(String.join(" ", cmd)).append('\n').append(h.exec(cmd).stdout());
            }
            sb.append(e.getValue().logText());
        }
        return sb.toString();
    }

    /** doctor on a host with its daemon's flags; printed, for a failing test's reader. */
    private Cmd.Result doctor(NetnsFabric.Host host, Daemons.Running d) {
        Cmd.Result r = host.exec(Duration.ofSeconds(90), "java", "-jar", Daemons.JAR.toString(), "doctor", "--etcd-endpoints", etcd.endpoint(),
                "--subnet-file", d.subnetFile().toString(), "--iface", "eth0", "--healthz-ip", "127.0.0.1", "--healthz-port", "8471");
        System.out.println("---- doctor (exit " + r.exitCode() + ")\n" + r.stdout() + r.stderr());
        return r;
    }

    /** The routes via a gateway in a listing (the peers' routes; not the kernel's own routes on the device). */
    private static long lines(NetnsFabric.Host h, String... cmd) {
        return h.exec(cmd).stdout().lines().filter(l -> l.contains(" via ")).count();
    }

    @Test
    void podsReachEachOtherOverBothFamiliesAndTheKernelFollowsTheLeases() throws Exception {
        cluster.config(DUAL);
        Map<String, Daemons.Running> daemons = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) {
            host(i);
            daemons.put("h" + i, daemonRepairingOnNotifications("h" + i));
        }
        Map<String, Pods.DualPod> all = new LinkedHashMap<>();
        for (var e : daemons.entrySet()) {
            e.getValue().awaitSubnetFile();
            String lease = etcd.etcdctl("get", SUBNETS + keyName(e.getValue()), "--print-value-only").check().stdout();
            assertTrue(lease.matches("(?s)\\{\"PublicIP\":\"198\\.18\\.0\\.\\d\",\"PublicIPv6\":\"2001:2::\\d\",\"BackendType\":\"vxlan\","
                    + "\"BackendData\":\\{\"VNI\":1,\"VtepMAC\":\"[0-9a-f:]{17}\"},\"BackendV6Data\":\\{\"VNI\":1,\"VtepMAC\":\"[0-9a-f:]{17}\"}}\\s*"),
                    lease);
            all.put(e.getKey(), pods.attachDualStack(fabric.host(e.getKey()), e.getValue()));
        }
        for (String h : daemons.keySet()) {
            daemons.get(h).awaitLog("backend vxlan started");
        }
        try {
            Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "every host has routes of both families to the two others",
                    () -> daemons.keySet().stream().allMatch(h -> lines(fabric.host(h), "ip", "route", "show", "dev", "flannel.1") == 2
                            && lines(fabric.host(h), "ip", "-6", "route", "show", "dev", "flannel-v6.1") == 2));
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + state(daemons), e);
        }
        Pods.assertAllReachEachOtherOverBothFamilies(all);

        // Someone flushes flannel-v6.1's routes and NDP entries on h2: a kernel notification about the IPv6 device
        // brings the daemon's check at once (the periodic one is 10 minutes away).
        NetnsFabric.Host h2Host = fabric.host("h2");
        long ndp = h2Host.exec("ip", "-6", "neigh", "show", "dev", "flannel-v6.1").stdout().lines().filter(l -> l.contains("PERMANENT")).count();
        assertEquals(2, ndp, h2Host.exec("ip", "-6", "neigh", "show", "dev", "flannel-v6.1").stdout());
        // One at a time: each notification alone must bring the check (IPv6 route and neighbour groups, both devices).
        h2Host.exec("ip", "-6", "route", "flush", "dev", "flannel-v6.1").check();
        try {
            Wait.until(Duration.ofSeconds(5), Duration.ofMillis(50), "h2's IPv6 routes put back",
                    () -> lines(h2Host, "ip", "-6", "route", "show", "dev", "flannel-v6.1") == 2);
            h2Host.exec("ip", "-6", "neigh", "flush", "dev", "flannel-v6.1", "nud", "permanent").check();
            Wait.until(Duration.ofSeconds(5), Duration.ofMillis(50), "h2's NDP entries put back",
                    () -> h2Host.exec("ip", "-6", "neigh", "show", "dev", "flannel-v6.1").stdout().lines()
                            .filter(l -> l.contains("PERMANENT")).count() == 2);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + state(daemons), e);
        }
        String repairs = Daemons.httpGet(h2Host, 8471, "/metrics");
        assertTrue(repairs.matches("(?s).*flannel_repairs_total\\{what=\"route_v6\"} 2\\.0.*")
                && repairs.matches("(?s).*flannel_repairs_total\\{what=\"ndp\"} 2\\.0.*"), repairs);
        Pods.assertAllReachEachOtherOverBothFamilies(all);

        NetnsFabric.Host h1Host = fabric.host("h1");
        // doctor on a dual-stack node: IPv6 forwarding and ip6tables' forward rules are checked beside IPv4's.
        Cmd.Result healthy = doctor(h1Host, daemons.get("h1"));
        assertEquals(0, healthy.exitCode(), "every check ok on a healthy dual-stack node: " + healthy.stdout() + healthy.stderr());
        assertTrue(healthy.stdout().contains("ok   device v6: flannel-v6.1: VNI 1, port 8472, local 2001:2::1 on eth0")
                && healthy.stdout().contains("ok   data path v6: IPv6 route, NDP and FDB entries for all 2 other lease(s) in etcd; nothing stale"),
                healthy.stdout());
        assertTrue(healthy.stdout().contains("ok   ip6_forward: net.ipv6.conf.all.forwarding = 1")
                && healthy.stdout().contains("ok   forward rules v6: FORWARD policy ACCEPT; FLANNEL-FWD accepts from and to 2001:2:19::/48"),
                healthy.stdout() + healthy.stderr());
        // ip6tables' FORWARD set to DROP and the jump to FLANNEL-FWD deleted (the periodic check that would put it
        // back is 10 minutes away; iptables sends no notification): doctor names it.
        h1Host.exec("ip6tables", "-P", "FORWARD", "DROP").check();
        h1Host.exec("ip6tables", "-D", "FORWARD", "-m", "comment", "--comment", "flanneld forward", "-j", "FLANNEL-FWD").check();
        try {
            Cmd.Result broken = doctor(h1Host, daemons.get("h1"));
            assertEquals(1, broken.exitCode(), broken.stdout() + broken.stderr());
            assertEquals(List.of("FAIL forward rules v6"), broken.stdout().lines().filter(l -> l.startsWith("FAIL "))
                    .map(l -> l.substring(0, l.indexOf(':'))).toList(), broken.stdout());
            assertTrue(broken.stdout().contains("FAIL forward rules v6: FORWARD policy DROP and no FLANNEL-FWD jump: forwarded IPv6 pod traffic "
                    + "is dropped (ip6tables -S FORWARD: -P FORWARD DROP)"), broken.stdout());
            assertTrue(broken.stdout().contains("ok   forward rules: "), "IPv4's rules are fine: " + broken.stdout());
        } finally {
            h1Host.exec("ip6tables", "-P", "FORWARD", "ACCEPT").check();
            h1Host.exec("ip6tables", "-I", "FORWARD", "1", "-m", "comment", "--comment", "flanneld forward", "-j", "FLANNEL-FWD").check();
        }

        String metrics = Daemons.httpGet(h1Host, 8471, "/metrics");
        assertTrue(metrics.contains("flannel_lease_subnet{family=\"ipv6\",subnet=\"" + group(V6_SUBNET, daemons.get("h1").subnetEnv()) + "/64\"} 1.0"),
                metrics);
        Cmd.Result table = h1Host.exec(Duration.ofSeconds(40), "java", "-jar", Daemons.JAR.toString(), "leases",
                "--etcd-endpoints", etcd.endpoint());
        assertEquals(0, table.exitCode(), table.stderr());
        assertTrue(table.stdout().startsWith("SUBNET              PUBLIC IP        IPV6 SUBNET               PUBLIC IPV6"), table.stdout());
        Cmd.Result status = h1Host.exec(Duration.ofSeconds(40), "java", "-jar", Daemons.JAR.toString(), "status",
                "--etcd-endpoints", etcd.endpoint(), "--subnet-file", daemons.get("h1").subnetFile().toString());
        assertEquals(0, status.exitCode(), status.stdout() + status.stderr());
        assertTrue(status.stdout().contains("PublicIPv6 2001:2::1") && status.stdout().contains("device (v6):  flannel-v6.1")
                && status.stdout().contains("forwarding6:  net.ipv6.conf.all.forwarding=1"), status.stdout());

        // A fourth host joins: reached over both families, and it reaches everyone.
        host(4);
        Daemons.Running h4 = daemon("h4");
        h4.awaitSubnetFile();
        h4.awaitLog("backend vxlan started");
        all.put("h4", pods.attachDualStack(fabric.host("h4"), h4));
        String h4v4 = group(V4_SUBNET, h4.subnetEnv()) + "0";
        String h4v6 = group(V6_SUBNET, h4.subnetEnv());
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "h1..h3 route to h4 over both families",
                () -> daemons.keySet().stream().allMatch(h -> !fabric.host(h).exec("ip", "route", "show", h4v4 + "/24").stdout().isBlank()
                        && !fabric.host(h).exec("ip", "-6", "route", "show", h4v6 + "/64").stdout().isBlank()));
        Pods.assertAllReachEachOtherOverBothFamilies(all);

        // Its key deleted (its daemon stopped first, or it would put the key back): both families' entries go everywhere.
        assertEquals(0, h4.stop());
        etcd.etcdctl("del", SUBNETS + keyName(h4)).check();
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(20), "h4's IPv4 and IPv6 entries removed from h1..h3",
                () -> daemons.keySet().stream().allMatch(h -> {
                    NetnsFabric.Host host = fabric.host(h);
                    return host.exec("ip", "route", "show", h4v4 + "/24").stdout().isBlank()
                            && host.exec("ip", "-6", "route", "show", h4v6 + "/64").stdout().isBlank()
                            && !host.exec("ip", "neigh", "show", "dev", "flannel.1").stdout().contains(h4v4 + " ")
                            && !host.exec("ip", "-6", "neigh", "show", "dev", "flannel-v6.1").stdout().contains(h4v6 + " ")
                            && !host.exec("bridge", "fdb", "show", "dev", "flannel-v6.1").stdout().contains("dst 2001:2::4 ")
                            && !host.exec("bridge", "fdb", "show", "dev", "flannel.1").stdout().contains("dst 198.18.0.4 ");
                }));
        all.remove("h4");

        // SIGKILL and restart: both subnets kept, entries of both families back, pods reach each other.
        Daemons.Running h1 = daemons.get("h1");
        String env = h1.subnetEnv();
        h1.kill();
        // While it is dead, someone deletes h2's IPv6 route on h1: doctor names it with the command that puts it back.
        String h2v6 = group(V6_SUBNET, daemons.get("h2").subnetEnv());
        h1Host.exec("ip", "-6", "route", "del", h2v6 + "/64", "dev", "flannel-v6.1").check();
        Cmd.Result dead = doctor(h1Host, h1);
        assertTrue(dead.stdout().contains("FAIL data path v6: 1 entry missing and 0 stale, against 2 other lease(s) in etcd"), dead.stdout());
        assertTrue(dead.stdout().contains("missing for " + h2v6 + "/64 (2001:2::2): route " + h2v6 + "/64 via " + h2v6 + " dev flannel-v6.1 onlink"
                + "  → ip -6 route replace " + h2v6 + "/64 via " + h2v6 + " dev flannel-v6.1 onlink"), dead.stdout());
        assertTrue(dead.stdout().contains("ok   data path: route, ARP and FDB entries for all 2 other lease(s)"), "IPv4's half is whole: " + dead.stdout());
        Daemons.Running h1Again = daemon("h1");
        h1Again.awaitLog("backend vxlan started");
        assertEquals(env, h1Again.subnetEnv(), "both subnets kept across the restart");
        assertEquals(2, lines(h1Host, "ip", "-6", "route", "show", "dev", "flannel-v6.1"), "no stale IPv6 route after the restart");
        assertEquals(2, lines(h1Host, "ip", "route", "show", "dev", "flannel.1"));
        Pods.assertAllReachEachOtherOverBothFamilies(all);
    }

    @Test
    void anIpv6OnlyClusterCarriesIpv6AloneWithoutFlannel1() throws Exception {
        cluster.config(V6_ONLY);
        Map<String, Daemons.Running> daemons = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) {
            host(i);
            daemons.put("h" + i, daemon("h" + i));
        }
        Map<String, Pods.DualPod> all = new LinkedHashMap<>();
        for (var e : daemons.entrySet()) {
            e.getValue().awaitSubnetFile();
            assertFalse(e.getValue().subnetEnv().contains("FLANNEL_SUBNET="), e.getValue().subnetEnv());
            assertTrue(keyName(e.getValue()).startsWith("0.0.0.0-0&2001:2:19:"), keyName(e.getValue()));
            all.put(e.getKey(), pods.attachDualStack(fabric.host(e.getKey()), e.getValue()));
        }
        for (String h : daemons.keySet()) {
            daemons.get(h).awaitLog("backend vxlan started");
        }
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "every host has IPv6 routes to the two others",
                () -> daemons.keySet().stream().allMatch(h -> lines(fabric.host(h), "ip", "-6", "route", "show", "dev", "flannel-v6.1") == 2));
        for (String h : daemons.keySet()) {
            assertFalse(fabric.host(h).exec("ip", "link", "show", "flannel.1").ok(), "no IPv4 device on an IPv6-only node");
        }
        try {
            Pods.assertAllReachEachOtherOverBothFamilies(all);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + state(daemons), e);
        }

        // doctor on an IPv6-only node: its lease, flannel-v6.1 and its entries, nothing about IPv4 or flannel.1.
        Cmd.Result doctor = doctor(fabric.host("h1"), daemons.get("h1"));
        assertEquals(0, doctor.exitCode(), doctor.stdout() + doctor.stderr());
        assertTrue(doctor.stdout().contains("ok   data path v6: IPv6 route, NDP and FDB entries for all 2 other lease(s) in etcd")
                && doctor.stdout().contains("(this node, IPv6 only)") && doctor.stdout().contains("IPv6Network 2001:2:19::/48 (IPv6 only)")
                && !doctor.stdout().contains("flannel.1") && !doctor.stdout().contains("ip_forward:"), doctor.stdout());

        Daemons.Running h2 = daemons.get("h2");
        String env = h2.subnetEnv();
        assertEquals(0, h2.stop());
        // Restarted with --ip-blackhole-route: a blackhole route for its IPv6 subnet, none for IPv4, gone at the stop.
        Daemons.Running again = Daemons.start(fabric.host("h2"), dir.resolve("h2"), etcd.endpoint(), "--healthz-ip", "127.0.0.1",
                "--healthz-port", "8471", "--ip-blackhole-route");
        again.awaitLog("backend vxlan started");
        assertEquals(env, again.subnetEnv(), "the IPv6 subnet kept across the restart");
        Pods.assertAllReachEachOtherOverBothFamilies(all);
        again.awaitLog("--ip-blackhole-route: blackhole route for " + group(V6_SUBNET, env) + "/64");
        NetnsFabric.Host h2Host = fabric.host("h2");
        assertTrue(h2Host.exec("ip", "-6", "route", "show", "type", "blackhole").stdout()
                .contains("blackhole " + group(V6_SUBNET, env) + "/64 dev lo"), h2Host.exec("ip", "-6", "route").stdout());
        assertEquals("", h2Host.exec("ip", "route", "show", "type", "blackhole").stdout().strip());
        assertEquals(0, again.stop());
        assertEquals("", h2Host.exec("ip", "-6", "route", "show", "type", "blackhole").stdout().strip(), "removed at a clean stop");
    }

    /** host-gw, dual-stack: each peer's IPv6 subnet routed via its PublicIPv6 on eth0 beside the IPv4 route; pods ping over both. */
    @Test
    void hostGwCarriesBothFamiliesWithPlainRoutes() throws Exception {
        cluster.config("{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
                + "\"Backend\":{\"Type\":\"host-gw\"}}");
        Map<String, Daemons.Running> daemons = new LinkedHashMap<>();
        for (int i = 1; i <= 2; i++) {
            host(i);
            daemons.put("h" + i, daemon("h" + i));
        }
        Map<String, Pods.DualPod> all = new LinkedHashMap<>();
        for (var e : daemons.entrySet()) {
            e.getValue().awaitSubnetFile();
            assertTrue(e.getValue().subnetEnv().contains("FLANNEL_MTU=1500"), e.getValue().subnetEnv());
            all.put(e.getKey(), pods.attachDualStack(fabric.host(e.getKey()), e.getValue()));
            e.getValue().awaitLog("backend host-gw started");
        }
        String h2v6 = group(V6_SUBNET, daemons.get("h2").subnetEnv());
        try {
            Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "h1 routes h2's IPv6 subnet via its PublicIPv6",
                    () -> fabric.host("h1").exec("ip", "-6", "route", "show", h2v6 + "/64").stdout().contains("via 2001:2::2 dev eth0"));
            Pods.assertAllReachEachOtherOverBothFamilies(all);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + state(daemons), e);
        }
    }

    /**
     * A node standing in for flannel's own dual-stack vxlan node: its key and value written exactly as flannel writes
     * them (MakeSubnetKey's dual-stack form; LeaseAttrs with PublicIPv6, BackendData and BackendV6Data), its devices
     * flannel.1 and flannel-v6.1 and its entries for our node programmed with ip/bridge as flannel's vxlan backend
     * programs them. Our daemon programs it over both families, and the pods reach each other over both.
     */
    @Test
    void aFlannelDualStackNodeAndOursCarryEachOthersTrafficInBothFamilies() throws Exception {
        cluster.config(DUAL);
        host(1);
        Daemons.Running ours = daemon("h1");
        ours.awaitSubnetFile();
        ours.awaitLog("backend vxlan started");

        NetnsFabric.Host flannel = host(9);
        flannel.exec("ip", "link", "add", "flannel.1", "type", "vxlan", "id", "1", "local", "198.18.0.9", "dev", "eth0", "dstport", "8472",
                "nolearning").check();
        flannel.exec("ip", "link", "add", "flannel-v6.1", "type", "vxlan", "id", "1", "local", "2001:2::9", "dev", "eth0", "dstport", "8472",
                "nolearning").check();
        flannel.exec("ip", "addr", "add", "198.19.9.0/32", "dev", "flannel.1").check();
        flannel.exec("ip", "-6", "addr", "add", "2001:2:19:9::/128", "dev", "flannel-v6.1", "nodad").check();
        flannel.exec("ip", "link", "set", "flannel.1", "up").check();
        flannel.exec("ip", "link", "set", "flannel-v6.1", "up").check();
        String mac4 = flannel.exec("cat", "/sys/class/net/flannel.1/address").check().stdout().strip();
        String mac6 = flannel.exec("cat", "/sys/class/net/flannel-v6.1/address").check().stdout().strip();
        etcd.etcdctl("put", SUBNETS + "198.19.9.0-24&2001:2:19:9::-64", "{\"PublicIP\":\"198.18.0.9\",\"PublicIPv6\":\"2001:2::9\","
                + "\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"" + mac4 + "\"},"
                + "\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"" + mac6 + "\"}}").check();

        // flannel's side: our node's entries, from our node's lease.
        var value = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                etcd.etcdctl("get", SUBNETS + keyName(ours), "--print-value-only").check().stdout());
        String v4 = group(V4_SUBNET, ours.subnetEnv()) + "0";
        String v6 = group(V6_SUBNET, ours.subnetEnv());
        String oursMac4 = value.get("BackendData").get("VtepMAC").asText();
        String oursMac6 = value.get("BackendV6Data").get("VtepMAC").asText();
        flannel.exec("ip", "neigh", "replace", v4, "lladdr", oursMac4, "dev", "flannel.1", "nud", "permanent").check();
        flannel.exec("bridge", "fdb", "replace", oursMac4, "dev", "flannel.1", "dst", "198.18.0.1", "self", "permanent").check();
        flannel.exec("ip", "route", "replace", v4 + "/24", "via", v4, "dev", "flannel.1", "onlink").check();
        flannel.exec("ip", "-6", "neigh", "replace", v6, "lladdr", oursMac6, "dev", "flannel-v6.1", "nud", "permanent").check();
        flannel.exec("bridge", "fdb", "replace", oursMac6, "dev", "flannel-v6.1", "dst", "2001:2::1", "self", "permanent").check();
        flannel.exec("ip", "-6", "route", "replace", v6 + "/64", "via", v6, "dev", "flannel-v6.1", "onlink").check();

        Map<String, Pods.DualPod> all = new LinkedHashMap<>();
        all.put("h1", pods.attachDualStack(fabric.host("h1"), ours));
        all.put("flannel", pods.attachDualStack(flannel, "FLANNEL_NETWORK=198.19.0.0/16\nFLANNEL_SUBNET=198.19.9.1/24\n"
                + "FLANNEL_IPV6_NETWORK=2001:2:19::/48\nFLANNEL_IPV6_SUBNET=2001:2:19:9::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n"));
        NetnsFabric.Host h1 = fabric.host("h1");
        Map<String, Daemons.Running> daemons = Map.of("h1", ours);
        try {
            Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "our node programs flannel's node over both families",
                    () -> h1.exec("ip", "route", "show", "198.19.9.0/24").stdout().contains("via 198.19.9.0 dev flannel.1 onlink")
                            && h1.exec("ip", "-6", "route", "show", "2001:2:19:9::/64").stdout().contains("via 2001:2:19:9:: dev flannel-v6.1")
                            && h1.exec("bridge", "fdb", "show", "dev", "flannel-v6.1").stdout().contains(mac6 + " dst 2001:2::9 ")
                            && h1.exec("ip", "-6", "neigh", "show", "dev", "flannel-v6.1").stdout().contains("2001:2:19:9:: lladdr " + mac6));
            Pods.assertAllReachEachOtherOverBothFamilies(all);
        } catch (AssertionError e) {
            throw new AssertionError(e.getMessage() + "\n" + state(daemons), e);
        }
    }
}
