package io.flanneld.lease;

import static io.flanneld.lease.PeerSetTest.CONFIG;
import static io.flanneld.lease.PeerSetTest.KEYS;
import static io.flanneld.lease.PeerSetTest.OWN;
import static io.flanneld.lease.PeerSetTest.del;
import static io.flanneld.lease.PeerSetTest.listing;
import static io.flanneld.lease.PeerSetTest.put;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Lease;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The watch's state machine (resume, compaction, data loss) driven by a fake feed on a loop whose clock the test
 * moves: no etcd, no sleeping. {@link LeaseWatcherIT} checks the same paths against a real etcd.
 */
class LeaseWatcherStateMachineTest {
    private final ManualLoop loop = new ManualLoop();
    private final List<String> seen = new ArrayList<>();
    private final List<Optional<Lease>> ownSeen = new ArrayList<>();
    private FakeLeaseFeed feed;
    private LeaseWatcher watcher;

    /** A watcher started from {@code initial} (its peers handed to the backend already), watching from the revision after it. */
    private void start(LeaseSnapshot initial) {
        feed = new FakeLeaseFeed(initial);
        watcher = new LeaseWatcher(feed, KEYS, CONFIG, OWN, events -> events.forEach(e -> seen.add(PeerSetTest.text(e))),
                ownSeen::add, "etcd", loop, false, LeaseWatcher.DATA_LOSS_GRACE);
        watcher.start(initial, LeaseWatcher.peersOf(initial, CONFIG, OWN));
        assertEquals(1, feed.watches.size());
        assertEquals(initial.revision() + 1, feed.current().fromRevision);
    }

    private List<String> peers() {
        return watcher.peers().stream().map(l -> l.subnet() + "@" + l.attrs().publicIpText()).toList();
    }

    @Test
    void afterAWatchErrorItResumesFromTheRevisionAfterTheLastOneSeenOnceEtcdAnswers() {
        start(listing(10, "198.19.2.0-24", "198.18.0.2"));
        FakeLeaseFeed.Started first = feed.current();
        first.listener.changes(List.of(put("198.19.3.0-24", "198.18.0.3", 11), del("198.19.2.0-24", 12)));
        assertEquals(List.of("+198.19.3.0/24@198.18.0.3", "-198.19.2.0/24@198.18.0.2"), seen);

        feed.down = true;
        first.listener.failed(new RuntimeException("UNAVAILABLE: io exception"));
        assertTrue(first.closed, "the broken watch is closed");
        assertEquals(1, watcher.reconnectCount());
        loop.advance(Duration.ofSeconds(3));
        assertTrue(feed.revisionReads >= 2, "etcd is asked for its revision until it answers: " + feed.revisionReads);
        assertEquals(1, feed.watches.size(), "no watch while etcd does not answer");

        feed.down = false;
        feed.revision = 15;
        loop.advance(Duration.ofSeconds(6));
        assertEquals(2, feed.watches.size());
        assertEquals(13, feed.current().fromRevision, "from the revision after the last one seen, not etcd's current one");
        assertEquals(0, feed.lists, "a resume lists nothing");
        assertEquals(0, watcher.resyncCount());

        // The old watch's late answers are ignored; the new one's are applied.
        first.listener.changes(List.of(put("198.19.9.0-24", "198.18.0.9", 13)));
        feed.current().listener.changes(List.of(put("198.19.4.0-24", "198.18.0.4", 13)));
        assertEquals(List.of("+198.19.3.0/24@198.18.0.3", "-198.19.2.0/24@198.18.0.2", "+198.19.4.0/24@198.18.0.4"), seen);
        assertEquals(List.of("198.19.3.0/24@198.18.0.3", "198.19.4.0/24@198.18.0.4"), peers());
    }

    @Test
    void aCompactedRevisionReListsEmitsTheDifferenceAndWatchesFromTheListing() {
        start(listing(10, "198.19.2.0-24", "198.18.0.2", "198.19.3.0-24", "198.18.0.3"));
        feed.relisted(listing(30, "198.19.1.0-24", "198.18.0.1", "198.19.3.0-24", "198.18.0.33", "198.19.4.0-24", "198.18.0.4"));
        FakeLeaseFeed.Started first = feed.current();
        first.listener.compacted();

        assertTrue(first.closed);
        assertEquals(1, watcher.resyncCount());
        assertEquals(0, watcher.reconnectCount());
        assertEquals("-198.19.2.0/24@198.18.0.2", seen.get(0), "removals first: " + seen);
        assertEquals(java.util.Set.of("+198.19.3.0/24@198.18.0.33", "+198.19.4.0/24@198.18.0.4"), java.util.Set.copyOf(seen.subList(1, 3)));
        assertEquals(3, seen.size());
        assertEquals(OWN, ownSeen.get(ownSeen.size() - 1).orElseThrow().subnet(), "the own key as listed goes to the lease manager");
        assertEquals(2, feed.watches.size());
        assertEquals(31, feed.current().fromRevision);
    }

    @Test
    void aFailingReListIsRetriedWithGrowingWaitsUntilEtcdAnswers() {
        start(listing(10, "198.19.2.0-24", "198.18.0.2"));
        feed.down = true;
        feed.current().listener.compacted();
        loop.advance(Duration.ofSeconds(8));
        int failed = feed.lists;
        // The first at once, then after 0.125-0.25, 0.25-0.5, 0.5-1, 1-2, 2-4 and 4-8 s: at most 7 in 8 s.
        assertTrue(failed >= 4 && failed <= 7, failed + " re-lists in 8 s");
        feed.down = false;
        feed.relisted(listing(20));
        loop.advance(LeaseWatcher.RELIST_BACKOFF_MAX);
        assertEquals(1, watcher.resyncCount());
        assertEquals(List.of("-198.19.2.0/24@198.18.0.2"), seen);
        assertEquals(21, feed.current().fromRevision);
    }

    @Test
    void etcdBackAtAnOlderRevisionIsADataLossPeersStillAbsentAfterTheGraceAreRemoved() {
        start(listing(40, "198.19.1.0-24", "198.18.0.1", "198.19.2.0-24", "198.18.0.2", "198.19.3.0-24", "198.18.0.3",
                "198.19.5.0-24", "198.18.0.5"));
        ownSeen.clear();
        feed.current().listener.failed(new RuntimeException("Network closed for unknown reason"));
        // etcd comes back wiped: only one peer has re-created its key so far, and a new host has joined.
        feed.relisted(listing(3, "198.19.2.0-24", "198.18.0.2", "198.19.4.0-24", "198.18.0.4"));
        loop.advance(Duration.ofSeconds(1));

        assertEquals(1, watcher.dataLossCount());
        assertEquals(1, watcher.resyncCount());
        assertEquals(List.of(Optional.empty()), ownSeen, "the own key is gone: the lease manager re-creates it");
        assertEquals(List.of("+198.19.4.0/24@198.18.0.4"), seen, "nothing is removed during the grace");
        assertEquals(4, feed.current().fromRevision);
        assertEquals(4, watcher.peers().size());

        // Within the grace one more host re-creates its key, through the watch.
        feed.current().listener.changes(List.of(put("198.19.3.0-24", "198.18.0.3", 4)));
        feed.relisted(listing(4, "198.19.2.0-24", "198.18.0.2", "198.19.3.0-24", "198.18.0.3", "198.19.4.0-24", "198.18.0.4"));
        loop.advance(LeaseWatcher.DATA_LOSS_GRACE.minusSeconds(2));
        assertEquals(1, seen.size(), "still within the grace: " + seen);

        loop.advance(Duration.ofSeconds(2));
        assertEquals(List.of("+198.19.4.0/24@198.18.0.4", "-198.19.5.0/24@198.18.0.5"), seen,
                "the peer still absent after the grace is removed, the re-created ones stay");
        assertEquals(List.of("198.19.2.0/24@198.18.0.2", "198.19.3.0/24@198.18.0.3", "198.19.4.0/24@198.18.0.4"), peers());
        assertEquals(2, watcher.resyncCount());
        assertEquals(5, feed.current().fromRevision);
        assertFalse(feed.current().closed, "a watch runs");
        assertEquals(0, loop.pending(), "no further re-list is planned");
    }

    @Test
    void closedItStartsNothingMore() {
        start(listing(10));
        FakeLeaseFeed.Started first = feed.current();
        watcher.close();
        assertTrue(first.closed);
        first.listener.failed(new RuntimeException("late"));
        first.listener.changes(List.of(put("198.19.3.0-24", "198.18.0.3", 11)));
        loop.advance(Duration.ofMinutes(1));
        assertEquals(1, feed.watches.size());
        assertEquals(List.of(), seen);
    }
}
