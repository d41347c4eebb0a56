package io.flanneld.lease;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows every lease key from a known revision and turns etcd's events into an ordered stream
 * of {@link LeaseEvent}s about other hosts. After a disconnect it resumes from the last revision
 * it saw; when etcd has compacted that revision away it re-lists and emits the difference, so a
 * backend never misses a removal. When etcd answers again at a revision older than one already
 * seen, its data was lost (wiped, or restored from an older backup): it re-lists, hands this
 * host's own key to the lease manager (which re-creates it) and keeps peers whose keys are
 * missing for {@link #DATA_LOSS_GRACE}, so that their hosts can re-create them before their routes
 * go. Everything runs on one thread, which is what orders events.
 *
 * <p>This class is that state machine only: etcd is behind {@link LeaseFeed} ({@link EtcdLeaseFeed} over jetcd), and
 * the peers with the rules that admit them are {@link PeerSet}.
 */
public final class LeaseWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseWatcher.class);
    /** How long peers missing after a data loss stay programmed: every other host re-creates its key well within it. */
    public static final Duration DATA_LOSS_GRACE = Duration.ofSeconds(30);
    /** The longest wait between two failed re-lists of every lease. */
    static final Duration RELIST_BACKOFF_MAX = Duration.ofSeconds(30);

    private final LeaseFeed feed;
    private final EtcdKeys keys;
    private final NetworkConfig config;
    private final Ip4Net own;
    /** This host's IPv6 subnet, or null: an IPv6-only node's peers are told apart from it. */
    private Ip6Net own6;
    private final Consumer<List<LeaseEvent>> sink;
    private final Consumer<Optional<Lease>> ownKeyListener;
    private final String endpoints;
    private final ScheduledExecutorService loop;
    /** False when the loop was handed in and is shared with other watchers: then its owner shuts it down. */
    private final boolean ownsLoop;
    private final Duration dataLossGrace;
    /** The peers the stream reflects; replaced by {@link #start}, touched only on the loop. */
    private PeerSet peers;
    private final AtomicLong resyncs = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong dataLosses = new AtomicLong();

    /** The size of {@link #peers}, readable from any thread without a round trip through the loop. */
    private volatile int peerCount;
    private long nextRevision;
    private long generation;
    private LeaseFeed.Subscription watcher;
    /** Waits between attempts to resume a broken watch (a cheap revision read each). */
    private final Backoff resumeBackoff = new Backoff(Duration.ofMillis(250), Duration.ofSeconds(5));
    /**
     * Waits between failed re-lists: each is a read of every lease, so against an etcd that fails fast they back off
     * further, to {@link #RELIST_BACKOFF_MAX}.
     */
    private final Backoff relistBackoff = new Backoff(Duration.ofMillis(250), RELIST_BACKOFF_MAX);
    /** When the current break began (System.nanoTime), or 0 while the watch runs. */
    private long brokenSince;
    private volatile boolean closed;

    /**
     * @param sink receives other hosts' lease changes, in order, on the watcher's thread
     * @param ownKeyListener receives what this host's own key holds after each change to it
     */
    public LeaseWatcher(SubnetRegistry registry, NetworkConfig config, Ip4Net own,
                        Consumer<List<LeaseEvent>> sink, Consumer<Optional<Lease>> ownKeyListener) {
        this(registry, config, own, sink, ownKeyListener, "the configured endpoints");
    }

    /** Like the other constructor; {@code endpointsForLogs} names etcd in the log lines about breaks. */
    public LeaseWatcher(SubnetRegistry registry, NetworkConfig config, Ip4Net own,
                        Consumer<List<LeaseEvent>> sink, Consumer<Optional<Lease>> ownKeyListener, String endpointsForLogs) {
        this(registry, config, own, sink, ownKeyListener, endpointsForLogs, Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lease-watch");
            t.setDaemon(true);
            return t;
        }), true);
    }

    /**
     * Like the other constructors, but runs on {@code sharedLoop}, which the caller owns and shuts down. It must run
     * one task at a time (a single-threaded executor): that is what keeps each watcher's events in order, also when
     * several watchers share it. For processes that host many watchers (the scale benchmark's simulated nodes), where
     * a thread per watcher would make every event a thread wake-up.
     */
    public LeaseWatcher(SubnetRegistry registry, NetworkConfig config, Ip4Net own, Consumer<List<LeaseEvent>> sink,
                        Consumer<Optional<Lease>> ownKeyListener, String endpointsForLogs, ScheduledExecutorService sharedLoop) {
        this(registry, config, own, sink, ownKeyListener, endpointsForLogs, sharedLoop, false);
    }

    private LeaseWatcher(SubnetRegistry registry, NetworkConfig config, Ip4Net own, Consumer<List<LeaseEvent>> sink,
                         Consumer<Optional<Lease>> ownKeyListener, String endpointsForLogs, ScheduledExecutorService loop,
                         boolean ownsLoop) {
        this(new EtcdLeaseFeed(registry), registry.keys(), config, own, sink, ownKeyListener, endpointsForLogs, loop, ownsLoop,
                DATA_LOSS_GRACE);
    }

    /** The state machine over any {@link LeaseFeed}: what tests drive with a fake feed and a loop they step by hand. */
    LeaseWatcher(LeaseFeed feed, EtcdKeys keys, NetworkConfig config, Ip4Net own, Consumer<List<LeaseEvent>> sink,
                 Consumer<Optional<Lease>> ownKeyListener, String endpointsForLogs, ScheduledExecutorService loop,
                 boolean ownsLoop, Duration dataLossGrace) {
        this.endpoints = endpointsForLogs;
        this.feed = feed;
        this.keys = keys;
        this.config = config;
        this.own = own;
        this.sink = sink;
        this.ownKeyListener = ownKeyListener;
        this.loop = loop;
        this.ownsLoop = ownsLoop;
        this.dataLossGrace = dataLossGrace;
        this.peers = new PeerSet(config, own, keys, List.of());
    }

    /**
     * This host's IPv6 subnet, before {@link #start}: on an IPv6-only node (no IPv4 subnet) the peers are IPv6 subnets,
     * this one excluded, and its own key is recognised by it.
     */
    public LeaseWatcher withOwnIpv6(Ip6Net ownIpv6) {
        this.own6 = ownIpv6;
        return this;
    }

    /**
     * Starts watching after {@code initial}, whose accepted other-host leases ({@link #peersOf}, computed once by the
     * caller) are {@code peers} and have already been handed to the backend.
     */
    public void start(LeaseSnapshot initial, List<Lease> peers) {
        loop.execute(() -> {
            this.peers = new PeerSet(config, own, own6, keys, peers);
            nextRevision = initial.revision() + 1;
            peerCount = this.peers.size();
            watch();
        });
    }

    /** The other hosts' leases that the current stream reflects. */
    public List<Lease> peers() {
        return onLoop(() -> peers.peers());
    }

    /** How many other hosts' leases the stream reflects; unlike {@link #peers()} it does not wait for the watch's thread. */
    public int peerCount() {
        return peerCount;
    }

    /** Both for metrics and tests: how often the watch re-listed after a compaction, and resumed after a break. */
    public long resyncCount() {
        return resyncs.get();
    }

    public long reconnectCount() {
        return reconnects.get();
    }

    /** How often etcd came back at an older revision than already seen (its data was lost) and the watch re-listed. */
    public long dataLossCount() {
        return dataLosses.get();
    }

    /**
     * The leases of other hosts in {@code snapshot} that a backend should program: inside the
     * Network and overlapping neither this host's subnet nor an earlier one; the rest are skipped
     * with a warning naming the key.
     */
    public static List<Lease> peersOf(LeaseSnapshot snapshot, NetworkConfig config, Ip4Net own) {
        return peersOf(snapshot, config, own, null);
    }

    /** As {@link #peersOf(LeaseSnapshot, NetworkConfig, Ip4Net)}, warnings naming each skipped lease's key under {@code keys}. */
    public static List<Lease> peersOf(LeaseSnapshot snapshot, NetworkConfig config, Ip4Net own, EtcdKeys keys) {
        return PeerSet.acceptedFrom(snapshot, config, own, keys);
    }

    /** With this host's IPv6 subnet: an IPv6-only node's peers are the other hosts' IPv6 subnets. */
    public static List<Lease> peersOf(LeaseSnapshot snapshot, NetworkConfig config, Ip4Net own, Ip6Net own6, EtcdKeys keys) {
        return PeerSet.acceptedFrom(snapshot, config, own, own6, keys);
    }

    private void watch() {
        if (closed) {
            return;
        }
        long gen = ++generation;
        watcher = feed.watch(nextRevision, new LeaseFeed.Listener() {
            @Override
            public void changes(List<LeaseFeed.Change> changes) {
                loop.execute(() -> onChanges(gen, changes));
            }

            @Override
            public void compacted() {
                loop.execute(() -> onBroken(gen, true, null));
            }

            @Override
            public void failed(Throwable error) {
                loop.execute(() -> onBroken(gen, false, error));
            }
        });
    }

    private void onChanges(long gen, List<LeaseFeed.Change> changes) {
        if (gen != generation || closed) {
            return;
        }
        resumeBackoff.reset();
        for (LeaseFeed.Change change : changes) {
            nextRevision = Math.max(nextRevision, change.kv().modRevision() + 1);
        }
        PeerSet.Applied applied = peers.apply(changes);
        applied.ownKey().forEach(ownKeyListener);
        deliver(applied.events());
    }

    private void onBroken(long gen, boolean compacted, Throwable error) {
        if (gen != generation || closed) {
            return;
        }
        generation++;
        closeWatcher();
        if (compacted) {
            LOG.warn("lease watch: revision {} was compacted away; re-listing all leases", nextRevision);
            resync(false);
            return;
        }
        reconnects.incrementAndGet();
        brokenSince = System.nanoTime();
        LOG.warn("lease watch: etcd at {} interrupted the watch ({}); peers stay as they are; resuming from revision {}",
                endpoints, SubnetRegistry.describe(error), nextRevision);
        scheduleResume();
    }

    private void scheduleResume() {
        loop.schedule(this::resume, resumeBackoff.next().toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * After a break: once etcd answers, resumes the watch, unless etcd is now behind what this
     * host has seen, which means its data was lost; then everything is re-listed.
     */
    private void resume() {
        if (closed) {
            return;
        }
        long revision;
        try {
            revision = feed.revision();
        } catch (EtcdUnavailableException | EtcdAccessException e) {
            LOG.debug("lease watch: etcd at {} still not answering ({})", endpoints, e.getMessage());
            scheduleResume();
            return;
        }
        long seconds = (System.nanoTime() - brokenSince) / 1_000_000_000L;
        brokenSince = 0;
        if (revision < nextRevision - 1) {
            dataLosses.incrementAndGet();
            LOG.warn("lease watch: etcd at {} answers again after {} s at revision {}, behind revision {} already seen: its data was "
                    + "lost or restored from an older backup; re-listing every lease (peers missing from it stay programmed for {} s "
                    + "while their hosts re-create their keys)", endpoints, seconds, revision, nextRevision - 1, dataLossGrace.toSeconds());
            resync(true);
            return;
        }
        LOG.info("lease watch: etcd at {} answers again after {} s; resuming from revision {}", endpoints, seconds, nextRevision);
        watch();
    }

    /**
     * Re-lists every lease and emits what changed against what the backend was last told. With
     * {@code keepMissing} (after a data loss) peers absent from the list are not removed yet: a
     * second re-list after the grace ({@link #DATA_LOSS_GRACE}) removes those still absent.
     */
    private void resync(boolean keepMissing) {
        if (closed) {
            return;
        }
        generation++;
        closeWatcher();
        LeaseSnapshot snapshot;
        try {
            snapshot = feed.list();
        } catch (EtcdUnavailableException | EtcdAccessException e) {
            Duration wait = relistBackoff.next();
            LOG.warn("lease watch: re-list failed ({}); retrying in {} ms", e.getMessage(), wait.toMillis());
            loop.schedule(() -> resync(keepMissing), wait.toMillis(), TimeUnit.MILLISECONDS);
            return;
        }
        relistBackoff.reset();
        resyncs.incrementAndGet();
        PeerSet.Diff diff = peers.diff(snapshot, keepMissing);
        if (diff.kept() > 0) {
            LOG.info("lease watch: {} peer lease(s) missing after the data loss stay programmed; checking again in {} s", diff.kept(),
                    dataLossGrace.toSeconds());
            loop.schedule(() -> resync(false), dataLossGrace.toMillis(), TimeUnit.MILLISECONDS);
        }
        if (own != null) {
            ownKeyListener.accept(snapshot.find(own));
        } else if (own6 != null) {
            ownKeyListener.accept(snapshot.findIpv6(own6));
        }
        deliver(diff.events());
        nextRevision = snapshot.revision() + 1;
        watch();
    }

    private void deliver(List<LeaseEvent> events) {
        peerCount = peers.size();
        if (events.isEmpty()) {
            return;
        }
        try {
            sink.accept(List.copyOf(events));
        } catch (RuntimeException e) {
            LOG.error("lease watch: the backend failed to apply {} event(s)", events.size(), e);
        }
    }

    private <T> T onLoop(java.util.concurrent.Callable<T> task) {
        try {
            return loop.submit(task).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IllegalStateException("lease watch thread did not answer", e);
        }
    }

    private void closeWatcher() {
        if (watcher != null) {
            try {
                watcher.close();
            } catch (RuntimeException e) {
                LOG.debug("closing watcher", e);
            }
            watcher = null;
        }
    }

    @Override
    public void close() {
        if (closed) {
            return; // the daemon closes its watcher, and the session closes it again
        }
        closed = true;
        try {
            loop.submit(this::closeWatcher).get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.debug("closing lease watch", e);
        }
        if (ownsLoop) {
            loop.shutdownNow();
        }
    }
}
