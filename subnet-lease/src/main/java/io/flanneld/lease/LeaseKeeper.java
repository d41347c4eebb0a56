package io.flanneld.lease;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.LeaseCodec;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the lease this host acquired: renews it ahead of expiry, re-creates the key with the same subnet when it
 * vanished, publishes new attributes, and reports a fatal condition when another host holds the subnet. The held
 * lease, its attributes and its expiry are one value, changed only by {@link #hold(Lease, LeaseAttrs, Instant)}.
 * Everything but {@link #take} runs on the keeper's single thread.
 */
final class LeaseKeeper implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseKeeper.class);

    /** What this host holds: the lease as last written or renewed, the attributes it publishes, and when it expires. */
    private record Holding(Lease lease, LeaseAttrs attrs, Instant expiresAt) {
    }

    private final SubnetRegistry registry;
    private final LeaseOptions options;
    private final String endpoints;
    private final Clock clock;
    private final ScheduledExecutorService keeper;
    /** False when the keeper was handed in and is shared with other managers: then its owner shuts it down. */
    private final boolean ownsKeeper;

    private volatile Holding holding;
    private volatile Consumer<String> onFatal = message -> { };
    private volatile Consumer<Lease> onRebound = lease -> { };
    private ScheduledFuture<?> nextRenewal;
    private final AtomicLong renewals = new AtomicLong();
    private final AtomicLong renewalFailures = new AtomicLong();
    private volatile boolean closed;

    LeaseKeeper(SubnetRegistry registry, LeaseOptions options, String endpointsForLogs, Clock clock,
                ScheduledExecutorService keeper, boolean ownsKeeper) {
        this.registry = registry;
        this.options = options;
        this.endpoints = endpointsForLogs;
        this.clock = clock;
        this.keeper = keeper;
        this.ownsKeeper = ownsKeeper;
    }

    Lease held() {
        Holding h = holding;
        return h == null ? null : h.lease();
    }

    LeaseAttrs heldAttrs() {
        Holding h = holding;
        return h == null ? null : h.attrs();
    }

    Instant expiresAt() {
        Holding h = holding;
        return h == null ? null : h.expiresAt();
    }

    long renewalCount() {
        return renewals.get();
    }

    long renewalFailureCount() {
        return renewalFailures.get();
    }

    /** The one place the held lease, its attributes and its expiry change, always together. */
    private void hold(Lease lease, LeaseAttrs attrs, Instant expiresAt) {
        holding = new Holding(lease, attrs, expiresAt);
    }

    /**
     * Holds a lease just acquired, re-created or re-read, expiring {@code ttl} from now (a reservation never); tells
     * the rebound listener when the key is now bound to another etcd lease than before.
     *
     * @param ttl the TTL etcd reported for the key's etcd lease (ignored for a reservation)
     */
    void take(Lease lease, LeaseAttrs attrs, Duration ttl) {
        Lease before = held();
        hold(lease, attrs, lease.isReservation() ? Instant.MAX : clock.instant().plus(ttl));
        if (before != null && before.etcdLeaseId() != lease.etcdLeaseId()) {
            onRebound.accept(lease);
        }
    }

    /** See {@link LeaseManager#republish}. */
    void republish(LeaseAttrs attrs) {
        if (closed) {
            return;
        }
        keeper.execute(() -> {
            if (closed) {
                return;
            }
            Holding now = holding;
            Lease lease = now.lease();
            try {
                Optional<Lease> written = registry.update(lease, attrs, lease.etcdLeaseId());
                hold(written.orElse(lease), attrs, now.expiresAt());
                if (written.isPresent()) {
                    LOG.info("lease {}: published new attributes {}", lease.describe(), LeaseCodec.toJson(attrs));
                } else {
                    LOG.warn("lease {}: the key changed while new attributes were published; checking it", lease.describe());
                    ensureOwnKey();
                }
            } catch (EtcdUnavailableException | EtcdAccessException e) {
                LOG.warn("lease {}: could not publish new attributes ({}); retrying in 5 s", lease.describe(), e.getMessage());
                keeper.schedule(() -> republish(attrs), 5, TimeUnit.SECONDS);
            }
        });
    }

    /** See {@link LeaseManager#startRenewing(Consumer, Consumer)}. */
    synchronized void startRenewing(Consumer<String> fatal, Consumer<Lease> rebound) {
        this.onFatal = fatal;
        this.onRebound = rebound;
        scheduleRenewal();
    }

    private synchronized void scheduleRenewal() {
        Holding now = holding;
        if (closed || now.lease().isReservation()) {
            return;
        }
        Duration remaining = Duration.between(clock.instant(), now.expiresAt());
        Duration delay = options.renewDelay(remaining.isNegative() ? Duration.ZERO : remaining);
        schedule(delay);
        LOG.debug("lease {}: renewal in {} s", now.lease().describe(), delay.toSeconds());
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
        Holding now = holding;
        Lease lease = now.lease();
        try {
            Optional<Long> ttl = registry.keepAlive(lease.etcdLeaseId());
            if (ttl.isPresent()) {
                renewals.incrementAndGet();
                Instant expires = clock.instant().plusSeconds(ttl.get());
                hold(lease, now.attrs(), expires);
                LOG.info("lease {}: renewed, expires {}", lease.describe(), expires);
            } else {
                LOG.warn("lease {}: etcd lost its etcd lease {} (expired or etcd's data was lost); re-creating the key",
                        lease.describe(), Long.toHexString(lease.etcdLeaseId()));
                ensureOwnKey();
            }
            scheduleRenewal();
        } catch (EtcdAccessException e) {
            // A refusal after start (a revoked role, a rotated certificate): the key lives on until it expires, and
            // the fix may come in time; say exactly what is wrong each time.
            renewalFailures.incrementAndGet();
            LOG.error("lease {}: renewal refused: {}; retrying in 10 s", lease.describe(), e.getMessage());
            schedule(Duration.ofSeconds(10));
        } catch (EtcdUnavailableException e) {
            renewalFailures.incrementAndGet();
            Duration remaining = Duration.between(clock.instant(), holding.expiresAt());
            long retryMillis = Math.max(1000, Math.min(60_000, remaining.toMillis() / 10));
            LOG.warn("lease {}: renewal failed, etcd at {} is not answering ({}); retrying in {} s", lease.describe(), endpoints,
                    e.getMessage(), retryMillis / 1000);
            schedule(Duration.ofMillis(retryMillis));
        } catch (RuntimeException e) {
            LOG.error("lease {}: unexpected error while renewing; retrying in 10 s", lease.describe(), e);
            schedule(Duration.ofSeconds(10));
        }
    }

    /** See {@link LeaseManager#ownKeyChanged}. */
    void ownKeyChanged(Optional<Lease> current) {
        if (closed) {
            return;
        }
        keeper.execute(() -> {
            if (closed) {
                return;
            }
            try {
                Holding now = holding;
                if (current.isEmpty()) {
                    LOG.warn("lease {}: key {} was deleted or expired; re-creating it with the same subnet", now.lease().describe(),
                            registry.keys().subnet(now.lease().keyName()));
                    ensureOwnKey();
                    scheduleRenewal();
                } else if (!sameHost(current.get().attrs(), now.attrs())) {
                    fatal(current.get());
                } else {
                    hold(current.get(), now.attrs(), now.expiresAt());
                }
            } catch (EtcdUnavailableException e) {
                LOG.warn("lease {}: could not check the key, etcd at {} is not answering ({}); the next renewal retries",
                        held().describe(), endpoints, e.getMessage());
                schedule(Duration.ofSeconds(1));
            } catch (EtcdAccessException e) {
                LOG.error("lease {}: could not check the key: {}; the next renewal retries", held().describe(), e.getMessage());
                schedule(Duration.ofSeconds(10));
            }
        });
    }

    /** Makes sure the key exists and is this host's; re-creates it when absent. */
    private void ensureOwnKey() throws EtcdUnavailableException, EtcdAccessException {
        Lease lease = held();
        LeaseAttrs attrs = heldAttrs();
        Optional<Lease> now = registry.get(lease);
        if (now.isPresent()) {
            if (sameHost(now.get().attrs(), attrs)) {
                take(now.get(), attrs, ttlOf(now.get()));
                return;
            }
            fatal(now.get());
            return;
        }
        // A key with an IPv6 subnet is re-created under the guard of a fresh listing: the IPv6 subnet may have been
        // claimed by another host while this key was gone (SubnetRegistry#create(SubnetKey, …)).
        LeaseSnapshot listing = null;
        if (lease.ipv6Subnet() != null) {
            listing = registry.listLeases();
            Optional<Lease> other = listing.findIpv6(lease.ipv6Subnet()).filter(l -> !l.keyName().equals(lease.keyName()));
            if (other.isPresent()) {
                if (sameHost(other.get().attrs(), attrs)) {
                    throw new EtcdUnavailableException("this host's IPv6 subnet " + lease.ipv6Subnet() + " is held under another key "
                            + registry.keys().subnet(other.get().keyName()), null);
                }
                fatal(other.get());
                return;
            }
        }
        SubnetRegistry.Grant grant = registry.grant(options.ttl());
        SubnetRegistry.CreateResult result = listing == null
                ? registry.create(lease.subnet(), lease.keyName(), attrs, grant.id())
                : registry.create(lease.key(), attrs, grant.id(), listing);
        if (result instanceof SubnetRegistry.CreateResult.Created created) {
            take(created.lease(), attrs, grant.ttl());
            LOG.warn("lease {}: re-created for {} (etcd lease {})", lease.describe(), attrs.describe(), Long.toHexString(grant.id()));
            return;
        }
        registry.revokeQuietly(grant.id());
        LeaseSnapshot taken = ((SubnetRegistry.CreateResult.Taken) result).snapshot();
        Optional<Lease> holder = taken.findKey(lease.keyName());
        if (holder.isEmpty() && lease.subnet() != null) {
            holder = taken.find(lease.subnet());
        }
        if (holder.isEmpty() && lease.ipv6Subnet() != null) {
            holder = taken.findIpv6(lease.ipv6Subnet());
        }
        if (holder.isPresent() && sameHost(holder.get().attrs(), attrs)) {
            take(holder.get(), attrs, ttlOf(holder.get()));
        } else if (holder.isPresent()) {
            fatal(holder.get());
        } else if (lease.ipv6Subnet() != null && !taken.isOccupiedIpv6(lease.ipv6Subnet())
                && (lease.subnet() == null || !taken.isOccupied(lease.subnet()))) {
            throw new EtcdUnavailableException("lease keys were created under " + registry.keys().subnetsPrefix()
                    + " while " + registry.keys().subnet(lease.keyName()) + " was re-created", null);
        } else {
            throw new EtcdUnavailableException("key " + registry.keys().subnet(lease.keyName()) + " exists but its value is unreadable", null);
        }
    }

    /** The same host: the same PublicIP, and for an IPv6-only host (PublicIP 0.0.0.0) the same PublicIPv6. */
    private static boolean sameHost(LeaseAttrs a, LeaseAttrs b) {
        return a.publicIp() == b.publicIp() && (a.publicIp() != 0 || java.util.Objects.equals(a.publicIpv6(), b.publicIpv6()));
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
        String message = "lease " + holder.describe() + ": this host's subnet is now held by " + holder.attrs().publicIpText()
                + " (this host is " + Ip4.format(heldAttrs().publicIp()) + "); refusing to move to another subnet under running containers. "
                + "Stop one of the two hosts, delete its key (etcdctl del " + registry.keys().subnet(holder.keyName()) + ") and restart it.";
        LOG.error(message);
        closed = true;
        onFatal.accept(message);
    }

    /** Stops renewing; the key stays in etcd. */
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
