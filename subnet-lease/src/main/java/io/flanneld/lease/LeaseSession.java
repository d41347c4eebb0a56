package io.flanneld.lease;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;

/**
 * One node's lease session, the way the daemon runs it and the scale benchmark measures it: wait for the config,
 * acquire a subnet, work out the other hosts' leases from the listing the acquisition decided from (once: the same
 * list goes to the backend and to the watch), then follow every lease from that listing's revision on and keep this
 * host's lease. The daemon does its own work between the steps (the backend registers before {@link #acquire}, the
 * data path starts before {@link #follow}); nothing else differs, so the benchmark times the daemon's code.
 */
public final class LeaseSession implements AutoCloseable {
    private final LeaseManager manager;
    private final String endpoints;
    /** The watch's thread, shared with other sessions (the benchmark's thousands of nodes), or null for one of its own. */
    private final ScheduledExecutorService sharedWatchLoop;
    private LeaseWatcher watcher;

    /** What {@link #acquire} got: the lease, the listing it decided from, the config, and the other hosts' leases to program. */
    public record Acquired(NetworkConfig config, Lease lease, LeaseSnapshot listing, List<Lease> peers) {
        public Acquired {
            peers = List.copyOf(peers);
        }
    }

    /**
     * @param sharedWatchLoop a single-threaded executor the caller owns and shares among sessions, or null for a thread
     *                        of this session's own
     */
    public LeaseSession(LeaseManager manager, String endpointsForLogs, ScheduledExecutorService sharedWatchLoop) {
        this.manager = manager;
        this.endpoints = endpointsForLogs;
        this.sharedWatchLoop = sharedWatchLoop;
    }

    public LeaseManager manager() {
        return manager;
    }

    /** {@link LeaseManager#awaitConfig}. */
    public NetworkConfig awaitConfig() throws InterruptedException, EtcdAccessException {
        return manager.awaitConfig();
    }

    /**
     * Acquires a subnet ({@link LeaseManager#acquireListed}) and the other hosts' leases a backend may program from the
     * same listing ({@link LeaseWatcher#peersOf}, each skipped lease warned about once).
     */
    public Acquired acquire(NetworkConfig config, LeaseAttrs attrs, Optional<PreviousLease> previous)
            throws SubnetExhaustedException, SubnetContentionException, EtcdAccessException, InterruptedException {
        LeaseManager.Acquired got = manager.acquireListed(config, attrs, previous);
        List<Lease> peers = LeaseWatcher.peersOf(got.listing(), config, got.lease().subnet(), got.lease().ipv6Subnet(),
                manager.registry().keys());
        return new Acquired(config, got.lease(), got.listing(), peers);
    }

    /**
     * Follows every lease from the acquired listing's revision on (the peers already handed to the backend are its
     * starting point) and starts keeping this host's lease.
     *
     * @param sink    other hosts' lease changes, in order, on the watch's thread
     * @param fatal   told once, with the reason, if this host's subnet is lost to another host
     * @param rebound told the lease whenever the key comes to be bound to another etcd lease
     */
    public LeaseWatcher follow(Acquired acquired, Consumer<List<LeaseEvent>> sink, Consumer<String> fatal, Consumer<Lease> rebound) {
        SubnetRegistry registry = manager.registry();
        LeaseWatcher w = sharedWatchLoop == null
                ? new LeaseWatcher(registry, acquired.config(), acquired.lease().subnet(), sink, manager::ownKeyChanged, endpoints)
                : new LeaseWatcher(registry, acquired.config(), acquired.lease().subnet(), sink, manager::ownKeyChanged, endpoints,
                        sharedWatchLoop);
        w.withOwnIpv6(acquired.lease().ipv6Subnet());
        watcher = w;
        w.start(acquired.listing(), acquired.peers());
        manager.startRenewing(fatal, rebound);
        return w;
    }

    /** Stops following and renewing; the key stays in etcd for the next start. */
    @Override
    public void close() {
        if (watcher != null) {
            watcher.close();
        }
        manager.close();
    }
}
