package io.flanneld.lease;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.schema.SubnetKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The other hosts' leases a backend has been told about, and the rules that admit one: pure, no I/O, one owner thread.
 * A watch change or a fresh listing goes in; the {@link LeaseEvent}s that bring the backend up to date come out, in
 * order. A peer is another host's lease inside the Network that overlaps neither this host's subnet nor a peer already
 * accepted; a second key spelling the same subnet (flannel's plain and dual-stack forms) is skipped, and only the key
 * the peer was accepted under removes it; an IPv6-only node's key is no peer (the peers are IPv4 peers: a dual-stack
 * key is one through its IPv4 subnet, and {@code own} is null on an IPv6-only node); a malformed value is dropped with a
 * warning naming the key ({@link LeaseSnapshot#decode}).
 *
 * <p>On an IPv6-only node (the config's {@code EnableIPv4} false) the same rules hold for IPv6 subnets instead: a peer
 * is another host's lease whose IPv6 subnet lies inside the IPv6Network and overlaps neither {@code own6} nor an
 * accepted peer's, whether its key is IPv6-only or dual-stack (its IPv6 half); an IPv4-only key is no peer there.
 */
final class PeerSet {
    private static final Logger LOG = LoggerFactory.getLogger(PeerSet.class);

    private final NetworkConfig config;
    private final Ip4Net own;
    private final EtcdKeys keys;
    /** Accepted peers, pairwise disjoint, in address order (so an overlap check looks at two neighbours, not at all). */
    private final NavigableMap<Ip4Net, Lease> known = new TreeMap<>();
    /** This host's IPv6 subnet, or null; used on an IPv6-only node. */
    private final Ip6Net own6;
    /** On an IPv6-only node: the accepted peers by IPv6 subnet, pairwise disjoint. */
    private final NavigableMap<Ip6Net, Lease> known6 = new TreeMap<>();

    /** @param peers the accepted peers the backend already has ({@link #acceptedFrom} of the starting listing) */
    PeerSet(NetworkConfig config, Ip4Net own, EtcdKeys keys, List<Lease> peers) {
        this(config, own, null, keys, peers);
    }

    /** @param own6 this host's IPv6 subnet (null without one): the peers' identity on an IPv6-only node */
    PeerSet(NetworkConfig config, Ip4Net own, Ip6Net own6, EtcdKeys keys, List<Lease> peers) {
        this.config = config;
        this.own = own;
        this.own6 = own6;
        this.keys = keys;
        for (Lease lease : peers) {
            if (byIpv6(config)) {
                known6.put(lease.ipv6Subnet(), lease);
            } else {
                known.put(lease.subnet(), lease);
            }
        }
    }

    /** Whether peers are told apart by their IPv6 subnets: on an IPv6-only node. */
    private static boolean byIpv6(NetworkConfig config) {
        return !config.enableIpv4() && config.enableIpv6();
    }

    /**
     * The leases of other hosts in {@code snapshot} that a backend should program, in the listing's order: inside the
     * Network and overlapping neither this host's subnet nor an earlier one; the rest are skipped with a warning naming
     * the key under {@code keys} (the subnet when {@code keys} is null).
     */
    static List<Lease> acceptedFrom(LeaseSnapshot snapshot, NetworkConfig config, Ip4Net own, EtcdKeys keys) {
        return acceptedFrom(snapshot, config, own, null, keys);
    }

    /** With this host's IPv6 subnet, which an IPv6-only node's peers are told apart from. */
    static List<Lease> acceptedFrom(LeaseSnapshot snapshot, NetworkConfig config, Ip4Net own, Ip6Net own6, EtcdKeys keys) {
        if (byIpv6(config)) {
            List<Lease> peers = new ArrayList<>();
            NavigableSet<Ip6Net> subnets = new TreeSet<>();
            snapshot.allLeases().filter(l -> l.ipv6Subnet() != null).forEach(lease -> {
                if (acceptable6(lease, config, own6, subnets, keys == null ? "" : keys.subnet(lease.keyName()))) {
                    peers.add(lease);
                    subnets.add(lease.ipv6Subnet());
                }
            });
            return peers;
        }
        List<Lease> peers = new ArrayList<>();
        NavigableSet<Ip4Net> subnets = new TreeSet<>();
        for (Lease lease : snapshot.leases()) {
            if (acceptable(lease, config, own, subnets, keys == null ? "" : keys.subnet(lease.keyName()))) {
                peers.add(lease);
                subnets.add(lease.subnet());
            }
        }
        return peers;
    }

    List<Lease> peers() {
        return byIpv6(config) ? List.copyOf(known6.values()) : List.copyOf(known.values());
    }

    int size() {
        return known.size() + known6.size();
    }

    /** What a batch of watch changes did: the events for the backend, and each change of this host's own key. */
    record Applied(List<LeaseEvent> events, List<Optional<Lease>> ownKey) {
    }

    /**
     * Applies one watch response's changes in order. A change of this host's own key is reported as what the key holds
     * now (empty when deleted or unreadable), never as an event.
     */
    Applied apply(List<LeaseFeed.Change> changes) {
        List<LeaseEvent> events = new ArrayList<>();
        List<Optional<Lease>> ownKey = new ArrayList<>();
        for (LeaseFeed.Change change : changes) {
            String key = change.kv().key();
            Optional<SubnetKey> name = keys.parseLeaseKey(key);
            if (name.isEmpty()) {
                LOG.warn("lease key {}: not a subnet key, skipped", key);
                continue;
            }
            if (byIpv6(config)) {
                apply6(change, key, name.get(), events, ownKey);
                continue;
            }
            if (name.get().ipv4() == null) {
                LOG.debug("lease key {}: an IPv6-only node's key, no IPv4 subnet", key);
                continue;
            }
            Ip4Net subnet = name.get().ipv4();
            if (subnet.equals(own)) {
                ownKey.add(change.put() ? LeaseSnapshot.decode(name.get(), change.kv()) : Optional.empty());
                continue;
            }
            if (change.put()) {
                LeaseSnapshot.decode(name.get(), change.kv()).filter(l -> acceptable(l, key)).ifPresent(lease -> {
                    Lease before = known.put(lease.subnet(), lease);
                    if (before == null || !before.attrs().equals(lease.attrs())) {
                        events.add(new LeaseEvent.Added(lease));
                    }
                });
            } else {
                Lease before = known.get(subnet);
                // Only the key the peer was accepted under: a second spelling of the same subnet (plain and
                // dual-stack) going away does not remove the peer.
                if (before != null && before.keyName().equals(name.get().name())) {
                    known.remove(subnet);
                    events.add(new LeaseEvent.Removed(before));
                }
            }
        }
        return new Applied(List.copyOf(events), List.copyOf(ownKey));
    }

    /** {@link #apply} on an IPv6-only node: peers by IPv6 subnet. */
    private void apply6(LeaseFeed.Change change, String key, SubnetKey name, List<LeaseEvent> events, List<Optional<Lease>> ownKey) {
        Ip6Net subnet = name.ipv6();
        if (subnet == null) {
            LOG.debug("lease key {}: an IPv4-only node's key, no IPv6 subnet", key);
            return;
        }
        if (subnet.equals(own6)) {
            ownKey.add(change.put() ? LeaseSnapshot.decode(name, change.kv()) : Optional.empty());
            return;
        }
        if (change.put()) {
            LeaseSnapshot.decode(name, change.kv()).filter(l -> acceptable6(l, key)).ifPresent(lease -> {
                Lease before = known6.put(lease.ipv6Subnet(), lease);
                if (before == null || !before.attrs().equals(lease.attrs())) {
                    events.add(new LeaseEvent.Added(lease));
                }
            });
        } else {
            Lease before = known6.get(subnet);
            if (before != null && before.keyName().equals(name.name())) {
                known6.remove(subnet);
                events.add(new LeaseEvent.Removed(before));
            }
        }
    }

    /** {@link #diff} on an IPv6-only node. */
    private Diff diff6(LeaseSnapshot snapshot, boolean keepMissing) {
        List<LeaseEvent> events = new ArrayList<>();
        Map<Ip6Net, Lease> now = new HashMap<>();
        snapshot.allLeases().filter(l -> l.ipv6Subnet() != null).forEach(lease -> {
            if (!lease.ipv6Subnet().equals(own6) && config.ipv6().network().contains(lease.ipv6Subnet())) {
                Lease accepted = known6.get(lease.ipv6Subnet());
                if (!now.containsKey(lease.ipv6Subnet()) || accepted != null && accepted.keyName().equals(lease.keyName())) {
                    now.put(lease.ipv6Subnet(), lease);
                }
            }
        });
        int kept = 0;
        for (Lease before : List.copyOf(known6.values())) {
            Lease after = now.get(before.ipv6Subnet());
            if (after == null || !after.keyName().equals(before.keyName())) {
                if (keepMissing) {
                    kept++;
                    continue;
                }
                known6.remove(before.ipv6Subnet());
                events.add(new LeaseEvent.Removed(before));
            }
        }
        for (Lease lease : now.values()) {
            Lease before = known6.get(lease.ipv6Subnet());
            if (before == null ? acceptable6(lease, keys.subnet(lease.keyName())) : !before.attrs().equals(lease.attrs())) {
                known6.put(lease.ipv6Subnet(), lease);
                events.add(new LeaseEvent.Added(lease));
            }
        }
        return new Diff(List.copyOf(events), kept);
    }

    private boolean acceptable6(Lease lease, String key) {
        Lease same = known6.get(lease.ipv6Subnet());
        if (same != null && !same.keyName().equals(lease.keyName())) {
            LOG.warn("lease key {}: subnet {} is already held under key {}, skipped", key, lease.ipv6Subnet(), keys.subnet(same.keyName()));
            return false;
        }
        return acceptable6(lease, config, own6, known6.navigableKeySet(), key);
    }

    /** An IPv6 peer: another host's IPv6 subnet, inside the IPv6Network, overlapping no other host's. */
    private static boolean acceptable6(Lease lease, NetworkConfig config, Ip6Net own6, NavigableSet<Ip6Net> others, String key) {
        Ip6Net subnet = lease.ipv6Subnet();
        if (subnet.equals(own6)) {
            return false;
        }
        String name = key.isEmpty() ? subnet.toString() : key;
        if (!config.ipv6().network().contains(subnet)) {
            LOG.warn("lease key {}: subnet {} is outside IPv6Network {}, skipped", name, subnet, config.ipv6().network());
            return false;
        }
        if (own6 != null && subnet.overlaps(own6)) {
            LOG.warn("lease key {}: subnet {} overlaps this host's subnet {}, skipped", name, subnet, own6);
            return false;
        }
        Ip6Net lower = others.lower(subnet);
        Ip6Net higher = others.higher(subnet);
        Ip6Net other = lower != null && lower.overlaps(subnet) ? lower : higher != null && higher.overlaps(subnet) ? higher : null;
        if (other != null) {
            LOG.warn("lease key {}: subnet {} overlaps the lease of {}, skipped", name, subnet, other);
            return false;
        }
        return true;
    }

    /** What a re-list changed: the events (removals first), and how many missing peers were kept. */
    record Diff(List<LeaseEvent> events, int kept) {
    }

    /**
     * Brings the set to a fresh listing: peers whose key is gone are removed (with {@code keepMissing}, after a data
     * loss, they are kept and counted instead), then new and changed leases are added.
     */
    Diff diff(LeaseSnapshot snapshot, boolean keepMissing) {
        if (byIpv6(config)) {
            return diff6(snapshot, keepMissing);
        }
        List<LeaseEvent> events = new ArrayList<>();
        Map<Ip4Net, Lease> now = new HashMap<>();
        for (Lease lease : snapshot.leases()) {
            if (!lease.subnet().equals(own) && config.enableIpv4() && config.network().contains(lease.subnet())) {
                Lease accepted = known.get(lease.subnet());
                // Two keys for one subnet (plain and dual-stack): the one already accepted stays the peer's.
                if (!now.containsKey(lease.subnet()) || accepted != null && accepted.keyName().equals(lease.keyName())) {
                    now.put(lease.subnet(), lease);
                }
            }
        }
        int kept = 0;
        for (Lease before : List.copyOf(known.values())) {
            Lease after = now.get(before.subnet());
            if (after == null || !after.keyName().equals(before.keyName())) {
                if (keepMissing) {
                    kept++;
                    continue;
                }
                known.remove(before.subnet());
                events.add(new LeaseEvent.Removed(before));
            }
        }
        for (Lease lease : now.values()) {
            Lease before = known.get(lease.subnet());
            if (before == null ? acceptable(lease, keys.subnet(lease.keyName())) : !before.attrs().equals(lease.attrs())) {
                known.put(lease.subnet(), lease);
                events.add(new LeaseEvent.Added(lease));
            }
        }
        return new Diff(List.copyOf(events), kept);
    }

    private boolean acceptable(Lease lease, String key) {
        Lease same = known.get(lease.subnet());
        if (same != null && !same.keyName().equals(lease.keyName())) {
            LOG.warn("lease key {}: subnet {} is already held under key {}, skipped", key, lease.subnet(), keys.subnet(same.keyName()));
            return false;
        }
        return acceptable(lease, config, own, known.navigableKeySet(), key);
    }

    /** A lease a backend may program: another host's, inside the Network, overlapping no other host's subnet. */
    private static boolean acceptable(Lease lease, NetworkConfig config, Ip4Net own, NavigableSet<Ip4Net> others, String key) {
        if (lease.subnet().equals(own)) {
            return false;
        }
        String name = key.isEmpty() ? lease.subnet().toString() : key;
        if (!config.enableIpv4()) {
            // An IPv6-only node has no IPv4 network to carry: no IPv4 peer.
            return false;
        }
        if (!config.network().contains(lease.subnet())) {
            LOG.warn("lease key {}: subnet {} is outside Network {}, skipped", name, lease.subnet(), config.network());
            return false;
        }
        if (own != null && lease.subnet().overlaps(own)) {
            LOG.warn("lease key {}: subnet {} overlaps this host's subnet {}, skipped", name, lease.subnet(), own);
            return false;
        }
        Optional<Ip4Net> other = overlapping(others, lease.subnet());
        if (other.isPresent()) {
            LOG.warn("lease key {}: subnet {} overlaps the lease of {}, skipped", name, lease.subnet(), other.get());
            return false;
        }
        return true;
    }

    /**
     * A subnet of {@code others}, other than {@code subnet} itself, that overlaps it. {@code others} is pairwise
     * disjoint, so only the neighbours of {@code subnet} in address order can: one that starts earlier and overlaps
     * must contain its start, and the nearest earlier one is the only candidate for that; one that starts inside it
     * is found by the nearest later one. O(log n) per lease keeps learning n leases O(n log n), not O(n²).
     */
    static Optional<Ip4Net> overlapping(NavigableSet<Ip4Net> others, Ip4Net subnet) {
        Ip4Net lower = others.lower(subnet);
        if (lower != null && lower.overlaps(subnet)) {
            return Optional.of(lower);
        }
        Ip4Net higher = others.higher(subnet);
        if (higher != null && higher.overlaps(subnet)) {
            return Optional.of(higher);
        }
        return Optional.empty();
    }
}
