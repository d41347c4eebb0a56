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
}
