package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.NetnsFabric;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lease keys and values written by someone else (malformed, outside the Network, overlapping another lease, not a
 * subnet key at all), both before the daemon lists the leases and while it watches them: each is skipped with a
 * warning naming the key, and the daemon goes on.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ForeignValuesDaemonIT {
    private static final String SUBNETS = DaemonCluster.PREFIX + "/subnets/";

    @TempDir
    Path dir;
    private DaemonCluster cluster;

    @AfterEach
    void teardown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    private void put(String keyName, String value) {
        cluster.etcd().etcdctl("put", SUBNETS + keyName, value).check();
    }

    private static String lease(String publicIp) {
        return "{\"PublicIP\":\"" + publicIp + "\",\"BackendType\":\"alloc\"}";
    }

    @Test
    void foreignValuesAreSkippedWithAWarningNamingTheKey() throws Exception {
        cluster = DaemonCluster.start();
        cluster.config(DaemonCluster.networkConfig("alloc"));
        put("198.19.4.0-24", "this is not json");
        put("198.20.5.0-24", lease("198.18.0.5"));
        put("198.19.007.0-24", lease("198.18.0.7"));
        put("198.19.6.0-24", lease("198.18.0.6"));
        put("198.19.6.128-25", lease("198.18.0.16"));

        NetnsFabric.Host host = cluster.fabric().addHost("h1", "198.18.0.1/16");
        Daemons.Running d = Daemons.start(host, dir.resolve("h1"), cluster.etcd().endpoint(), "--healthz-ip", "127.0.0.1", "--healthz-port", "8471");
        d.awaitSubnetFile();
        d.awaitLog("running;");
        // Found in the first listing.
        d.awaitLog("lease key " + SUBNETS + "198.19.4.0-24: malformed value skipped");
        d.awaitLog("lease key " + SUBNETS + "198.20.5.0-24: subnet 198.20.5.0/24 is outside Network 198.19.0.0/16, skipped");
        d.awaitLog("lease key " + SUBNETS + "198.19.007.0-24: not a subnet key");
        d.awaitLog("lease key " + SUBNETS + "198.19.6.128-25: subnet 198.19.6.128/25 overlaps the lease of 198.19.6.0/24, skipped");
        // Once each: the first listing's peers are worked out once, for the backend and the watch alike.
        for (String line : new String[] {"198.20.5.0-24: subnet 198.20.5.0/24 is outside Network", "198.19.6.128-25: subnet 198.19.6.128/25 overlaps",
            "198.19.4.0-24: malformed value skipped", "198.19.007.0-24: not a subnet key"}) {
            assertEquals(1, count(d.logText(), "lease key " + SUBNETS + line), line + " in\n" + d.logText());
        }

        // Seen by the watch.
        put("198.19.8.0-24", "{\"PublicIP\":\"not an ip\"}");
        put("198.21.0.0-24", lease("198.18.0.21"));
        put("198.19.6.192-26", lease("198.18.0.26"));
        cluster.etcd().etcdctl("put", SUBNETS + "garbage-key", lease("198.18.0.99")).check();
        d.awaitLog("lease key " + SUBNETS + "198.19.8.0-24: malformed value skipped");
        d.awaitLog("lease key " + SUBNETS + "198.21.0.0-24: subnet 198.21.0.0/24 is outside Network 198.19.0.0/16, skipped");
        d.awaitLog("lease key " + SUBNETS + "198.19.6.192-26: subnet 198.19.6.192/26 overlaps the lease of 198.19.6.0/24, skipped");
        d.awaitLog("lease key " + SUBNETS + "garbage-key: not a subnet key");

        assertTrue(d.process().isAlive(), d.logText());
        String health = Daemons.httpGet(host, 8471, "/healthz");
        assertTrue(health.startsWith("HTTP/1.1 200") || health.startsWith("HTTP/1.0 200"), health);
        assertTrue(!d.logText().contains("\tat "), "no stack trace:\n" + d.logText());
    }

    private static long count(String text, String needle) {
        return text.lines().filter(l -> l.contains(needle)).count();
    }

    /**
     * flannel's own nodes in the same etcd: a dual-stack node's key holds its IPv4 subnet (the daemon takes the other
     * free one) and is programmed as a peer under its own name; an IPv6-only node's key is no IPv4 peer.
     */
    @Test
    void flannelsDualStackAndIpv6OnlyKeysInTheSameEtcd() throws Exception {
        cluster = DaemonCluster.start();
        cluster.config("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.1.0\",\"SubnetMax\":\"198.19.2.0\",\"Backend\":{\"Type\":\"vxlan\"}}");
        // Exactly what flannel's vxlan backend writes on a dual-stack node and on an IPv6-only node.
        put("198.19.1.0-24&2001:2:19:1::-64", "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"2001:2::3\",\"BackendType\":\"vxlan\","
                + "\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:11\"},\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:12\"}}");
        put("0.0.0.0-0&2001:2:19:4::-64", "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::4\",\"BackendType\":\"vxlan\","
                + "\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:13\"}}");

        NetnsFabric.Host host = cluster.fabric().addHost("h1", "198.18.0.1/16");
        Daemons.Running d = Daemons.start(host, dir.resolve("h1"), cluster.etcd().endpoint());
        d.awaitSubnetFile();
        d.awaitLog("running;");
        assertTrue(java.nio.file.Files.readString(d.subnetFile()).contains("FLANNEL_SUBNET=198.19.2.1/24"),
                "the subnet flannel's dual-stack key holds is not taken twice");
        String routes = host.exec("ip", "route", "show", "dev", "flannel.1").stdout();
        assertTrue(routes.contains("198.19.1.0/24 via 198.19.1.0 onlink"), routes);
        assertEquals(1, routes.lines().count(), "no route for the IPv6-only node: " + routes);
        String neigh = host.exec("ip", "neigh", "show", "dev", "flannel.1").stdout();
        assertTrue(neigh.contains("198.19.1.0 lladdr 6e:2a:5c:01:9b:11"), "the IPv4 device's VtepMAC: " + neigh);
        String fdb = host.exec("bridge", "fdb", "show", "dev", "flannel.1").stdout();
        assertTrue(fdb.contains("6e:2a:5c:01:9b:11 dst 198.18.0.3"), fdb);

        // The flannel node leaves: its entries go, under the key name it had.
        cluster.etcd().etcdctl("del", SUBNETS + "198.19.1.0-24&2001:2:19:1::-64").check();
        io.flanneld.testkit.Wait.until(java.time.Duration.ofSeconds(10), java.time.Duration.ofMillis(100), "route removed",
                () -> host.exec("ip", "route", "show", "dev", "flannel.1").stdout().isBlank());
    }

    /**
     * A config with EnableIPv6 and the vxlan backend, which carries IPv6: a host without a global IPv6 address cannot
     * carry the config's IPv6 half, so the start ends with exit 1 naming the interface and nothing is leased (rather
     * than a node that leases an IPv6 subnet it would leave dark); a host with one leases one dual-stack key. An
     * IPv6-only config on such a host leases an IPv6-only key.
     */
    @Test
    void enableIpv6NeedsAGlobalIpv6AddressOnTheInterface() throws Exception {
        cluster = DaemonCluster.start();
        cluster.config("{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"Backend\":{\"Type\":\"vxlan\"}}");
        NetnsFabric.Host h1 = cluster.fabric().addHost("h1", "198.18.0.1/16");
        Daemons.Running refused = Daemons.start(h1, dir.resolve("h1"), cluster.etcd().endpoint());
        assertEquals(1, refused.awaitExit(), refused.logText());
        assertTrue(refused.logText().contains("cannot choose the interface: --iface eth0 has no global IPv6 address (EnableIPv6 is set)"),
                refused.logText());
        assertTrue(!java.nio.file.Files.exists(refused.subnetFile()), "nothing leased");
        assertEquals("", cluster.etcd().etcdctl("get", "--prefix", SUBNETS, "--keys-only").check().stdout().strip());

        h1.exec("ip", "-6", "addr", "add", "2001:2::1/64", "dev", h1.iface(), "nodad").check();
        Daemons.Running d = Daemons.start(h1, dir.resolve("h1"), cluster.etcd().endpoint());
        d.awaitSubnetFile();
        d.awaitLog("running;");
        assertTrue(d.subnetEnv().contains("FLANNEL_IPV6_SUBNET=2001:2:19:"), d.subnetEnv());
        String stored = cluster.etcd().etcdctl("get", "--prefix", SUBNETS, "--keys-only").check().stdout().strip();
        assertTrue(stored.matches(java.util.regex.Pattern.quote(SUBNETS) + "198\\.19\\.\\d+\\.0-24&2001:2:19:[0-9a-f]+::-64"),
                "one dual-stack key: " + stored);
    }
}
