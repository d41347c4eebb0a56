package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Picks a free subnet uniformly at random among all free ones in [SubnetMin, SubnetMax].
 * Uniform choice over the whole range (flannel picks among the first 100 free) keeps hundreds of
 * hosts starting at once from colliding on the same few subnets. Pure: no I/O.
 */
public final class SubnetAllocator {
    private SubnetAllocator() {
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
