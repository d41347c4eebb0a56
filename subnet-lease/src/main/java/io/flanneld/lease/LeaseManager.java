package io.flanneld.lease;

import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.ConfigException;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This host's lease: finds the config, acquires a subnet, renews it ahead of expiry and guards
 * the key for as long as the process runs. It never moves a running host to another subnet: a
 * vanished key is re-created with the same subnet, and if another host holds it the manager
 * reports a fatal condition instead of breaking the containers already addressed from it.
 */
public final class LeaseManager implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseManager.class);
    private static final int MAX_CONFLICTS = 200;

    private final SubnetRegistry registry;
    private final LeaseOptions options;
    private final String endpoints;
    private final Clock clock;
    private final RandomGenerator random;
    private final ScheduledExecutorService keeper;
    /** False when the keeper was handed in and is shared with other managers: then its owner shuts it down. */
    private final boolean ownsKeeper;

    private volatile Lease held;
    private volatile LeaseAttrs heldAttrs;
    private volatile Instant expiresAt;
    private volatile Consumer<String> onFatal = message -> { };
    private volatile Consumer<Lease> onRebound = lease -> { };
    private ScheduledFuture<?> nextRenewal;
    private final AtomicLong renewals = new AtomicLong();
    private final AtomicLong renewalFailures = new AtomicLong();
    private volatile boolean closed;

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
        this.clock = clock;
        this.random = random;
        this.keeper = keeper;
        this.ownsKeeper = ownsKeeper;
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
     * @throws SubnetContentionException when other hosts took every subnet this one chose, {@value #MAX_CONFLICTS}
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
        Backoff backoff = new Backoff(options.retryMin(), options.retryMax());
        Claim claim = new Claim();
        Lease lease = null;
        try {
            while (true) {
                try {
                    Held acquired = tryAcquire(config, attrs, previous, claim);
                    lease = acquired.lease();
                    hold(lease, attrs, acquired.ttl());
                    return new Acquired(lease, acquired.listing());
                } catch (EtcdUnavailableException e) {
                    LOG.warn("etcd at {} is not answering while acquiring a lease ({}); retrying", endpoints, e.getMessage());
                    backoff.sleep();
                }
            }
        } finally {
            // Only now is it known that no key of ours is, or will be, bound to the granted etcd lease (a create whose
            // outcome was unknown may still land; with its etcd lease revoked it cannot).
            if (claim.grantedLease != 0 && (lease == null || lease.etcdLeaseId() != claim.grantedLease)) {
                registry.revokeQuietly(claim.grantedLease);
            }
        }
    }

    /**
     * What one acquisition carries across retries. A create that timed out may still have been applied, or may be
     * applied later, so neither its etcd lease may be revoked (that would delete a key this host then believes it
     * holds) nor another subnet be claimed first (a late create would leave this host two keys): the retry claims the
     * same subnet again with the same etcd lease, which the create-if-absent transaction makes idempotent.
     */
    private static final class Claim {
        long grantedLease;
        Duration grantedTtl;
        Ip4Net unknownOutcome;
    }

    /**
     * A lease as written, with the TTL etcd gave its etcd lease (what renewal is scheduled from; null for a
     * reservation) and the listing the acquisition decided from.
     */
    private record Held(Lease lease, Duration ttl, LeaseSnapshot listing) {
        Held listedIn(LeaseSnapshot snapshot) {
            return new Held(lease, ttl, snapshot);
        }
    }

    private Held tryAcquire(NetworkConfig config, LeaseAttrs attrs, Optional<PreviousLease> previous, Claim claim)
            throws EtcdUnavailableException, EtcdAccessException, SubnetExhaustedException, SubnetContentionException,
            InterruptedException {
        LeaseSnapshot snapshot = registry.listLeases();
        for (int conflicts = 0; conflicts < MAX_CONFLICTS; conflicts++) {
            LeaseSnapshot listed = snapshot;
            Optional<Held> reused = reuseExisting(config, attrs, previous, snapshot);
            if (reused.isPresent()) {
                claim.unknownOutcome = null;
                return reused.get().listedIn(listed);
            }
            List<Ip4Net> occupied = listed.occupied();
            Ip4Net candidate = retryOfUnknownOutcome(config, claim, occupied)
                    .or(() -> previousIfFree(config, previous, listed))
                    .or(() -> SubnetAllocator.pickFree(config, occupied, random))
                    .orElseThrow(() -> new SubnetExhaustedException("no free subnet left in " + config.describeRange()
                            + ": every subnet is leased or reserved; widen Network/SubnetMin/SubnetMax or delete stale leases"));
            if (claim.grantedLease == 0) {
                SubnetRegistry.Grant grant = registry.grant(options.ttl());
                claim.grantedLease = grant.id();
                claim.grantedTtl = grant.ttl();
            }
            claim.unknownOutcome = candidate;
            SubnetRegistry.CreateResult result = registry.create(candidate, attrs, claim.grantedLease);
            claim.unknownOutcome = null;
            if (result instanceof SubnetRegistry.CreateResult.Created created) {
                LOG.info("lease {}: allocated to {} (etcd lease {}, TTL {} s)", candidate, attrs.publicIpText(),
                        Long.toHexString(claim.grantedLease), claim.grantedTtl.toSeconds());
                return new Held(created.lease(), claim.grantedTtl, listed);
            }
            snapshot = ((SubnetRegistry.CreateResult.Taken) result).snapshot();
            Optional<Lease> holder = snapshot.find(candidate);
            if (holder.isPresent() && holder.get().attrs().publicIp() == attrs.publicIp()
                    && holder.get().etcdLeaseId() == claim.grantedLease) {
                // An earlier create of this acquisition, whose answer was lost, did land.
                LOG.info("lease {}: allocated to {} (etcd lease {}, an earlier attempt's create was applied)", candidate,
                        attrs.publicIpText(), Long.toHexString(claim.grantedLease));
                return new Held(holder.get(), claim.grantedTtl, listed);
            }
            LOG.debug("lease {}: taken by another host meanwhile, choosing again", candidate);
            Thread.sleep(random.nextInt(5));
        }
        throw new SubnetContentionException("gave up after " + MAX_CONFLICTS + " attempts in a row to claim a subnet in "
                + config.describeRange() + ": another host created each chosen key first (" + snapshot.occupied().size()
                + " subnets held at the last attempt); too many hosts are starting at once for the free subnets left, or something "
                + "is writing keys under " + registry.keys().subnetsPrefix());
    }

    /** The subnet a timed-out create aimed at, while it is still leasable and nobody else's. */
    private static Optional<Ip4Net> retryOfUnknownOutcome(NetworkConfig config, Claim claim, List<Ip4Net> occupied) {
        Ip4Net pending = claim.unknownOutcome;
        if (pending == null || !config.isLeasable(pending) || occupied.stream().anyMatch(pending::overlaps)) {
            claim.unknownOutcome = null;
            return Optional.empty();
        }
        LOG.info("lease {}: claiming it again (the last attempt's outcome is unknown)", pending);
        return Optional.of(pending);
    }

    /** Step one: a lease already carrying this host's PublicIP (flannel's behaviour on restart). */
    private Optional<Held> reuseExisting(NetworkConfig config, LeaseAttrs attrs, Optional<PreviousLease> previous, LeaseSnapshot snapshot)
            throws EtcdUnavailableException, EtcdAccessException {
        List<Lease> ours = snapshot.leases().stream().filter(l -> l.attrs().publicIp() == attrs.publicIp()).toList();
        for (Lease lease : ours) {
            if (!config.isLeasable(lease.subnet())) {
                if (lease.isReservation()) {
                    LOG.warn("lease {}: reserved for {} but outside {}; ignored", lease.subnet(), attrs.publicIpText(), config.describeRange());
                } else {
                    LOG.info("lease {}: held by {} but not compatible with the config ({}); deleting it", lease.subnet(),
                            attrs.publicIpText(), config.describeRange());
                    registry.delete(lease);
                }
            }
        }
        Optional<Lease> mine = ours.stream()
                .filter(l -> config.isLeasable(l.subnet()))
                .min(Comparator.comparing((Lease l) -> !(previous.isPresent() && previous.get().subnet().equals(l.subnet())))
                        .thenComparing(l -> !l.isReservation()));
        if (mine.isPresent()) {
            Lease lease = mine.get();
            LOG.info("lease {}: found for {}{}, reusing", lease.subnet(), attrs.publicIpText(), lease.isReservation() ? " (reservation)" : "");
            return rewrite(lease, attrs);
        }
        // This host's own key, written when its PublicIP was another one.
        if (previous.isPresent() && previous.get().etcdLeaseId() != 0) {
            Optional<Lease> old = snapshot.find(previous.get().subnet())
                    .filter(l -> l.etcdLeaseId() == previous.get().etcdLeaseId() && config.isLeasable(l.subnet()));
            if (old.isPresent()) {
                LOG.warn("lease {}: this host's PublicIP changed from {} to {}; updating the same lease", old.get().subnet(),
                        old.get().attrs().publicIpText(), attrs.publicIpText());
                return rewrite(old.get(), attrs);
            }
        }
        return Optional.empty();
    }

    /**
     * Puts {@code attrs} on an existing key (in the form it has), keeping it a reservation or extending its etcd
     * lease. An etcd lease whose TTL is not {@code --subnet-lease-ttl} (granted by an earlier start with another
     * setting) is replaced by one that is, so that the flag takes effect on restart; either way renewal is scheduled
     * from the TTL etcd reports, never from the flag alone.
     */
    private Optional<Held> rewrite(Lease lease, LeaseAttrs attrs) throws EtcdUnavailableException, EtcdAccessException {
        long leaseId = 0;
        Duration ttl = null;
        if (!lease.isReservation()) {
            Optional<Long> kept = registry.keepAlive(lease.etcdLeaseId());
            if (kept.isPresent() && kept.get() == options.ttl().toSeconds()) {
                leaseId = lease.etcdLeaseId();
                ttl = Duration.ofSeconds(kept.get());
            } else {
                SubnetRegistry.Grant grant = registry.grant(options.ttl());
                leaseId = grant.id();
                ttl = grant.ttl();
                if (kept.isPresent()) {
                    LOG.info("lease {}: its etcd lease {} has a TTL of {} s, --subnet-lease-ttl is {} s; binding the key to etcd lease {}",
                            lease.subnet(), Long.toHexString(lease.etcdLeaseId()), kept.get(), options.ttl().toSeconds(),
                            Long.toHexString(leaseId));
                }
            }
        }
        if (attrs.equals(lease.attrs()) && leaseId == lease.etcdLeaseId()) {
            return Optional.of(new Held(lease, ttl, null));
        }
        Optional<Lease> written = registry.update(lease, attrs, leaseId);
        if (written.isEmpty()) {
            if (leaseId != lease.etcdLeaseId()) {
                registry.revokeQuietly(leaseId);
            }
            // Rare: the key was written between our read and our update; start over from a fresh read.
            throw new EtcdUnavailableException("key " + registry.keys().subnet(lease.keyName()) + " changed while it was being updated", null);
        }
        if (!lease.isReservation() && leaseId != lease.etcdLeaseId()) {
            // Nothing is bound to the old etcd lease any more.
            registry.revokeQuietly(lease.etcdLeaseId());
        }
        Duration heldTtl = ttl;
        return written.map(w -> new Held(w, heldTtl, null));
    }

    private Optional<Ip4Net> previousIfFree(NetworkConfig config, Optional<PreviousLease> previous, LeaseSnapshot snapshot) {
        if (previous.isEmpty()) {
            return Optional.empty();
        }
        Ip4Net subnet = previous.get().subnet();
        if (!config.isLeasable(subnet)) {
            LOG.warn("lease {}: previous subnet is not compatible with the config ({}); ignoring it", subnet, config.describeRange());
            return Optional.empty();
        }
        if (snapshot.occupied().stream().anyMatch(subnet::overlaps)) {
            Optional<Lease> holder = snapshot.find(subnet);
            LOG.warn("lease {}: previous subnet is now held by {}; choosing another", subnet,
                    holder.map(l -> l.attrs().publicIpText()).orElse("another key"));
            return Optional.empty();
        }
        LOG.info("lease {}: previous subnet is free, reusing it", subnet);
        return Optional.of(subnet);
    }

    // ---- keeping the lease ----

    /** The lease as last written or renewed. */
    public Lease held() {
        return held;
    }

    /** The attributes this host publishes in its lease (null before {@link #acquire}). */
    public LeaseAttrs heldAttrs() {
        return heldAttrs;
    }

    /**
     * Publishes new attributes in the held key (the data path's BackendData changed, e.g. a re-created device with
     * another VtepMAC), so that peers follow; on the keeper's thread, retried every 5 s while etcd does not answer.
     */
    public void republish(LeaseAttrs attrs) {
        if (closed) {
            return;
        }
        keeper.execute(() -> {
            if (closed) {
                return;
            }
            Lease lease = held;
            try {
                Optional<Lease> written = registry.update(lease, attrs, lease.etcdLeaseId());
                heldAttrs = attrs;
                if (written.isPresent()) {
                    held = written.get();
                    LOG.info("lease {}: published new attributes {}", lease.subnet(), io.flanneld.schema.LeaseCodec.toJson(attrs));
                } else {
                    LOG.warn("lease {}: the key changed while new attributes were published; checking it", lease.subnet());
                    ensureOwnKey();
                }
            } catch (EtcdUnavailableException | EtcdAccessException e) {
                LOG.warn("lease {}: could not publish new attributes ({}); retrying in 5 s", lease.subnet(), e.getMessage());
                keeper.schedule(() -> republish(attrs), 5, TimeUnit.SECONDS);
            }
        });
    }

    /** When the held lease expires unless renewed; {@link Instant#MAX} for a reservation. */
    public Instant expiresAt() {
        return expiresAt;
    }

    /** Successful renewals since start, for metrics. */
    public long renewalCount() {
        return renewals.get();
    }

    /** Renewals that failed because etcd did not answer (each is retried). */
    public long renewalFailureCount() {
        return renewalFailures.get();
    }

    /** @param ttl the TTL etcd reported for the key's etcd lease (ignored for a reservation) */
    private void hold(Lease lease, LeaseAttrs attrs, Duration ttl) {
        Lease before = held;
        held = lease;
        heldAttrs = attrs;
        expiresAt = lease.isReservation() ? Instant.MAX : clock.instant().plus(ttl);
        if (before != null && before.etcdLeaseId() != lease.etcdLeaseId()) {
            onRebound.accept(lease);
        }
    }

    /**
     * Starts renewing the held lease in the background. {@code onFatal} is called once, with an
     * explanation, if the subnet is lost to another host and this host must stop.
     */
    public synchronized void startRenewing(Consumer<String> fatal) {
        startRenewing(fatal, lease -> { });
    }

    /**
     * Like {@link #startRenewing(Consumer)}; {@code rebound} is called with the held lease whenever
     * the key comes to be bound to another etcd lease (re-created after an expiry or a wipe), so
     * whoever records the etcd lease id for the next start can keep the record true.
     */
    public synchronized void startRenewing(Consumer<String> fatal, Consumer<Lease> rebound) {
        this.onFatal = fatal;
        this.onRebound = rebound;
        scheduleRenewal();
    }

    private synchronized void scheduleRenewal() {
        if (closed || held.isReservation()) {
            return;
        }
        Duration remaining = Duration.between(clock.instant(), expiresAt);
        Duration delay = options.renewDelay(remaining.isNegative() ? Duration.ZERO : remaining);
        schedule(delay);
        LOG.debug("lease {}: renewal in {} s", held.subnet(), delay.toSeconds());
    }

    private synchronized void schedule(Duration delay) {
        if (closed) {
            return;
        }
        if (nextRenewal != null) {
            nextRenewal.cancel(false);
        }
        nextRenewal = keeper.schedule(this::renew, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void renew() {
        Lease lease = held;
        try {
            Optional<Long> ttl = registry.keepAlive(lease.etcdLeaseId());
            if (ttl.isPresent()) {
                renewals.incrementAndGet();
                expiresAt = clock.instant().plusSeconds(ttl.get());
                LOG.info("lease {}: renewed, expires {}", lease.subnet(), expiresAt);
            } else {
                LOG.warn("lease {}: etcd lost its etcd lease {} (expired or etcd's data was lost); re-creating the key",
                        lease.subnet(), Long.toHexString(lease.etcdLeaseId()));
                ensureOwnKey();
            }
            scheduleRenewal();
        } catch (EtcdAccessException e) {
            // A refusal after start (a revoked role, a rotated certificate): the key lives on until it expires, and
            // the fix may come in time; say exactly what is wrong each time.
            renewalFailures.incrementAndGet();
            LOG.error("lease {}: renewal refused: {}; retrying in 10 s", lease.subnet(), e.getMessage());
            schedule(Duration.ofSeconds(10));
        } catch (EtcdUnavailableException e) {
            renewalFailures.incrementAndGet();
            Duration remaining = Duration.between(clock.instant(), expiresAt);
            long retryMillis = Math.max(1000, Math.min(60_000, remaining.toMillis() / 10));
            LOG.warn("lease {}: renewal failed, etcd at {} is not answering ({}); retrying in {} s", lease.subnet(), endpoints,
                    e.getMessage(), retryMillis / 1000);
            schedule(Duration.ofMillis(retryMillis));
        } catch (RuntimeException e) {
            LOG.error("lease {}: unexpected error while renewing; retrying in 10 s", lease.subnet(), e);
            schedule(Duration.ofSeconds(10));
        }
    }

    /**
     * Called by the watch when this host's own key changed: {@code current} is what the key holds
     * now, empty when it was deleted or expired.
     */
    public void ownKeyChanged(Optional<Lease> current) {
        if (closed) {
            return;
        }
        keeper.execute(() -> {
            if (closed) {
                return;
            }
            try {
                if (current.isEmpty()) {
                    LOG.warn("lease {}: key {} was deleted or expired; re-creating it with the same subnet", held.subnet(),
                            registry.keys().subnet(held.keyName()));
                    ensureOwnKey();
                    scheduleRenewal();
                } else if (current.get().attrs().publicIp() != heldAttrs.publicIp()) {
                    fatal(current.get());
                } else {
                    held = current.get();
                }
            } catch (EtcdUnavailableException e) {
                LOG.warn("lease {}: could not check the key, etcd at {} is not answering ({}); the next renewal retries",
                        held.subnet(), endpoints, e.getMessage());
                schedule(Duration.ofSeconds(1));
            } catch (EtcdAccessException e) {
                LOG.error("lease {}: could not check the key: {}; the next renewal retries", held.subnet(), e.getMessage());
                schedule(Duration.ofSeconds(10));
            }
        });
    }

    /** Makes sure the key exists and is this host's; re-creates it when absent. */
    private void ensureOwnKey() throws EtcdUnavailableException, EtcdAccessException {
        Lease lease = held;
        Optional<Lease> now = registry.get(lease);
        if (now.isPresent()) {
            if (now.get().attrs().publicIp() == heldAttrs.publicIp()) {
                hold(now.get(), heldAttrs, ttlOf(now.get()));
                return;
            }
            fatal(now.get());
            return;
        }
        SubnetRegistry.Grant grant = registry.grant(options.ttl());
        SubnetRegistry.CreateResult result = registry.create(lease.subnet(), lease.keyName(), heldAttrs, grant.id());
        if (result instanceof SubnetRegistry.CreateResult.Created created) {
            hold(created.lease(), heldAttrs, grant.ttl());
            LOG.warn("lease {}: re-created for {} (etcd lease {})", lease.subnet(), heldAttrs.publicIpText(), Long.toHexString(grant.id()));
            return;
        }
        registry.revokeQuietly(grant.id());
        Optional<Lease> holder = ((SubnetRegistry.CreateResult.Taken) result).snapshot().find(lease.subnet());
        if (holder.isPresent() && holder.get().attrs().publicIp() == heldAttrs.publicIp()) {
            hold(holder.get(), heldAttrs, ttlOf(holder.get()));
        } else if (holder.isPresent()) {
            fatal(holder.get());
        } else {
            throw new EtcdUnavailableException("key " + registry.keys().subnet(lease.keyName()) + " exists but its value is unreadable", null);
        }
    }

    /**
     * The TTL of a key's etcd lease as etcd reports it (extending it once); {@code --subnet-lease-ttl} only when etcd
     * no longer knows the lease, whose key then vanishes and is re-created by the watch.
     */
    private Duration ttlOf(Lease lease) throws EtcdUnavailableException, EtcdAccessException {
        if (lease.isReservation()) {
            return options.ttl();
        }
        return registry.keepAlive(lease.etcdLeaseId()).map(Duration::ofSeconds).orElse(options.ttl());
    }

    private void fatal(Lease holder) {
        String message = "lease " + holder.subnet() + ": this host's subnet is now held by " + holder.attrs().publicIpText()
                + " (this host is " + Ip4.format(heldAttrs.publicIp()) + "); refusing to move to another subnet under running containers. "
                + "Stop one of the two hosts, delete its key (etcdctl del " + registry.keys().subnet(holder.keyName()) + ") and restart it.";
        LOG.error(message);
        closed = true;
        onFatal.accept(message);
    }

    /** Stops renewing; the key stays in etcd so the next start reuses the subnet. */
    @Override
    public synchronized void close() {
        closed = true;
        if (nextRenewal != null) {
            nextRenewal.cancel(false);
        }
        if (ownsKeeper) {
            keeper.shutdownNow();
        }
    }
}
