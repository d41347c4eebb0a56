package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The acquirer's decision from one listing, without etcd. */
class SubnetChoiceTest {
    private static final NetworkConfig CONFIG = config("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.1.0\",\"SubnetMax\":\"198.19.4.0\"}");
    private static final LeaseAttrs ME = attrs("198.18.0.1");
    private static final LeaseAttrs OTHER = attrs("198.18.0.2");

    private static NetworkConfig config(String json) {
        try {
            return ConfigCodec.parse(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static LeaseAttrs attrs(String ip) {
        return new LeaseAttrs(Ip4.parse(ip), "vxlan", null);
    }

    private static Ip4Net net(String cidr) {
        return Ip4Net.parse(cidr);
    }

    private static Lease lease(String cidr, LeaseAttrs attrs, long etcdLease) {
        return new Lease(net(cidr), attrs, etcdLease, 5, EtcdKeys.subnetName(net(cidr)));
    }

    /** A listing of these leases, every one occupying its subnet, plus {@code unreadable} subnets held by keys that could not be read. */
    private static LeaseSnapshot listing(List<Lease> leases, Ip4Net... unreadable) {
        List<Ip4Net> occupied = new ArrayList<>(leases.stream().map(Lease::subnet).toList());
        occupied.addAll(List.of(unreadable));
        return new LeaseSnapshot(leases, occupied, 42);
    }

    private static SubnetChoice.Decision decide(LeaseSnapshot listing, Optional<PreviousLease> previous, Ip4Net unknownOutcome) {
        return SubnetChoice.decide(CONFIG, listing, ME, previous, unknownOutcome, new Random(7));
    }

    @Test
    void aLeaseWithThisHostsPublicIpIsReusedThePreviousSubnetFirstThenAReservationBeforeALease() {
        Lease reservation = lease("198.19.1.0/24", ME, 0);
        Lease leased = lease("198.19.2.0/24", ME, 9);
        Lease previousOne = lease("198.19.3.0/24", ME, 0);
        LeaseSnapshot all = listing(List.of(reservation, leased, previousOne, lease("198.19.4.0/24", OTHER, 3)));

        assertEquals(new SubnetChoice.Decision.Reuse(previousOne, false),
                decide(all, Optional.of(new PreviousLease(net("198.19.3.0/24"), 0)), null));
        assertEquals(new SubnetChoice.Decision.Reuse(reservation, false), decide(all, Optional.empty(), null));
        assertEquals(new SubnetChoice.Decision.Reuse(leased, false),
                decide(listing(List.of(leased, lease("198.19.4.0/24", OTHER, 3))), Optional.empty(), null));
    }

    @Test
    void aLeaseWithThisHostsPublicIpOutsideTheRangeIsNotReusedAndIsStaleUnlessAReservation() {
        Lease outsideLeased = lease("198.19.9.0/24", ME, 9);
        Lease outsideReserved = lease("198.19.8.0/24", ME, 0);
        LeaseSnapshot all = listing(List.of(outsideLeased, outsideReserved, lease("198.19.5.0/24", OTHER, 9)));

        assertEquals(List.of(outsideLeased), SubnetChoice.stale(CONFIG, ME, all));
        assertInstanceOf(SubnetChoice.Decision.Claim.class, decide(all, Optional.empty(), null));
    }

    @Test
    void thisHostsOwnKeyUnderAnOlderPublicIpIsReusedOnlyWhenItsEtcdLeaseMatches() {
        Lease old = lease("198.19.2.0/24", attrs("198.18.0.99"), 77);
        LeaseSnapshot all = listing(List.of(old));

        assertEquals(new SubnetChoice.Decision.Reuse(old, true), decide(all, Optional.of(new PreviousLease(old.subnet(), 77)), null));
        // Another host's key that took the subnet after ours expired: not ours, and the previous subnet is not free.
        SubnetChoice.Decision other = decide(all, Optional.of(new PreviousLease(old.subnet(), 78)), null);
        assertEquals(SubnetChoice.Why.RANDOM_FREE, ((SubnetChoice.Decision.Claim) other).why());
        assertFalse(((SubnetChoice.Decision.Claim) other).subnet().overlaps(old.subnet()));
        // Unknown etcd lease id: never taken over.
        assertInstanceOf(SubnetChoice.Decision.Claim.class, decide(all, Optional.of(new PreviousLease(old.subnet(), 0)), null));
    }

    @Test
    void theSubnetOfACreateWithAnUnknownOutcomeIsClaimedAgainWhileFree() {
        LeaseSnapshot empty = listing(List.of());
        Ip4Net pending = net("198.19.2.0/24");
        Optional<PreviousLease> previous = Optional.of(new PreviousLease(net("198.19.3.0/24"), 0));

        assertEquals(new SubnetChoice.Decision.Claim(pending, SubnetChoice.Why.RETRY_UNKNOWN_OUTCOME), decide(empty, previous, pending));
        // Taken meanwhile by someone else, or no longer in the range: the previous subnet instead.
        SubnetChoice.Decision taken = decide(listing(List.of(lease("198.19.2.0/24", OTHER, 4))), previous, pending);
        assertEquals(new SubnetChoice.Decision.Claim(net("198.19.3.0/24"), SubnetChoice.Why.PREVIOUS_SUBNET), taken);
        assertEquals(SubnetChoice.Why.PREVIOUS_SUBNET, ((SubnetChoice.Decision.Claim) decide(empty, previous, net("198.19.9.0/24"))).why());
    }

    @Test
    void thePreviousSubnetIsClaimedWhenFreeAndSkippedWhenHeldUnderAnyKeyOrOutsideTheRange() {
        Ip4Net previous = net("198.19.3.0/24");
        Optional<PreviousLease> prev = Optional.of(new PreviousLease(previous, 0));

        assertEquals(new SubnetChoice.Decision.Claim(previous, SubnetChoice.Why.PREVIOUS_SUBNET), decide(listing(List.of()), prev, null));
        // Held by a key whose value could not be read (or a flannel dual-stack key): still occupied.
        SubnetChoice.Decision held = decide(listing(List.of(), net("198.19.3.0/25")), prev, null);
        assertEquals(SubnetChoice.Why.RANDOM_FREE, ((SubnetChoice.Decision.Claim) held).why());
        assertFalse(((SubnetChoice.Decision.Claim) held).subnet().equals(previous));
        SubnetChoice.Decision outside = decide(listing(List.of()), Optional.of(new PreviousLease(net("198.19.200.0/24"), 0)), null);
        assertTrue(CONFIG.isLeasable(((SubnetChoice.Decision.Claim) outside).subnet()));
    }

    @Test
    void aRandomPickAvoidsEveryOccupiedSubnetAndAFullRangeIsExhausted() {
        LeaseSnapshot three = listing(List.of(lease("198.19.1.0/24", OTHER, 1), lease("198.19.2.0/24", OTHER, 1)), net("198.19.4.0/24"));
        for (int seed = 0; seed < 20; seed++) {
            SubnetChoice.Decision d = SubnetChoice.decide(CONFIG, three, ME, Optional.empty(), null, new Random(seed));
            assertEquals(new SubnetChoice.Decision.Claim(net("198.19.3.0/24"), SubnetChoice.Why.RANDOM_FREE), d);
        }
        LeaseSnapshot full = listing(List.of(lease("198.19.1.0/24", OTHER, 1)), net("198.19.2.0/23"), net("198.19.4.0/24"));
        assertEquals(new SubnetChoice.Decision.Exhausted(), decide(full, Optional.of(new PreviousLease(net("198.19.3.0/24"), 0)), null));
    }
}
