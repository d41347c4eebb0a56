package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The acquirer's decision, pure: given one listing of every lease key, this host's attributes and what it held before,
 * which key to take over or which subnet to claim. In order: a lease already carrying this host's PublicIP (flannel's
 * behaviour on restart); this host's own key written under an older PublicIP; the subnet a create with an unknown
 * outcome aimed at; the previous subnet if it is free; a random free one. {@link LeaseAcquirer} carries it out.
 */
final class SubnetChoice {
    private static final Logger LOG = LoggerFactory.getLogger(SubnetChoice.class);

    private SubnetChoice() {
    }

    /** What to do with one listing. */
    sealed interface Decision {
        /**
         * Rewrite an existing key with this host's attributes.
         *
         * @param publicIpChanged the key is this host's own, written when its PublicIP was another one
         */
        record Reuse(Lease lease, boolean publicIpChanged) implements Decision {
        }

        /** Claim {@code subnet} with a create-if-absent. */
        record Claim(Ip4Net subnet, Why why) implements Decision {
        }

        /** Every subnet in the range is held. */
        record Exhausted() implements Decision {
        }
    }

    enum Why {
        /** The last create's outcome is unknown: the same subnet again, so that a late create leaves one key. */
        RETRY_UNKNOWN_OUTCOME,
        PREVIOUS_SUBNET,
        RANDOM_FREE
    }

    /**
     * This host's leases (by PublicIP) that the config no longer allows and that are not reservations: the acquirer
     * deletes them before it acts on {@link #decide}. A reservation outside the range is left alone, with a warning.
     */
    static List<Lease> stale(NetworkConfig config, LeaseAttrs attrs, LeaseSnapshot listing) {
        return listing.leases().stream()
                .filter(l -> l.attrs().publicIp() == attrs.publicIp() && !config.isLeasable(l.subnet()))
                .filter(l -> {
                    if (l.isReservation()) {
                        LOG.warn("lease {}: reserved for {} but outside {}; ignored", l.subnet(), attrs.publicIpText(), config.describeRange());
                        return false;
                    }
                    LOG.info("lease {}: held by {} but not compatible with the config ({}); deleting it", l.subnet(),
                            attrs.publicIpText(), config.describeRange());
                    return true;
                })
                .toList();
    }

    /**
     * @param unknownOutcome the subnet the last create of this acquisition aimed at when its answer was lost, or null
     */
    static Decision decide(NetworkConfig config, LeaseSnapshot listing, LeaseAttrs attrs, Optional<PreviousLease> previous,
                           Ip4Net unknownOutcome, RandomGenerator random) {
        Optional<Lease> reuse = reusable(config, listing, attrs, previous);
        if (reuse.isPresent()) {
            return new Decision.Reuse(reuse.get(), reuse.get().attrs().publicIp() != attrs.publicIp());
        }
        List<Ip4Net> occupied = listing.occupied();
        if (unknownOutcome != null && config.isLeasable(unknownOutcome) && occupied.stream().noneMatch(unknownOutcome::overlaps)) {
            LOG.info("lease {}: claiming it again (the last attempt's outcome is unknown)", unknownOutcome);
            return new Decision.Claim(unknownOutcome, Why.RETRY_UNKNOWN_OUTCOME);
        }
        Optional<Ip4Net> prev = previousIfFree(config, previous, listing);
        if (prev.isPresent()) {
            return new Decision.Claim(prev.get(), Why.PREVIOUS_SUBNET);
        }
        return SubnetAllocator.pickFree(config, occupied, random)
                .<Decision>map(s -> new Decision.Claim(s, Why.RANDOM_FREE))
                .orElseGet(Decision.Exhausted::new);
    }

    /** A key to take over: one with this host's PublicIP (the previous subnet first, then leases before reservations), else this host's own key under an older PublicIP. */
    private static Optional<Lease> reusable(NetworkConfig config, LeaseSnapshot listing, LeaseAttrs attrs, Optional<PreviousLease> previous) {
        Optional<Lease> mine = listing.leases().stream()
                .filter(l -> l.attrs().publicIp() == attrs.publicIp() && config.isLeasable(l.subnet()))
                .min(Comparator.comparing((Lease l) -> !(previous.isPresent() && previous.get().subnet().equals(l.subnet())))
                        .thenComparing(l -> !l.isReservation()));
        if (mine.isPresent()) {
            Lease lease = mine.get();
            LOG.info("lease {}: found for {}{}, reusing", lease.subnet(), attrs.publicIpText(), lease.isReservation() ? " (reservation)" : "");
            return mine;
        }
        if (previous.isPresent() && previous.get().etcdLeaseId() != 0) {
            Optional<Lease> old = listing.find(previous.get().subnet())
                    .filter(l -> l.etcdLeaseId() == previous.get().etcdLeaseId() && config.isLeasable(l.subnet()));
            if (old.isPresent()) {
                LOG.warn("lease {}: this host's PublicIP changed from {} to {}; updating the same lease", old.get().subnet(),
                        old.get().attrs().publicIpText(), attrs.publicIpText());
                return old;
            }
        }
        return Optional.empty();
    }

    private static Optional<Ip4Net> previousIfFree(NetworkConfig config, Optional<PreviousLease> previous, LeaseSnapshot listing) {
        if (previous.isEmpty()) {
            return Optional.empty();
        }
        Ip4Net subnet = previous.get().subnet();
        if (!config.isLeasable(subnet)) {
            LOG.warn("lease {}: previous subnet is not compatible with the config ({}); ignoring it", subnet, config.describeRange());
            return Optional.empty();
        }
        if (listing.occupied().stream().anyMatch(subnet::overlaps)) {
            Optional<Lease> holder = listing.find(subnet);
            LOG.warn("lease {}: previous subnet is now held by {}; choosing another", subnet,
                    holder.map(l -> l.attrs().publicIpText()).orElse("another key"));
            return Optional.empty();
        }
        LOG.info("lease {}: previous subnet is free, reusing it", subnet);
        return Optional.of(subnet);
    }
}
