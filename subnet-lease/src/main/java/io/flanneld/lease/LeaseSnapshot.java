package io.flanneld.lease;

import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.LeaseCodec;
import io.flanneld.schema.MalformedLeaseException;
import io.flanneld.schema.SubnetKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every lease key under the prefix at one etcd revision.
 *
 * @param leases         the keys whose values could be read and that hold an IPv4 subnet (plain or dual-stack keys):
 *                       what every IPv4 consumer (peers, backends, the IPv4 choice) reads
 * @param occupied       every IPv4 subnet that has a key, in any of flannel's key forms, readable or not: a malformed
 *                       value still holds its subnet, and so does a flannel node's dual-stack key {@code <v4>&<v6>}
 * @param ipv6OnlyLeases the readable keys of IPv6-only nodes ({@code 0.0.0.0-0&<v6>}), which hold no IPv4 subnet and
 *                       so are never among {@code leases}
 * @param occupiedIpv6   every IPv6 subnet that has a key (dual-stack or IPv6-only), readable or not
 */
public record LeaseSnapshot(List<Lease> leases, List<Ip4Net> occupied, long revision, List<Lease> ipv6OnlyLeases,
                            List<Ip6Net> occupiedIpv6) {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseSnapshot.class);

    public LeaseSnapshot {
        leases = List.copyOf(leases);
        occupied = List.copyOf(occupied);
        ipv6OnlyLeases = List.copyOf(ipv6OnlyLeases);
        occupiedIpv6 = List.copyOf(occupiedIpv6);
    }

    /** A listing of IPv4 keys alone. */
    public LeaseSnapshot(List<Lease> leases, List<Ip4Net> occupied, long revision) {
        this(leases, occupied, revision, List.of(), List.of());
    }

    /** The lease whose key holds {@code subnet}, in whichever key form. */
    public Optional<Lease> find(Ip4Net subnet) {
        return leases.stream().filter(l -> l.subnet().equals(subnet)).findFirst();
    }

    /** The lease whose key holds the IPv6 subnet {@code subnet} (a dual-stack or an IPv6-only key). */
    public Optional<Lease> findIpv6(Ip6Net subnet) {
        return allLeases().filter(l -> subnet.equals(l.ipv6Subnet())).findFirst();
    }

    /** The lease under the key named {@code keyName} (below the subnets prefix). */
    public Optional<Lease> findKey(String keyName) {
        return allLeases().filter(l -> l.keyName().equals(keyName)).findFirst();
    }

    /** Every readable lease, IPv4-holding ones first. */
    public Stream<Lease> allLeases() {
        return Stream.concat(leases.stream(), ipv6OnlyLeases.stream());
    }

    /** True when a key holds an IPv4 subnet overlapping {@code subnet}. */
    public boolean isOccupied(Ip4Net subnet) {
        return occupied.stream().anyMatch(subnet::overlaps);
    }

    /** True when a key holds an IPv6 subnet overlapping {@code subnet}. */
    public boolean isOccupiedIpv6(Ip6Net subnet) {
        return occupiedIpv6.stream().anyMatch(subnet::overlaps);
    }

    /** This listing as it is once the keys of {@code deleted} are gone (what the acquirer deleted itself). */
    public LeaseSnapshot without(Collection<Lease> deleted) {
        if (deleted.isEmpty()) {
            return this;
        }
        Set<String> names = new HashSet<>();
        List<Ip4Net> v4 = new ArrayList<>(occupied);
        List<Ip6Net> v6 = new ArrayList<>(occupiedIpv6);
        for (Lease l : deleted) {
            names.add(l.keyName());
            if (l.subnet() != null) {
                v4.remove(l.subnet());
            }
            if (l.ipv6Subnet() != null) {
                v6.remove(l.ipv6Subnet());
            }
        }
        return new LeaseSnapshot(leases.stream().filter(l -> !names.contains(l.keyName())).toList(), v4, revision,
                ipv6OnlyLeases.stream().filter(l -> !names.contains(l.keyName())).toList(), v6);
    }

    /**
     * This listing brought forward by {@code created}, a listing of the keys created since this one's revision, read
     * at a later revision: their leases replace any of the same name, their subnets are added. Keys deleted since are
     * not known and stay in, which only makes subnets look held that are not (a claim chooses among fewer).
     */
    public LeaseSnapshot plus(LeaseSnapshot created) {
        Set<String> names = new HashSet<>();
        created.allLeases().forEach(l -> names.add(l.keyName()));
        List<Lease> v4 = new ArrayList<>(leases.stream().filter(l -> !names.contains(l.keyName())).toList());
        v4.addAll(created.leases);
        List<Lease> v6 = new ArrayList<>(ipv6OnlyLeases.stream().filter(l -> !names.contains(l.keyName())).toList());
        v6.addAll(created.ipv6OnlyLeases);
        List<Ip4Net> held = new ArrayList<>(occupied);
        held.addAll(created.occupied);
        List<Ip6Net> held6 = new ArrayList<>(occupiedIpv6);
        held6.addAll(created.occupiedIpv6);
        return new LeaseSnapshot(v4, held, Math.max(revision, created.revision), v6, held6);
    }

    /**
     * Reads the keys of one range read. Keys that are not lease keys are skipped with a warning naming them; a key of
     * an IPv6-only node holds no IPv4 subnet and is kept apart ({@link #ipv6OnlyLeases}), out of every IPv4 list; a
     * malformed value is skipped with a warning but its subnets stay occupied.
     */
    public static LeaseSnapshot read(EtcdKeys keys, List<StoredKey> kvs, long revision) {
        List<Lease> leases = new ArrayList<>(kvs.size());
        List<Ip4Net> occupied = new ArrayList<>(kvs.size());
        List<Lease> ipv6Only = new ArrayList<>();
        List<Ip6Net> occupiedIpv6 = new ArrayList<>();
        for (StoredKey kv : kvs) {
            Optional<SubnetKey> name = keys.parseLeaseKey(kv.key());
            if (name.isEmpty()) {
                LOG.warn("lease key {}: not a subnet key (want <prefix>/subnets/a.b.c.d-len or flannel's a.b.c.d-len&ipv6-len), skipped",
                        kv.key());
                continue;
            }
            if (name.get().ipv6() != null) {
                occupiedIpv6.add(name.get().ipv6());
            }
            if (name.get().ipv4() == null) {
                LOG.debug("lease key {}: an IPv6-only node's key, no IPv4 subnet", kv.key());
                decode(name.get(), kv).ifPresent(ipv6Only::add);
                continue;
            }
            occupied.add(name.get().ipv4());
            decode(name.get(), kv).ifPresent(leases::add);
        }
        return new LeaseSnapshot(leases, occupied, revision, ipv6Only, occupiedIpv6);
    }

    /** The lease a key holds, or empty (with a warning naming the key) when its value is malformed. */
    static Optional<Lease> decode(SubnetKey name, StoredKey kv) {
        try {
            LeaseAttrs attrs = LeaseCodec.parse(kv.value());
            return Optional.of(Lease.of(name, attrs, kv.etcdLeaseId(), kv.modRevision()));
        } catch (MalformedLeaseException e) {
            LOG.warn("lease key {}: malformed value skipped: {}", kv.key(), e.getMessage());
            return Optional.empty();
        }
    }
}
