package io.flanneld.daemon;

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
}
