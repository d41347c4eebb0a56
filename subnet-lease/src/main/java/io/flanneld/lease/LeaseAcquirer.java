package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.schema.SubnetKey;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Acquires a subnet in etcd, holding no state between acquisitions: lists every lease, lets {@link SubnetChoice} decide,
 * and carries the decision out (rewrites a key it takes over, or claims a subnet with a create-if-absent transaction),
 * choosing again when another host was first and waiting while etcd does not answer.
 */
final class LeaseAcquirer {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseAcquirer.class);
    static final int MAX_CONFLICTS = 200;
    /**
     * Claims of an IPv6 subnet that failed only because a key was created since the listing they were chosen from
     * (their subnets still free): every such failure means another host's claim succeeded, so at a simultaneous start
     * of N hosts a host sees at most about N of them; the bound ends a start that never gets through.
     */
    static final int MAX_MOVED = 5_000;

    private final SubnetRegistry registry;
    private final LeaseOptions options;
    private final String endpoints;
    private final RandomGenerator random;

    LeaseAcquirer(SubnetRegistry registry, LeaseOptions options, String endpointsForLogs, RandomGenerator random) {
        this.registry = registry;
        this.options = options;
        this.endpoints = endpointsForLogs;
        this.random = random;
    }

    /**
     * A lease as written, with the TTL etcd gave its etcd lease (what renewal is scheduled from; null for a
     * reservation) and the listing the acquisition decided from.
     */
    record Acquisition(Lease lease, Duration ttl, LeaseSnapshot listing) {
        Acquisition listedIn(LeaseSnapshot snapshot) {
            return new Acquisition(lease, ttl, snapshot);
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
        SubnetKey unknownOutcome;
    }

    /**
     * Acquires a subnet for {@code attrs.publicIp()} ({@link LeaseManager#acquire} says in which order), retrying while
     * etcd does not answer.
     */
    Acquisition acquire(NetworkConfig config, LeaseAttrs attrs, Optional<PreviousLease> previous)
            throws SubnetExhaustedException, SubnetContentionException, EtcdAccessException, InterruptedException {
        Backoff backoff = new Backoff(options.retryMin(), options.retryMax());
        Claim claim = new Claim();
        Lease lease = null;
        try {
            while (true) {
                try {
                    Acquisition acquired = tryAcquire(config, attrs, previous, claim);
                    lease = acquired.lease();
                    return acquired;
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

    private Acquisition tryAcquire(NetworkConfig config, LeaseAttrs attrs, Optional<PreviousLease> previous, Claim claim)
            throws EtcdUnavailableException, EtcdAccessException, SubnetExhaustedException, SubnetContentionException,
            InterruptedException {
        LeaseSnapshot snapshot = registry.listLeases();
        int conflicts = 0;
        int moved = 0;
        while (conflicts < MAX_CONFLICTS) {
            LeaseSnapshot listed = snapshot;
            List<Lease> stale = SubnetChoice.stale(config, attrs, listed);
            for (Lease lease : stale) {
                registry.delete(lease);
            }
            if (config.enableIpv6()) {
                // With IPv6 a stale key may hold a leasable IPv4 subnet (a key from before EnableIPv6): once deleted,
                // this host's previous subnet there is free again.
                listed = listed.without(stale);
            }
            SubnetChoice.Decision decision = SubnetChoice.choose(config, listed, attrs, previous, claim.unknownOutcome, random);
            if (decision instanceof SubnetChoice.Decision.Reuse reuse) {
                Acquisition rewritten = rewrite(reuse.lease(), attrs);
                claim.unknownOutcome = null;
                return rewritten.listedIn(listed);
            }
            if (decision instanceof SubnetChoice.Decision.Exhausted) {
                throw new SubnetExhaustedException("no free subnet left in " + config.describeRange()
                        + ": every subnet is leased or reserved; widen Network/SubnetMin/SubnetMax or delete stale leases");
            }
            SubnetChoice.Decision.Claim chosen = (SubnetChoice.Decision.Claim) decision;
            SubnetKey candidate = chosen.key();
            if (claim.grantedLease == 0) {
                SubnetRegistry.Grant grant = registry.grant(options.ttl());
                claim.grantedLease = grant.id();
                claim.grantedTtl = grant.ttl();
            }
            claim.unknownOutcome = candidate;
            SubnetRegistry.CreateResult result = candidate.ipv6() == null
                    ? registry.create(candidate.ipv4(), attrs, claim.grantedLease)
                    : registry.create(candidate, attrs, claim.grantedLease, listed);
            claim.unknownOutcome = null;
            if (result instanceof SubnetRegistry.CreateResult.Created created) {
                LOG.info("lease {}: allocated to {} (etcd lease {}, TTL {} s)", created.lease().describe(), attrs.describe(),
                        Long.toHexString(claim.grantedLease), claim.grantedTtl.toSeconds());
                return new Acquisition(created.lease(), claim.grantedTtl, listed);
            }
            snapshot = ((SubnetRegistry.CreateResult.Taken) result).snapshot();
            Optional<Lease> holder = candidate.ipv6() == null ? snapshot.find(candidate.ipv4()) : snapshot.findKey(candidate.name());
            if (holder.isPresent() && holder.get().attrs().publicIp() == attrs.publicIp()
                    && holder.get().etcdLeaseId() == claim.grantedLease) {
                // An earlier create of this acquisition, whose answer was lost, did land.
                LOG.info("lease {}: allocated to {} (etcd lease {}, an earlier attempt's create was applied)", holder.get().describe(),
                        attrs.describe(), Long.toHexString(claim.grantedLease));
                return new Acquisition(holder.get(), claim.grantedTtl, listed);
            }
            if (candidate.ipv6() != null && SubnetChoice.free(config, snapshot, candidate.ipv4(), candidate.ipv6())) {
                // Both subnets are still free: the claim failed only because another key was created since the listing.
                if (++moved >= MAX_MOVED) {
                    throw new SubnetContentionException("gave up after " + moved + " attempts to claim " + candidate.name()
                            + " and others in " + config.describeRange() + ": lease keys kept being created under "
                            + registry.keys().subnetsPrefix() + " between each listing and the claim made from it");
                }
                LOG.debug("lease {}: other keys were created meanwhile, choosing again", candidate.name());
                // Every such failure is another host's success: back off exponentially (with full jitter, up to
                // 256 ms), so that at a mass start the claims spread out instead of failing each other in waves.
                Thread.sleep(random.nextInt(1 << Math.min(moved + 1, 8)));
                continue;
            }
            LOG.debug("lease {}: taken by another host meanwhile, choosing again", candidate.name());
            conflicts++;
            Thread.sleep(random.nextInt(5));
        }
        throw new SubnetContentionException("gave up after " + MAX_CONFLICTS + " attempts in a row to claim a subnet in "
                + config.describeRange() + ": another host created each chosen key first (" + snapshot.occupied().size()
                + " subnets held at the last attempt); too many hosts are starting at once for the free subnets left, or something "
                + "is writing keys under " + registry.keys().subnetsPrefix());
    }

    /**
     * Puts {@code attrs} on an existing key (in the form it has), keeping it a reservation or extending its etcd
     * lease. An etcd lease whose TTL is not {@code --subnet-lease-ttl} (granted by an earlier start with another
     * setting) is replaced by one that is, so that the flag takes effect on restart; either way renewal is scheduled
     * from the TTL etcd reports, never from the flag alone.
     */
    private Acquisition rewrite(Lease lease, LeaseAttrs attrs) throws EtcdUnavailableException, EtcdAccessException {
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
                            lease.describe(), Long.toHexString(lease.etcdLeaseId()), kept.get(), options.ttl().toSeconds(),
                            Long.toHexString(leaseId));
                }
            }
        }
        if (attrs.equals(lease.attrs()) && leaseId == lease.etcdLeaseId()) {
            return new Acquisition(lease, ttl, null);
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
        return new Acquisition(written.get(), ttl, null);
    }
}
