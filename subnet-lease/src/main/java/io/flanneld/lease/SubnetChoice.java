package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.schema.SubnetKey;
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
 *
 * <p>With IPv6 enabled the same order chooses both subnets of one key: a lease of this host's is taken over only when
 * it holds a leasable subnet of each enabled family (an older key lacking one is stale, deleted and replaced, as flannel
 * does); otherwise each family's subnet is the previous one if it is free, else a random free one, and the two are
 * claimed together under one key. An IPv6-only host (EnableIPv4 false) is recognised by its PublicIPv6, since every
 * IPv6-only lease carries the PublicIP 0.0.0.0.
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

        /**
         * Claim {@code subnet} (and {@code ipv6}, when IPv6 is enabled) with a create-if-absent.
         *
         * @param subnet the IPv4 subnet, or null for an IPv6-only host
         * @param ipv6   the IPv6 subnet, or null when IPv6 is not enabled
         */
        record Claim(Ip4Net subnet, Why why, Ip6Net ipv6) implements Decision {
            Claim(Ip4Net subnet, Why why) {
                this(subnet, why, null);
            }

            /** The key the claim creates, in flannel's form for its subnets. */
            SubnetKey key() {
                return SubnetKey.of(subnet, ipv6);
            }
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
        if (config.enableIpv6()) {
            return mine(config, listing, attrs)
                    .filter(l -> !compatible(config, l))
                    .filter(l -> {
                        if (l.isReservation()) {
                            LOG.warn("lease {}: reserved for {} but not a pair of subnets in {}; ignored", l.describe(),
                                    attrs.describe(), config.describeRange());
                            return false;
                        }
                        LOG.info("lease {}: held by {} but not compatible with the config ({}); deleting it", l.describe(),
                                attrs.describe(), config.describeRange());
                        return true;
                    })
                    .toList();
        }
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
        return choose(config, listing, attrs, previous, unknownOutcome == null ? null : SubnetKey.of(unknownOutcome), random);
    }

    /**
     * {@link #decide}, for either family: {@code unknownOutcome} is the key the last create of this acquisition aimed
     * at when its answer was lost, or null.
     */
    static Decision choose(NetworkConfig config, LeaseSnapshot listing, LeaseAttrs attrs, Optional<PreviousLease> previous,
                           SubnetKey unknownOutcome, RandomGenerator random) {
        if (config.enableIpv6()) {
            return chooseWithIpv6(config, listing, attrs, previous, unknownOutcome, random);
        }
        return chooseIpv4(config, listing, attrs, previous, unknownOutcome == null ? null : unknownOutcome.ipv4(), random);
    }

    private static Decision chooseIpv4(NetworkConfig config, LeaseSnapshot listing, LeaseAttrs attrs, Optional<PreviousLease> previous,
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
                .min(Comparator.comparing((Lease l) -> !(previous.isPresent() && l.subnet().equals(previous.get().subnet())))
                        .thenComparing(l -> !l.isReservation()));
        if (mine.isPresent()) {
            Lease lease = mine.get();
            LOG.info("lease {}: found for {}{}, reusing", lease.subnet(), attrs.publicIpText(), lease.isReservation() ? " (reservation)" : "");
            return mine;
        }
        if (previous.isPresent() && previous.get().etcdLeaseId() != 0 && previous.get().subnet() != null) {
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
        if (subnet == null) {
            return Optional.empty();
        }
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

    // ---- with IPv6 ----

    /** This host's leases: by PublicIP, or by PublicIPv6 for an IPv6-only host (whose leases all carry PublicIP 0.0.0.0). */
    private static java.util.stream.Stream<Lease> mine(NetworkConfig config, LeaseSnapshot listing, LeaseAttrs attrs) {
        if (config.enableIpv4()) {
            return listing.leases().stream().filter(l -> l.attrs().publicIp() == attrs.publicIp());
        }
        if (attrs.publicIpv6() == null) {
            return java.util.stream.Stream.empty();
        }
        return listing.ipv6OnlyLeases().stream().filter(l -> attrs.publicIpv6().equals(l.attrs().publicIpv6()));
    }

    /** A lease holding a leasable subnet of each family the config enables, and none of a family it does not. */
    static boolean compatible(NetworkConfig config, Lease lease) {
        boolean v4 = config.enableIpv4() ? config.isLeasable(lease.subnet()) : lease.subnet() == null;
        boolean v6 = config.enableIpv6() ? lease.ipv6Subnet() != null && config.ipv6().isLeasable(lease.ipv6Subnet())
                : lease.ipv6Subnet() == null;
        return v4 && v6;
    }

    private static boolean samePrevious(Optional<PreviousLease> previous, Lease lease) {
        return previous.isPresent() && java.util.Objects.equals(previous.get().subnet(), lease.subnet())
                && java.util.Objects.equals(previous.get().ipv6Subnet(), lease.ipv6Subnet());
    }

    private static Decision chooseWithIpv6(NetworkConfig config, LeaseSnapshot listing, LeaseAttrs attrs,
                                           Optional<PreviousLease> previous, SubnetKey unknownOutcome, RandomGenerator random) {
        Optional<Lease> mine = mine(config, listing, attrs)
                .filter(l -> compatible(config, l))
                .min(Comparator.comparing((Lease l) -> !samePrevious(previous, l)).thenComparing(l -> !l.isReservation()));
        if (mine.isPresent()) {
            LOG.info("lease {}: found for {}{}, reusing", mine.get().describe(), attrs.describe(),
                    mine.get().isReservation() ? " (reservation)" : "");
            return new Decision.Reuse(mine.get(), false);
        }
        if (previous.isPresent() && previous.get().etcdLeaseId() != 0) {
            Optional<Lease> old = listing.allLeases()
                    .filter(l -> samePrevious(previous, l) && l.etcdLeaseId() == previous.get().etcdLeaseId() && compatible(config, l))
                    .findFirst();
            if (old.isPresent()) {
                LOG.warn("lease {}: this host's PublicIP changed from {} to {}; updating the same lease", old.get().describe(),
                        old.get().attrs().describe(), attrs.describe());
                return new Decision.Reuse(old.get(), true);
            }
        }
        if (unknownOutcome != null && unknownOutcome.ipv6() != null && free(config, listing, unknownOutcome.ipv4(), unknownOutcome.ipv6())) {
            LOG.info("lease {}: claiming it again (the last attempt's outcome is unknown)", unknownOutcome.name());
            return new Decision.Claim(unknownOutcome.ipv4(), Why.RETRY_UNKNOWN_OUTCOME, unknownOutcome.ipv6());
        }
        boolean fromPrevious = false;
        Ip4Net v4 = null;
        if (config.enableIpv4()) {
            Optional<Ip4Net> prev = previousIfFree(config, previous, listing);
            if (prev.isPresent()) {
                v4 = prev.get();
                fromPrevious = true;
            } else {
                Optional<Ip4Net> any = SubnetAllocator.pickFree(config, listing.occupied(), random);
                if (any.isEmpty()) {
                    return new Decision.Exhausted();
                }
                v4 = any.get();
            }
        }
        Ip6Net v6;
        Ip6Net prev6 = previous.map(PreviousLease::ipv6Subnet).orElse(null);
        if (prev6 != null && config.ipv6().isLeasable(prev6) && !listing.isOccupiedIpv6(prev6)) {
            LOG.info("lease {}: previous IPv6 subnet is free, reusing it", prev6);
            v6 = prev6;
            fromPrevious = true;
        } else {
            if (prev6 != null) {
                LOG.warn("lease {}: previous IPv6 subnet is held or not compatible with the config ({}); choosing another", prev6,
                        config.ipv6().describeRange());
            }
            Optional<Ip6Net> any = SubnetAllocator.pickFreeIpv6(config.ipv6(), listing.occupiedIpv6(), random);
            if (any.isEmpty()) {
                return new Decision.Exhausted();
            }
            v6 = any.get();
        }
        return new Decision.Claim(v4, fromPrevious ? Why.PREVIOUS_SUBNET : Why.RANDOM_FREE, v6);
    }

    /** Both subnets of a claim are leasable and held by no key of the listing. */
    static boolean free(NetworkConfig config, LeaseSnapshot listing, Ip4Net v4, Ip6Net v6) {
        boolean v4Free = config.enableIpv4() ? v4 != null && config.isLeasable(v4) && !listing.isOccupied(v4) : v4 == null;
        return v4Free && v6 != null && config.ipv6().isLeasable(v6) && !listing.isOccupiedIpv6(v6);
    }
}
