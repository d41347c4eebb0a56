package io.flanneld.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class EtcdClusterTest {
    @Test
    void threeMembersSurviveLosingTheLeader() {
        List<Path> dirs;
        try (EtcdCluster c = EtcdCluster.start(3)) {
            dirs = List.of(c.member(0).dataDir(), c.member(1).dataDir(), c.member(2).dataDir());
            assertEquals(3, c.endpoints().size());
            assertEquals(3, c.endpoints().stream().distinct().count());
            String members = c.etcdctl("member", "list").check().stdout();
            assertEquals(3, members.strip().split("\n").length, members);

            c.etcdctl("put", "before", "1").check();
            int leader = c.leaderIndex();
            c.kill(leader);
            assertFalse(c.member(leader).isAlive());
            assertEquals(2, c.liveEndpoints().size());

            Wait.until(Duration.ofSeconds(15), Duration.ofMillis(200), "a put through the remaining members",
                    () -> c.etcdctl("put", "after", "2").ok());
            int newLeader = c.leaderIndex();
            assertNotEquals(leader, newLeader);
            assertEquals("1", c.etcdctl("get", "before", "--print-value-only").check().stdout().strip());

            c.restart(leader);
            assertTrue(c.member(leader).isAlive());
            Wait.until(Duration.ofSeconds(10), Duration.ofMillis(200), "the restarted member to catch up",
                    () -> "2".equals(c.member(leader).etcdctl("get", "after", "--print-value-only",
                            "--consistency=s").stdout().strip()));
        }
        for (Path d : dirs) {
            assertFalse(Files.exists(d), "data dir deleted: " + d);
        }
    }

    @Test
    void membersOnNamespaceHostsServeAnotherHostAndSurviveLosingTheLeader() {
        try (NetnsFabric fabric = NetnsFabric.create()) {
            List<NetnsFabric.Host> etcdHosts = List.of(fabric.addHost("etcd0", "198.18.0.100/16"),
                    fabric.addHost("etcd1", "198.18.0.101/16"), fabric.addHost("etcd2", "198.18.0.102/16"));
            NetnsFabric.Host client = fabric.addHost("c", "198.18.0.1/16");
            EtcdCluster c = fabric.own(EtcdCluster.startOn(etcdHosts));
            assertEquals(List.of("http://198.18.0.100:2379", "http://198.18.0.101:2379", "http://198.18.0.102:2379"),
                    c.endpoints());
            assertEquals("etcd0-" + fabric.suffix(), c.member(0).netns());
            String members = c.etcdctl("member", "list").check().stdout();
            assertEquals(3, members.strip().split("\n").length, members);

            // Another host reaches every member on its own address.
            for (String endpoint : c.endpoints()) {
                Cmd.Result health = client.exec(Duration.ofSeconds(15), EtcdProcess.etcdctlBinary(), "--endpoints=" + endpoint,
                        "--dial-timeout=2s", "endpoint", "health");
                assertTrue(health.ok(), endpoint + ": " + health.stdout() + health.stderr());
            }
            c.etcdctl("put", "before", "1").check();
            int leader = c.leaderIndex();
            c.kill(leader);
            Wait.until(Duration.ofSeconds(15), Duration.ofMillis(200), "a put through the remaining members",
                    () -> c.etcdctl("put", "after", "2").ok());
            assertNotEquals(leader, c.leaderIndex());
            assertEquals("1", c.etcdctl("get", "before", "--print-value-only").check().stdout().strip());
        }
    }
}
