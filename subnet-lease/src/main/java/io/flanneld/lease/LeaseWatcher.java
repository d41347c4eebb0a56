package io.flanneld.lease;

import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.schema.SubnetKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
 */
public final class LeaseWatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseWatcher.class);
    /** How long peers missing after a data loss stay programmed: every other host re-creates its key well within it. */
    public static final Duration DATA_LOSS_GRACE = Duration.ofSeconds(30);
    /** The longest wait between two failed re-lists of every lease. */
    static final Duration RELIST_BACKOFF_MAX = Duration.ofSeconds(30);

    private final SubnetRegistry registry;
    private final NetworkConfig config;
    private final Ip4Net own;
    private final Consumer<List<LeaseEvent>> sink;
    private final Consumer<Optional<Lease>> ownKeyListener;
    private final String endpoints;
    private final ScheduledExecutorService loop;
    /** False when the loop was handed in and is shared with other watchers: then its owner shuts it down. */
    private final boolean ownsLoop;
    /** Accepted peers, pairwise disjoint, in address order (so an overlap check looks at two neighbours, not at all). */
    private final java.util.NavigableMap<Ip4Net, Lease> known = new java.util.TreeMap<>();
    private final AtomicLong resyncs = new AtomicLong();
    private final AtomicLong reconnects = new AtomicLong();
    private final AtomicLong dataLosses = new AtomicLong();

    /** The size of {@link #known}, readable from any thread without a round trip through the loop. */
    private volatile int peerCount;
    private long nextRevision;
    private long generation;
    private Watch.Watcher watcher;
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
        this.endpoints = endpointsForLogs;
        this.registry = registry;
        this.config = config;
        this.own = own;
        this.sink = sink;
        this.ownKeyListener = ownKeyListener;
        this.loop = loop;
        this.ownsLoop = ownsLoop;
    }

    /**
     * Starts watching after {@code initial}, whose accepted other-host leases ({@link #peersOf}, computed once by the
     * caller) are {@code peers} and have already been handed to the backend.
     */
    public void start(LeaseSnapshot initial, List<Lease> peers) {
        loop.execute(() -> {
            for (Lease lease : peers) {
                known.put(lease.subnet(), lease);
            }
            nextRevision = initial.revision() + 1;
            peerCount = known.size();
            watch();
        });
    }

    /** The other hosts' leases that the current stream reflects. */
    public List<Lease> peers() {
        return onLoop(() -> List.copyOf(known.values()));
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
        List<Lease> peers = new ArrayList<>();
        java.util.NavigableSet<Ip4Net> subnets = new java.util.TreeSet<>();
        for (Lease lease : snapshot.leases()) {
            if (acceptable(lease, config, own, subnets, keys == null ? "" : keys.subnet(lease.keyName()))) {
                peers.add(lease);
                subnets.add(lease.subnet());
            }
        }
        return peers;
    }

    private void watch() {
        if (closed) {
            return;
        }
        long gen = ++generation;
        WatchOption option = WatchOption.builder()
                .isPrefix(true)
                .withRevision(nextRevision)
                .withRequireLeader(true)
                .build();
        watcher = registry.client().getWatchClient().watch(SubnetRegistry.bytes(registry.keys().subnetsPrefix()), option,
                Watch.listener(
                        response -> loop.execute(() -> onResponse(gen, response)),
                        error -> loop.execute(() -> onError(gen, error))));
    }

    private void onResponse(long gen, WatchResponse response) {
        if (gen != generation || closed) {
            return;
        }
        resumeBackoff.reset();
        List<LeaseEvent> events = new ArrayList<>();
        for (WatchEvent event : response.getEvents()) {
            KeyValue kv = event.getKeyValue();
            nextRevision = Math.max(nextRevision, kv.getModRevision() + 1);
            String key = kv.getKey().toString(StandardCharsets.UTF_8);
            Optional<SubnetKey> name = registry.keys().parseLeaseKey(key);
            if (name.isEmpty()) {
                LOG.warn("lease key {}: not a subnet key, skipped", key);
                continue;
            }
            if (name.get().ipv4() == null) {
                LOG.debug("lease key {}: an IPv6-only node's key, no IPv4 subnet", key);
                continue;
            }
            Ip4Net subnet = name.get().ipv4();
            boolean put = event.getEventType() == WatchEvent.EventType.PUT;
            if (subnet.equals(own)) {
                ownKeyListener.accept(put ? registry.decode(name.get(), kv) : Optional.empty());
                continue;
            }
            if (put) {
                registry.decode(name.get(), kv).filter(l -> acceptable(l, key)).ifPresent(lease -> {
                    Lease before = known.put(lease.subnet(), lease);
                    if (before == null || !before.attrs().equals(lease.attrs())) {
                        events.add(new LeaseEvent.Added(lease));
                    }
                });
            } else if (event.getEventType() == WatchEvent.EventType.DELETE) {
                Lease before = known.get(subnet);
                // Only the key the peer was accepted under: a second spelling of the same subnet (plain and
                // dual-stack) going away does not remove the peer.
                if (before != null && before.keyName().equals(name.get().name())) {
                    known.remove(subnet);
                    events.add(new LeaseEvent.Removed(before));
                }
            }
        }
        deliver(events);
    }

    private boolean acceptable(Lease lease, String key) {
        Lease same = known.get(lease.subnet());
        if (same != null && !same.keyName().equals(lease.keyName())) {
            LOG.warn("lease key {}: subnet {} is already held under key {}, skipped", key, lease.subnet(),
                    registry.keys().subnet(same.keyName()));
            return false;
        }
        return acceptable(lease, config, own, known.navigableKeySet(), key);
    }

    /** A lease a backend may program: another host's, inside the Network, overlapping no other host's subnet. */
    private static boolean acceptable(Lease lease, NetworkConfig config, Ip4Net own, java.util.NavigableSet<Ip4Net> others, String key) {
        if (lease.subnet().equals(own)) {
            return false;
        }
        String name = key.isEmpty() ? lease.subnet().toString() : key;
        if (!config.network().contains(lease.subnet())) {
            LOG.warn("lease key {}: subnet {} is outside Network {}, skipped", name, lease.subnet(), config.network());
            return false;
        }
        if (lease.subnet().overlaps(own)) {
            LOG.warn("lease key {}: subnet {} overlaps this host's subnet {}, skipped", name, lease.subnet(), own);
            return false;
        }
        Optional<Ip4Net> other = overlapping(others, lease.subnet());
        if (other.isPresent()) {
            LOG.warn("lease key {}: subnet {} overlaps the lease of {}, skipped", name, lease.subnet(), other.get());
            return false;
        }
        return true;
    }

    /**
     * A subnet of {@code others}, other than {@code subnet} itself, that overlaps it. {@code others} is pairwise
     * disjoint, so only the neighbours of {@code subnet} in address order can: one that starts earlier and overlaps
     * must contain its start, and the nearest earlier one is the only candidate for that; one that starts inside it
     * is found by the nearest later one. O(log n) per lease keeps learning n leases O(n log n), not O(n²).
     */
    static Optional<Ip4Net> overlapping(java.util.NavigableSet<Ip4Net> others, Ip4Net subnet) {
        Ip4Net lower = others.lower(subnet);
        if (lower != null && lower.overlaps(subnet)) {
            return Optional.of(lower);
        }
        Ip4Net higher = others.higher(subnet);
        if (higher != null && higher.overlaps(subnet)) {
            return Optional.of(higher);
        }
        return Optional.empty();
    }

    private void onError(long gen, Throwable error) {
        if (gen != generation || closed) {
            return;
        }
        generation++;
        closeWatcher();
        if (isCompaction(error)) {
            LOG.warn("lease watch: revision {} was compacted away; re-listing all leases", nextRevision);
            resync();
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
            revision = registry.revision();
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
                    + "while their hosts re-create their keys)", endpoints, seconds, revision, nextRevision - 1, DATA_LOSS_GRACE.toSeconds());
            resync(true);
            return;
        }
        LOG.info("lease watch: etcd at {} answers again after {} s; resuming from revision {}", endpoints, seconds, nextRevision);
        watch();
    }

    private static boolean isCompaction(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof CompactedException || String.valueOf(t.getMessage()).contains("compacted")) {
                return true;
            }
        }
        return false;
    }

    private void resync() {
        resync(false);
    }

    /**
     * Re-lists every lease and emits what changed against what the backend was last told. With
     * {@code keepMissing} (after a data loss) peers absent from the list are not removed yet: a
     * second re-list after {@link #DATA_LOSS_GRACE} removes those still absent.
     */
    private void resync(boolean keepMissing) {
        if (closed) {
            return;
        }
        generation++;
        closeWatcher();
        LeaseSnapshot snapshot;
        try {
            snapshot = registry.listLeases();
        } catch (EtcdUnavailableException | EtcdAccessException e) {
            Duration wait = relistBackoff.next();
            LOG.warn("lease watch: re-list failed ({}); retrying in {} ms", e.getMessage(), wait.toMillis());
            loop.schedule(() -> resync(keepMissing), wait.toMillis(), TimeUnit.MILLISECONDS);
            return;
        }
        relistBackoff.reset();
        resyncs.incrementAndGet();
        List<LeaseEvent> events = new ArrayList<>();
        Map<Ip4Net, Lease> now = new HashMap<>();
        for (Lease lease : snapshot.leases()) {
            if (!lease.subnet().equals(own) && config.network().contains(lease.subnet())) {
                Lease accepted = known.get(lease.subnet());
                // Two keys for one subnet (plain and dual-stack): the one already accepted stays the peer's.
                if (!now.containsKey(lease.subnet()) || accepted != null && accepted.keyName().equals(lease.keyName())) {
                    now.put(lease.subnet(), lease);
                }
            }
        }
        int kept = 0;
        for (Lease before : List.copyOf(known.values())) {
            Lease after = now.get(before.subnet());
            if (after == null || !after.keyName().equals(before.keyName())) {
                if (keepMissing) {
                    kept++;
                    continue;
                }
                known.remove(before.subnet());
                events.add(new LeaseEvent.Removed(before));
            }
        }
        if (kept > 0) {
            LOG.info("lease watch: {} peer lease(s) missing after the data loss stay programmed; checking again in {} s", kept,
                    DATA_LOSS_GRACE.toSeconds());
            loop.schedule(() -> resync(false), DATA_LOSS_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        }
        for (Lease lease : now.values()) {
            Lease before = known.get(lease.subnet());
            if (before == null ? acceptable(lease, registry.keys().subnet(lease.keyName())) : !before.attrs().equals(lease.attrs())) {
                known.put(lease.subnet(), lease);
                events.add(new LeaseEvent.Added(lease));
            }
        }
        ownKeyListener.accept(snapshot.find(own));
        deliver(events);
        nextRevision = snapshot.revision() + 1;
        watch();
    }

    private void deliver(List<LeaseEvent> events) {
        peerCount = known.size();
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
