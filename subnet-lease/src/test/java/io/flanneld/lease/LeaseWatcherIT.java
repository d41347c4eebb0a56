package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.Client;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.Wait;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The lease watch against a real etcd: order, resilience to junk, resume and resync. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class LeaseWatcherIT {
    private static final Ip4Net OWN = Ip4Net.parse("198.19.1.0/24");
    private EtcdProcess etcd;
    private Client client;
    private LeaseWatcher watcher;
    private final EtcdKeys keys = EtcdKeys.defaults();
    private final List<String> seen = Collections.synchronizedList(new ArrayList<>());
    private final List<Optional<Lease>> ownSeen = Collections.synchronizedList(new ArrayList<>());
    private NetworkConfig config;
    private SubnetRegistry registry;

    @BeforeEach
    void start() throws Exception {
        etcd = EtcdProcess.start();
        client = EtcdClients.connect(EtcdOptions.plain(etcd.endpoint()));
        registry = new SubnetRegistry(client, keys);
        config = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}");
    }

    @AfterEach
    void stop() {
        if (watcher != null) {
            watcher.close();
        }
        if (client != null) {
            client.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    private void startWatcher(LeaseSnapshot from) {
        watcher = new LeaseWatcher(registry, config, OWN, events -> {
            for (LeaseEvent e : events) {
                seen.add((e instanceof LeaseEvent.Added ? "+" : "-") + e.lease().subnet() + "@" + e.lease().attrs().publicIpText());
            }
        }, ownSeen::add);
        watcher.start(from, LeaseWatcher.peersOf(from, config, OWN));
    }

    private void put(String subnetName, String value) {
        etcd.etcdctl("put", keys.subnetsPrefix() + subnetName, value).check();
    }

    private static String lease(String ip) {
        return "{\"PublicIP\":\"" + ip + "\",\"BackendType\":\"alloc\"}";
    }

    private void awaitSeen(List<String> expected) {
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(20), "events " + expected, () -> seen.size() >= expected.size());
        assertEquals(expected, List.copyOf(seen));
    }

    @Test
    void deliversOtherHostsChangesInOrderAndNeverTheOwnLease() throws Exception {
        startWatcher(registry.listLeases());
        put("198.19.2.0-24", lease("198.18.0.2"));
        put("198.19.1.0-24", lease("198.18.0.1"));
        put("198.19.3.0-24", lease("198.18.0.3"));
        put("198.19.2.0-24", lease("198.18.0.22"));
        put("198.19.2.0-24", lease("198.18.0.22"));
        etcd.etcdctl("del", keys.subnetsPrefix() + "198.19.3.0-24").check();
        awaitSeen(List.of("+198.19.2.0/24@198.18.0.2", "+198.19.3.0/24@198.18.0.3", "+198.19.2.0/24@198.18.0.22",
                "-198.19.3.0/24@198.18.0.3"));
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(20), "own key reported", () -> !ownSeen.isEmpty());
        assertEquals(OWN, ownSeen.get(0).orElseThrow().subnet());
    }

    @Test
    void malformedForeignAndOverlappingValuesAreSkippedAndTheWatchGoesOn() throws Exception {
        startWatcher(registry.listLeases());
        put("198.19.4.0-24", "this is not json");
        put("198.19.5.0-24", "{\"PublicIP\":\"not an ip\"}");
        put("198.20.5.0-24", lease("198.18.0.9"));
        put("garbage-key", lease("198.18.0.9"));
        put("198.19.6.0-24", lease("198.18.0.6"));
        put("198.19.6.128-25", lease("198.18.0.7"));
        put("198.19.7.0-24", lease("198.18.0.8"));
        awaitSeen(List.of("+198.19.6.0/24@198.18.0.6", "+198.19.7.0/24@198.18.0.8"));
    }

    @Test
    void resumesFromTheLastRevisionAfterEtcdRestarts() throws Exception {
        startWatcher(registry.listLeases());
        put("198.19.2.0-24", lease("198.18.0.2"));
        awaitSeen(List.of("+198.19.2.0/24@198.18.0.2"));
        etcd.stop();
        Thread.sleep(1500);
        etcd.restart();
        put("198.19.3.0-24", lease("198.18.0.3"));
        etcd.etcdctl("del", keys.subnetsPrefix() + "198.19.2.0-24").check();
        awaitSeen(List.of("+198.19.2.0/24@198.18.0.2", "+198.19.3.0/24@198.18.0.3", "-198.19.2.0/24@198.18.0.2"));
        assertTrue(watcher.reconnectCount() > 0, "the watch should have noticed the outage");
    }

    @Test
    void etcdBackEmptyIsADataLossThatReListsKeepsPeersAndReportsTheOwnKeyGone() throws Exception {
        put("198.19.1.0-24", lease("198.18.0.1"));
        put("198.19.2.0-24", lease("198.18.0.2"));
        for (int i = 0; i < 10; i++) {
            put("198.19.3.0-24", lease("198.18.0.3"));
        }
        startWatcher(registry.listLeases());
        ownSeen.clear();
        etcd.wipeAndRestart();
        Wait.until(Duration.ofSeconds(30), Duration.ofMillis(50), "the data loss noticed", () -> watcher.dataLossCount() == 1);
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(20), "own key reported", () -> !ownSeen.isEmpty());
        assertEquals(Optional.empty(), ownSeen.get(ownSeen.size() - 1), "the own key is gone: the lease manager re-creates it");
        assertEquals(1, watcher.reconnectCount());
        // The peers' hosts re-create their keys as this one does: nothing is removed meanwhile, nothing re-added.
        put("198.19.2.0-24", lease("198.18.0.2"));
        put("198.19.4.0-24", lease("198.18.0.4"));
        awaitSeen(List.of("+198.19.4.0/24@198.18.0.4"));
        assertEquals(3, watcher.peers().size(), "198.19.3.0/24 stays programmed during the grace period: " + watcher.peers());
        assertTrue(LeaseWatcher.DATA_LOSS_GRACE.toSeconds() >= 10, "long enough for every host to re-create its key");
    }

    @Test
    void resyncsAndEmitsTheDifferenceWhenItsRevisionWasCompacted() throws Exception {
        put("198.19.2.0-24", lease("198.18.0.2"));
        put("198.19.3.0-24", lease("198.18.0.3"));
        LeaseSnapshot old = registry.listLeases();
        // While this host was not looking: one host left, one joined, one changed its IP; then etcd compacted.
        etcd.etcdctl("del", keys.subnetsPrefix() + "198.19.2.0-24").check();
        put("198.19.4.0-24", lease("198.18.0.4"));
        put("198.19.3.0-24", lease("198.18.0.33"));
        LeaseSnapshot now = registry.listLeases();
        etcd.etcdctl("compact", Long.toString(now.revision())).check();

        startWatcher(old);
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(20), "resync", () -> seen.size() >= 3);
        assertEquals(List.of("-198.19.2.0/24@198.18.0.2"), seen.subList(0, 1), "removals first");
        assertEquals(
                java.util.Set.of("+198.19.3.0/24@198.18.0.33", "+198.19.4.0/24@198.18.0.4"),
                java.util.Set.copyOf(seen.subList(1, 3)));
        assertEquals(1, watcher.resyncCount());
        put("198.19.5.0-24", lease("198.18.0.5"));
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(20), "watch after resync", () -> seen.size() >= 4);
        assertEquals("+198.19.5.0/24@198.18.0.5", seen.get(3));
        assertEquals(3, watcher.peers().size());
    }

    @Test
    void watchersSharingOneLoopEachGetTheirEventsInOrderAndOutliveEachOther() throws Exception {
        ScheduledExecutorService shared = Executors.newSingleThreadScheduledExecutor();
        List<List<String>> seenBy = new ArrayList<>();
        List<LeaseWatcher> watchers = new ArrayList<>();
        try {
            LeaseSnapshot from = registry.listLeases();
            for (int i = 0; i < 3; i++) {
                List<String> mine = Collections.synchronizedList(new ArrayList<>());
                seenBy.add(mine);
                LeaseWatcher w = new LeaseWatcher(registry, config, OWN, events -> events.forEach(e -> mine.add(
                        (e instanceof LeaseEvent.Added ? "+" : "-") + e.lease().subnet() + "@" + e.lease().attrs().publicIpText())),
                        lease -> { }, "etcd", shared);
                watchers.add(w);
                w.start(from, LeaseWatcher.peersOf(from, config, OWN));
            }
            put("198.19.2.0-24", lease("198.18.0.2"));
            put("198.19.3.0-24", lease("198.18.0.3"));
            etcd.etcdctl("del", keys.subnetsPrefix() + "198.19.2.0-24").check();
            List<String> expected = List.of("+198.19.2.0/24@198.18.0.2", "+198.19.3.0/24@198.18.0.3", "-198.19.2.0/24@198.18.0.2");
            for (List<String> mine : seenBy) {
                Wait.until(Duration.ofSeconds(10), Duration.ofMillis(20), "events " + expected, () -> mine.size() >= expected.size());
                assertEquals(expected, List.copyOf(mine));
            }
            assertEquals(1, watchers.get(0).peerCount(), "peerCount follows the stream without asking the loop");

            // Closing one watcher leaves the shared loop, and the others, running.
            watchers.get(0).close();
            assertTrue(!shared.isShutdown(), "the loop belongs to its creator");
            put("198.19.4.0-24", lease("198.18.0.4"));
            for (List<String> mine : seenBy.subList(1, 3)) {
                Wait.until(Duration.ofSeconds(10), Duration.ofMillis(20), "event after a close", () -> mine.size() >= 4);
                assertEquals("+198.19.4.0/24@198.18.0.4", mine.get(3));
            }
            assertEquals(3, seenBy.get(0).size(), "a closed watcher delivers nothing more");
            assertEquals(2, watchers.get(1).peerCount());
        } finally {
            watchers.forEach(LeaseWatcher::close);
            shared.shutdownNow();
        }
    }

    @Test
    void flannelsDualStackKeysArePeersUnderTheirOwnNameAndIpv6OnlyKeysAreNot() throws Exception {
        startWatcher(registry.listLeases());
        String dual = "198.19.8.0-24&2001:2:19:8::-64";
        put(dual, "{\"PublicIP\":\"198.18.0.8\",\"PublicIPv6\":\"2001:2::8\",\"BackendType\":\"alloc\"}");
        put("0.0.0.0-0&2001:2:19:9::-64", "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::9\",\"BackendType\":\"alloc\"}");
        // A second spelling of the same IPv4 subnet is skipped, and its removal does not remove the peer.
        put("198.19.8.0-24", lease("198.18.0.88"));
        etcd.etcdctl("del", keys.subnetsPrefix() + "198.19.8.0-24").check();
        put("198.19.10.0-24", lease("198.18.0.10"));
        etcd.etcdctl("del", keys.subnetsPrefix() + dual).check();
        awaitSeen(List.of("+198.19.8.0/24@198.18.0.8", "+198.19.10.0/24@198.18.0.10", "-198.19.8.0/24@198.18.0.8"));
        assertEquals(1, watcher.peers().size(), watcher.peers().toString());
    }

    @Test
    void reListsAgainstAnEtcdThatFailsFastBackOffExponentially() throws Exception {
        put("198.19.2.0-24", lease("198.18.0.2"));
        LeaseSnapshot old = registry.listLeases();
        put("198.19.3.0-24", lease("198.18.0.3"));
        put("198.19.3.0-24", lease("198.18.0.3"));
        etcd.etcdctl("compact", Long.toString(registry.listLeases().revision())).check();

        java.util.concurrent.atomic.AtomicBoolean failing = new java.util.concurrent.atomic.AtomicBoolean(true);
        java.util.concurrent.atomic.AtomicInteger lists = new java.util.concurrent.atomic.AtomicInteger();
        registry = new SubnetRegistry(client, keys) {
            @Override
            public LeaseSnapshot listLeases() throws EtcdUnavailableException, EtcdAccessException {
                lists.incrementAndGet();
                if (failing.get()) {
                    // What an overloaded or quota-exceeded etcd does: answer at once, with an error.
                    throw new EtcdUnavailableException("list: etcdserver: too many requests (test)", null);
                }
                return super.listLeases();
            }
        };
        startWatcher(old);
        Thread.sleep(8_000);
        int failedLists = lists.get();
        System.out.println("re-lists in 8 s against an etcd failing at once: " + failedLists);
        // At a fixed 250 ms that is 32 lists; doubling from 250 ms with jitter, at most 7 (the first, then after
        // 0.125-0.25, 0.25-0.5, 0.5-1, 1-2, 2-4 and 4-8 s).
        assertTrue(failedLists >= 3 && failedLists <= 7, failedLists + " re-lists in 8 s against an etcd that fails at once");
        failing.set(false);
        Wait.until(Duration.ofSeconds(40), Duration.ofMillis(50), "the re-list once etcd answers", () -> watcher.resyncCount() == 1);
        awaitSeen(List.of("+198.19.3.0/24@198.18.0.3"));
    }
}
