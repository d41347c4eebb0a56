package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The config's EnableNFTables through the daemon jar: rules in nftables, none in iptables, kept and removed. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NfTablesDaemonIT {
    @TempDir
    Path dir;
    private DaemonCluster cluster;

    @AfterEach
    void teardown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void enableNfTablesPutsTheMasqueradeAndForwardRulesInFlannelsTableAndKeepsThem() throws Exception {
        cluster = DaemonCluster.start();
        cluster.config("{\"Network\":\"198.19.0.0/16\",\"EnableNFTables\":true,\"Backend\":{\"Type\":\"vxlan\"}}");
        NetnsFabric.Host host = cluster.fabric().addHost("h1", "198.18.0.1/16");
        Daemons.Running d = Daemons.start(host, dir.resolve("h1"), cluster.etcd().endpoint(), "--ip-masq", "--iptables-resync", "1");
        d.awaitSubnetFile();
        d.awaitLog("running;");
        String table = host.exec("nft", "list", "table", "ip", "flannel-ipv4").check().stdout();
        assertTrue(table.contains("chain postrtg") && table.contains("masquerade"), table);
        assertTrue(table.contains("chain forward") && table.contains("ip saddr 198.19.0.0/16 accept"), table);
        String iptables = host.exec("iptables-save").check().stdout();
        assertFalse(iptables.contains("FLANNEL-FWD") || iptables.contains("FLANNEL-POSTRTG"), "nothing in iptables:\n" + iptables);

        host.exec("nft", "flush", "chain", "ip", "flannel-ipv4", "forward").check();
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "the forward chain put back",
                () -> host.exec("nft", "list", "chain", "ip", "flannel-ipv4", "forward").stdout().contains("accept"));
        d.awaitLog("repaired forward_rules");

        d.stop();
        assertFalse(host.exec("nft", "list", "table", "ip", "flannel-ipv4").ok(), "the table goes with a clean stop");
    }
}
