package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.NetnsFabric;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged daemon with a config enabling IPv6, on namespace hosts with an IPv6 underlay address (2001:2::/48), the
 * alloc backend (leases only, so these tests need no data path): one dual-stack key in flannel's form with PublicIPv6,
 * subnet.env and the CNI conflist with both families, both subnets kept across a restart, --public-ipv6; an IPv6-only
 * node's key, value and subnet.env; a host without a global IPv6 address refused naming its interface.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class Ipv6LeaseDaemonIT {
    private static final String SUBNETS = DaemonCluster.PREFIX + "/subnets/";
    private static final String DUAL = "{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"alloc\"}}";
    private static final String V6_ONLY = "{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"alloc\"}}";
    private static final Pattern DUAL_ENV = Pattern.compile("FLANNEL_NETWORK=198\\.19\\.0\\.0/16\nFLANNEL_SUBNET=198\\.19\\.(\\d+)\\.1/24\n"
            + "FLANNEL_IPV6_NETWORK=2001:2:19::/48\nFLANNEL_IPV6_SUBNET=2001:2:19:([0-9a-f]+)::1/64\nFLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n");

    @TempDir
    Path dir;
    private DaemonCluster cluster;

    @AfterEach
    void teardown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private NetnsFabric.Host host(String name, String v4, String v6) {
        NetnsFabric.Host h = cluster.fabric().addHost(name, v4);
        if (v6 != null) {
            h.exec("ip", "-6", "addr", "add", v6, "dev", h.iface(), "nodad").check();
        }
        return h;
    }

    private String keys() {
        return cluster.etcd().etcdctl("get", "--prefix", SUBNETS, "--keys-only").check().stdout().strip();
    }

    private String value(String keyName) {
        return cluster.etcd().etcdctl("get", SUBNETS + keyName, "--print-value-only").check().stdout().strip();
    }

    @Test
    void dualStackLeasesOneKeyWithBothSubnetsAndKeepsThemAcrossARestart() throws Exception {
        cluster = DaemonCluster.start();
        cluster.config(DUAL);
        NetnsFabric.Host h1 = host("h1", "198.18.0.1/16", "2001:2::1/64");
        Path cni = dir.resolve("h1/cni");
        Daemons.Running d = Daemons.start(h1, dir.resolve("h1"), cluster.etcd().endpoint(), "--cni-conf-dir", cni.toString());
        d.awaitSubnetFile();
        d.awaitLog("running;");
        Matcher env = DUAL_ENV.matcher(d.subnetEnv());
        assertTrue(env.matches(), "flannel's variables in flannel's order:\n" + d.subnetEnv());
        String v4 = "198.19." + env.group(1) + ".0";
        String v6 = "2001:2:19:" + env.group(2) + "::";
        String key = v4 + "-24&" + v6 + "-64";
        assertEquals(SUBNETS + key, keys(), "one dual-stack key in flannel's form");
        assertEquals("{\"PublicIP\":\"198.18.0.1\",\"PublicIPv6\":\"2001:2::1\",\"BackendType\":\"alloc\"}", value(key));
        String conflist = Files.readString(cni.resolve(CniConfig.FILE_NAME));
        assertTrue(conflist.contains("\"subnet\" : \"" + v4 + "/24\"") && conflist.contains("\"subnet\" : \"" + v6 + "/64\"")
                && conflist.contains("\"dst\" : \"2001:2:19::/48\""), conflist);
        assertTrue(d.logText().contains("wrote " + d.subnetFile() + ": subnet " + v4 + "/24 and " + v6 + "/64"), d.logText());
        String before = d.subnetEnv();

        assertEquals(0, d.stop());
        Daemons.Running again = Daemons.start(h1, dir.resolve("h1"), cluster.etcd().endpoint(), "--cni-conf-dir", cni.toString());
        again.awaitLog("running;");
        assertEquals(before, again.subnetEnv(), "both subnets kept across the restart");
        assertEquals(SUBNETS + key, keys());

        // A second host with --public-ipv6: another pair of subnets, its PublicIPv6 as given.
        NetnsFabric.Host h2 = host("h2", "198.18.0.2/16", "2001:2::2/64");
        Daemons.Running d2 = Daemons.start(h2, dir.resolve("h2"), cluster.etcd().endpoint(), "--public-ipv6", "2001:2::22");
        d2.awaitLog("running;");
        Matcher env2 = DUAL_ENV.matcher(d2.subnetEnv());
        assertTrue(env2.matches(), d2.subnetEnv());
        String key2 = "198.19." + env2.group(1) + ".0-24&2001:2:19:" + env2.group(2) + "::-64";
        assertTrue(!env2.group(1).equals(env.group(1)) && !env2.group(2).equals(env.group(2)), "distinct subnets");
        assertEquals("{\"PublicIP\":\"198.18.0.2\",\"PublicIPv6\":\"2001:2::22\",\"BackendType\":\"alloc\"}", value(key2));
        assertTrue(d2.logText().contains("interface eth0 (index ") && d2.logText().contains("2001:2::2, public 2001:2::22"), d2.logText());
    }

    @Test
    void ipv6OnlyLeasesAnIpv6OnlyKeyAndAHostWithoutIpv6IsRefusedNamingItsInterface() throws Exception {
        cluster = DaemonCluster.start();
        cluster.config(V6_ONLY);
        NetnsFabric.Host h1 = host("h1", "198.18.0.1/16", "2001:2::1/64");
        Daemons.Running d = Daemons.start(h1, dir.resolve("h1"), cluster.etcd().endpoint());
        d.awaitSubnetFile();
        d.awaitLog("running;");
        Matcher env = Pattern.compile("FLANNEL_IPV6_NETWORK=2001:2:19::/48\nFLANNEL_IPV6_SUBNET=2001:2:19:([0-9a-f]+)::1/64\n"
                + "FLANNEL_MTU=1500\nFLANNEL_IPMASQ=false\n").matcher(d.subnetEnv());
        assertTrue(env.matches(), "what flannel writes on an IPv6-only node:\n" + d.subnetEnv());
        String key = "0.0.0.0-0&2001:2:19:" + env.group(1) + "::-64";
        assertEquals(SUBNETS + key, keys());
        assertEquals("{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::1\",\"BackendType\":\"alloc\"}", value(key));
        String before = d.subnetEnv();
        assertEquals(0, d.stop());
        Daemons.Running again = Daemons.start(h1, dir.resolve("h1"), cluster.etcd().endpoint());
        again.awaitLog("running;");
        assertEquals(before, again.subnetEnv(), "the IPv6 subnet kept across the restart");

        NetnsFabric.Host bare = host("h2", "198.18.0.2/16", null);
        Daemons.Running refused = Daemons.start(bare, dir.resolve("h2"), cluster.etcd().endpoint());
        assertEquals(1, refused.awaitExit(), refused.logText());
        assertTrue(refused.logText().contains("--iface eth0 has no global IPv6 address (EnableIPv6 is set)"), refused.logText());
        assertTrue(!Files.exists(refused.subnetFile()), "nothing leased");
        assertEquals(List.of(SUBNETS + key), keys().lines().toList());
    }
}
