package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Ipv6Config;
import io.flanneld.schema.NetworkConfig;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Picks a free subnet uniformly at random among all free ones in [SubnetMin, SubnetMax].
 * Uniform choice over the whole range (flannel picks among the first 100 free) keeps hundreds of
 * hosts starting at once from colliding on the same few subnets. Pure: no I/O.
 *
 * <p>IPv6 ranges hold up to 2^126 subnets, so nothing here enumerates subnets, only occupied ones: an IPv6 subnet is
 * first drawn at random from the whole range a bounded number of times ({@link #IPV6_DRAWS}), each draw kept only if no
 * occupied subnet overlaps it, which in a range far larger than the cluster succeeds at once; when every draw hit an
 * occupied subnet (a small or nearly full range) the choice is made exactly, uniformly among the free subnets, by the
 * IPv4 method of merged occupied index ranges in 128-bit arithmetic, which also tells a full range.
 */
public final class SubnetAllocator {
    private SubnetAllocator() {
    }

    /** Random draws of an IPv6 subnet before the exact choice among the free ones. */
    static final int IPV6_DRAWS = 16;

    /** A free IPv6 subnet of {@code config}'s range, chosen uniformly at random; empty when every one is occupied. */
    public static Optional<Ip6Net> pickFreeIpv6(Ipv6Config config, Collection<Ip6Net> occupied, RandomGenerator random) {
        BigInteger count = config.subnetCount();
        for (int draw = 0; draw < IPV6_DRAWS; draw++) {
            Ip6Net candidate = config.subnetAt(below(count, random));
            if (occupied.stream().noneMatch(candidate::overlaps)) {
                return Optional.of(candidate);
            }
        }
        return pickFreeIpv6Exactly(config, occupied, random);
    }

    /** The exact uniform choice among the free IPv6 subnets (see the class comment). */
    static Optional<Ip6Net> pickFreeIpv6Exactly(Ipv6Config config, Collection<Ip6Net> occupied, RandomGenerator random) {
        BigInteger count = config.subnetCount();
        int shift = 128 - config.subnetLen();
        BigInteger min = config.subnetMin().toBigInteger();
        List<BigInteger[]> ranges = new ArrayList<>();
        for (Ip6Net net : occupied) {
            BigInteger first = net.address().toBigInteger().subtract(min);
            BigInteger last = net.lastAddress().toBigInteger().subtract(min);
            // Floor division by the subnet size; a net below the minimum starts before index 0.
            first = first.signum() < 0 ? BigInteger.valueOf(-1) : first.shiftRight(shift);
            last = last.signum() < 0 ? BigInteger.valueOf(-1) : last.shiftRight(shift);
            first = first.max(BigInteger.ZERO);
            last = last.min(count.subtract(BigInteger.ONE));
            if (first.compareTo(last) <= 0) {
                ranges.add(new BigInteger[] {first, last});
            }
        }
        ranges.sort((a, b) -> a[0].compareTo(b[0]));
        List<BigInteger[]> merged = new ArrayList<>();
        for (BigInteger[] r : ranges) {
            BigInteger[] tail = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (tail != null && r[0].compareTo(tail[1].add(BigInteger.ONE)) <= 0) {
                tail[1] = tail[1].max(r[1]);
            } else {
                merged.add(new BigInteger[] {r[0], r[1]});
            }
        }
        BigInteger used = BigInteger.ZERO;
        for (BigInteger[] r : merged) {
            used = used.add(r[1].subtract(r[0]).add(BigInteger.ONE));
        }
        BigInteger free = count.subtract(used);
        if (free.signum() <= 0) {
            return Optional.empty();
        }
        BigInteger index = below(free, random);
        for (BigInteger[] r : merged) {
            if (r[0].compareTo(index) <= 0) {
                index = index.add(r[1].subtract(r[0]).add(BigInteger.ONE));
            } else {
                break;
            }
        }
        return Optional.of(config.subnetAt(index));
    }

    /** A uniformly random number in [0, bound), bound > 0, up to 2^128. */
    static BigInteger below(BigInteger bound, RandomGenerator random) {
        if (bound.bitLength() < 63) {
            return BigInteger.valueOf(random.nextLong(bound.longValueExact()));
        }
        int bits = bound.bitLength();
        BigInteger candidate = BigInteger.ZERO;
        // Rejection sampling on bitLength random bits: each draw succeeds with probability above 1/2.
        for (int draw = 0; draw < 128; draw++) {
            candidate = new Ip6(random.nextLong(), random.nextLong()).toBigInteger().shiftRight(128 - bits);
            if (candidate.compareTo(bound) < 0) {
                return candidate;
            }
        }
        return candidate.mod(bound);
    }

    public static Optional<Ip4Net> pickFree(NetworkConfig config, Collection<Ip4Net> occupied, RandomGenerator random) {
        long count = config.subnetCount();
        // Occupied index ranges, merged and sorted, so that the r-th free index is found in one pass.
        List<long[]> ranges = occupiedRanges(config, occupied);
        long used = 0;
        for (long[] r : ranges) {
            used += r[1] - r[0] + 1;
        }
        long free = count - used;
        if (free <= 0) {
            return Optional.empty();
        }
        long target = random.nextLong(free);
        long index = target;
        for (long[] r : ranges) {
            if (r[0] <= index) {
                index += r[1] - r[0] + 1;
            } else {
                break;
            }
        }
        return Optional.of(config.subnetAt(index));
    }

    /** Inclusive index ranges [first, last] of leasable subnets that overlap any occupied net. */
    private static List<long[]> occupiedRanges(NetworkConfig config, Collection<Ip4Net> occupied) {
        long count = config.subnetCount();
        int shift = 32 - config.subnetLen();
        long min = Integer.toUnsignedLong(config.subnetMin());
        List<long[]> ranges = new ArrayList<>();
        for (Ip4Net net : occupied) {
            long lo = Integer.toUnsignedLong(net.address());
            long hi = Integer.toUnsignedLong(net.lastAddress());
            long first = Math.floorDiv(lo - min, 1L << shift);
            long last = Math.floorDiv(hi - min, 1L << shift);
            first = Math.max(first, 0);
            last = Math.min(last, count - 1);
            if (first <= last) {
                ranges.add(new long[] {first, last});
            }
        }
        ranges.sort((a, b) -> Long.compare(a[0], b[0]));
        List<long[]> merged = new ArrayList<>();
        for (long[] r : ranges) {
            long[] tail = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (tail != null && r[0] <= tail[1] + 1) {
                tail[1] = Math.max(tail[1], r[1]);
            } else {
                merged.add(new long[] {r[0], r[1]});
            }
        }
        return merged;
    }

}
