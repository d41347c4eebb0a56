package io.flanneld.lease;

import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.ConfigException;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's lease: finds the config, then hands the two jobs to their classes, {@link LeaseAcquirer} (acquire a
 * subnet, deciding with {@link SubnetChoice}) and {@link LeaseKeeper} (renew it ahead of expiry and guard the key for
 * as long as the process runs). It never moves a running host to another subnet: a vanished key is re-created with
 * the same subnet, and if another host holds it the manager reports a fatal condition instead of breaking the
 * containers already addressed from it.
 */
public final class LeaseManager implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseManager.class);

    private final SubnetRegistry registry;
    private final LeaseOptions options;
    private final String endpoints;
    private final LeaseAcquirer acquirer;
    private final LeaseKeeper keeper;

    public LeaseManager(SubnetRegistry registry, LeaseOptions options, String endpointsForLogs) {
        this(registry, options, endpointsForLogs, Clock.systemUTC(), RandomGenerator.getDefault());
    }

    /**
     * Like the other public constructor, but renews on {@code sharedKeeper}, which the caller owns and shuts down and
     * which must run one task at a time; several managers may share it (the scale benchmark's simulated nodes). A
     * renewal waits for etcd on that thread, so sharing suits managers whose renewals are far apart.
     */
    public LeaseManager(SubnetRegistry registry, LeaseOptions options, String endpointsForLogs, ScheduledExecutorService sharedKeeper) {
        this(registry, options, endpointsForLogs, Clock.systemUTC(), RandomGenerator.getDefault(), sharedKeeper, false);
    }

    LeaseManager(SubnetRegistry registry, LeaseOptions options, String endpointsForLogs, Clock clock, RandomGenerator random) {
        this(registry, options, endpointsForLogs, clock, random, Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "lease-keeper");
            t.setDaemon(true);
            return t;
        }), true);
    }

    private LeaseManager(SubnetRegistry registry, LeaseOptions options, String endpointsForLogs, Clock clock, RandomGenerator random,
                         ScheduledExecutorService keeper, boolean ownsKeeper) {
        this.registry = registry;
        this.options = options;
        this.endpoints = endpointsForLogs;
        this.acquirer = new LeaseAcquirer(registry, options, endpointsForLogs, random);
        this.keeper = new LeaseKeeper(registry, options, endpointsForLogs, clock, keeper, ownsKeeper);
    }

    public SubnetRegistry registry() {
        return registry;
    }

    /**
     * Reads the network config, waiting while etcd is unreachable, the key is missing or its
     * value is invalid (an operator can fix it without restarting the daemon). Logs once per
     * change of reason, naming the key, the endpoints or the bad field.
     *
     * @throws EtcdAccessException when etcd refuses this client for a reason waiting cannot fix (TLS trust, client
     *                             certificate, user name or password): the configuration must change
     */
    public NetworkConfig awaitConfig() throws InterruptedException, EtcdAccessException {
        Backoff backoff = new Backoff(options.retryMin(), options.retryMax());
        String lastReason = null;
        while (true) {
            String reason;
            try {
                Optional<String> json = registry.getConfig();
                if (json.isPresent()) {
                    NetworkConfig config = ConfigCodec.parse(json.get());
                    LOG.info("config {}: {}", registry.keys().config(), ConfigCodec.toJson(config));
                    return config;
                }
                reason = "config key " + registry.keys().config() + " does not exist yet; waiting for it (e.g. etcdctl put "
                        + registry.keys().config() + " '{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}')";
            } catch (ConfigException e) {
                reason = "config key " + registry.keys().config() + " is invalid: " + e.getMessage() + "; waiting for a valid one";
            } catch (EtcdUnavailableException e) {
                if (Thread.currentThread().isInterrupted()) {
                    throw new InterruptedException("stopped while waiting for the config");
                }
                reason = "etcd at " + endpoints + " is not answering (" + e.getMessage() + "); retrying";
            }
            if (!reason.equals(lastReason)) {
                LOG.warn(reason);
                lastReason = reason;
            }
            backoff.sleep();
        }
    }

    /**
     * Acquires a subnet for {@code attrs.publicIp()}: an existing lease with this PublicIP first,
     * then the previous subnet if it is free (or is this host's own key under an old PublicIP),
     * then a random free one, claimed with a create-if-absent transaction. Waits while etcd is
     * unreachable.
     *
     * @throws SubnetExhaustedException when every subnet in the range is held
     * @throws SubnetContentionException when other hosts took every subnet this one chose, 200
     *                                   times in a row
     * @throws EtcdAccessException when etcd refuses this client (no permission to write the key, TLS, password):
     *                             retrying cannot fix it
     */
    public Lease acquire(NetworkConfig config, LeaseAttrs attrs, Optional<PreviousLease> previous)
            throws SubnetExhaustedException, SubnetContentionException, EtcdAccessException, InterruptedException {
        return acquireListed(config, attrs, previous).lease();
    }

    /**
     * A lease this host now holds, with the listing of every lease key the acquisition decided from: a revision before
     * this host's own write, so a watch started from it sees every change since, this host's write included, and a
     * node need not list every key a second time after acquiring (at a simultaneous start of N nodes that is N² lease
     * records fewer).
     */
    public record Acquired(Lease lease, LeaseSnapshot listing) {
    }

    /** {@link #acquire}, returning the listing it decided from too (what {@link LeaseSession} starts the watch from). */
    public Acquired acquireListed(NetworkConfig config, LeaseAttrs attrs, Optional<PreviousLease> previous)
            throws SubnetExhaustedException, SubnetContentionException, EtcdAccessException, InterruptedException {
        LeaseAcquirer.Acquisition acquired = acquirer.acquire(config, attrs, previous);
        keeper.take(acquired.lease(), attrs, acquired.ttl());
        return new Acquired(acquired.lease(), acquired.listing());
    }

    /** The lease as last written or renewed. */
    public Lease held() {
        return keeper.held();
    }

    /** The attributes this host publishes in its lease (null before {@link #acquire}). */
    public LeaseAttrs heldAttrs() {
        return keeper.heldAttrs();
    }

    /**
     * Publishes new attributes in the held key (the data path's BackendData changed, e.g. a re-created device with
     * another VtepMAC), so that peers follow; on the keeper's thread, retried every 5 s while etcd does not answer.
     */
    public void republish(LeaseAttrs attrs) {
        keeper.republish(attrs);
    }

    /** When the held lease expires unless renewed; {@link Instant#MAX} for a reservation. */
    public Instant expiresAt() {
        return keeper.expiresAt();
    }

    /** Successful renewals since start, for metrics. */
    public long renewalCount() {
        return keeper.renewalCount();
    }

    /** Renewals that failed because etcd did not answer (each is retried). */
    public long renewalFailureCount() {
        return keeper.renewalFailureCount();
    }

    /**
     * Starts renewing the held lease in the background. {@code onFatal} is called once, with an
     * explanation, if the subnet is lost to another host and this host must stop.
     */
    public void startRenewing(Consumer<String> fatal) {
        startRenewing(fatal, lease -> { });
    }

    /**
     * Like {@link #startRenewing(Consumer)}; {@code rebound} is called with the held lease whenever
     * the key comes to be bound to another etcd lease (re-created after an expiry or a wipe), so
     * whoever records the etcd lease id for the next start can keep the record true.
     */
    public void startRenewing(Consumer<String> fatal, Consumer<Lease> rebound) {
        keeper.startRenewing(fatal, rebound);
    }

    /**
     * Called by the watch when this host's own key changed: {@code current} is what the key holds
     * now, empty when it was deleted or expired.
     */
    public void ownKeyChanged(Optional<Lease> current) {
        keeper.ownKeyChanged(current);
    }

    /** Stops renewing; the key stays in etcd so the next start reuses the subnet. */
    @Override
    public void close() {
        keeper.close();
    }
}
