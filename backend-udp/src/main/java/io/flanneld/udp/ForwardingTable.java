package io.flanneld.udp;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Which peer holds which subnet: an immutable snapshot the forwarding loops read without locks while lease events
 * build the next one (copy on write; {@link UdpBackend} swaps the reference atomically). Lookups are a binary search
 * over sorted int arrays and allocate nothing.
 *
 * <p>Leases never overlap (the lease manager guarantees it); should two do anyway, the one with the lower address
 * wins and the other is left out, so a lookup always has one answer.
 */
public final class ForwardingTable {
    public static final ForwardingTable EMPTY = new ForwardingTable(new TreeMap<>());

    /** Every lease by subnet, for building the next table. */
    private final NavigableMap<Ip4Net, Lease> leases;
    /**
     * Subnet first and last addresses with the sign bit flipped, so that Java's signed int comparison orders them as
     * the unsigned addresses they are (198.19.x.x is negative as a signed int).
     */
    private final int[] starts;
    private final int[] ends;
    private final int[] publicIps;
    private final Ip4Net[] subnets;
    /** The distinct PublicIPs, sorted, to tell a datagram from a member host from one from a stranger. */
    private final int[] peers;

    private ForwardingTable(NavigableMap<Ip4Net, Lease> leases) {
        this.leases = Collections.unmodifiableNavigableMap(leases);
        List<Lease> kept = new ArrayList<>(leases.size());
        int lastEnd = 0;
        for (Lease lease : leases.values()) {
            int start = flip(lease.subnet().address());
            if (!kept.isEmpty() && start <= lastEnd) {
                continue;
            }
            kept.add(lease);
            lastEnd = flip(lease.subnet().lastAddress());
        }
        int n = kept.size();
        starts = new int[n];
        ends = new int[n];
        publicIps = new int[n];
        subnets = new Ip4Net[n];
        for (int i = 0; i < n; i++) {
            Lease lease = kept.get(i);
            starts[i] = flip(lease.subnet().address());
            ends[i] = flip(lease.subnet().lastAddress());
            publicIps[i] = lease.attrs().publicIp();
            subnets[i] = lease.subnet();
        }
        peers = Arrays.stream(publicIps).distinct().sorted().toArray();
    }

    public static ForwardingTable of(Collection<Lease> leases) {
        TreeMap<Ip4Net, Lease> map = new TreeMap<>();
        for (Lease lease : leases) {
            map.put(lease.subnet(), lease);
        }
        return new ForwardingTable(map);
    }

    /** The table after a batch of events, in order: Added inserts or replaces, Removed deletes (if present). */
    public ForwardingTable apply(List<? extends LeaseEvent> events) {
        if (events.isEmpty()) {
            return this;
        }
        TreeMap<Ip4Net, Lease> next = new TreeMap<>(leases);
        for (LeaseEvent event : events) {
            if (event instanceof LeaseEvent.Added added) {
                next.put(added.lease().subnet(), added.lease());
            } else {
                next.remove(event.lease().subnet());
            }
        }
        return new ForwardingTable(next);
    }

    private static int flip(int address) {
        return address ^ 0x80000000;
    }

    /** The entry whose subnet holds {@code address}, or -1. */
    public int find(int address) {
        int key = flip(address);
        int lo = 0;
        int hi = starts.length - 1;
        // The last entry starting at or below the address, then check that the address is not past its end.
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (starts[mid] <= key) {
                lo = mid + 1;
            } else {
                hi = mid - 1;
            }
        }
        return hi >= 0 && key <= ends[hi] ? hi : -1;
    }

    /** The PublicIP of entry {@code index} (from {@link #find}). */
    public int publicIp(int index) {
        return publicIps[index];
    }

    public Ip4Net subnet(int index) {
        return subnets[index];
    }

    /** True when some lease names {@code address} as its PublicIP. */
    public boolean isPeer(int address) {
        return Arrays.binarySearch(peers, address) >= 0;
    }

    /** Number of leases forwarded to. */
    public int size() {
        return starts.length;
    }

    /** The leases, by subnet. */
    public Collection<Lease> leases() {
        return leases.values();
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("ForwardingTable[");
        for (int i = 0; i < subnets.length; i++) {
            b.append(i == 0 ? "" : ", ").append(subnets[i]).append(" -> ").append(io.flanneld.schema.Ip4.format(publicIps[i]));
        }
        return b.append(']').toString();
    }
}
