package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * An IPv6-only node's peers: other hosts' IPv6 subnets (IPv6-only and dual-stack keys alike), told apart by IPv6
 * subnet, its own key recognised by its IPv6 subnet; IPv4-only keys and subnets outside the IPv6Network are no peers.
 */
class PeerSetIpv6OnlyTest {
    private static final NetworkConfig V6_ONLY = config();
    private static final Ip6Net OWN6 = Ip6Net.parse("2001:2:19:1::/64");

    private static NetworkConfig config() {
        try {
            return ConfigCodec.parse("{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"Backend\":{\"Type\":\"vxlan\"}}");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String value(String ip6) {
        return "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"" + ip6 + "\",\"BackendType\":\"vxlan\"}";
    }

    private static LeaseFeed.Change put(String name, String ip6, long rev) {
        return new LeaseFeed.Change(PeerSetTest.kv(name, value(ip6), rev), true);
    }

    private static LeaseFeed.Change del(String name, long rev) {
        return new LeaseFeed.Change(PeerSetTest.kv(name, "", rev), false);
    }

    private static List<String> texts(List<LeaseEvent> events) {
        return events.stream().map(e -> (e instanceof LeaseEvent.Added ? "+" : "-") + e.lease().ipv6Subnet() + "@"
                + e.lease().attrs().publicIpv6()).toList();
    }

    @Test
    void ipv6SubnetsOfIpv6OnlyAndDualStackKeysArePeersAndTheOwnKeyIsReported() {
        PeerSet peers = new PeerSet(V6_ONLY, null, OWN6, PeerSetTest.KEYS, List.of());
        PeerSet.Applied applied = peers.apply(List.of(
                put("0.0.0.0-0&2001:2:19:2::-64", "2001:2::2", 11),
                put("198.19.3.0-24&2001:2:19:3::-64", "2001:2::3", 12),
                put("198.19.4.0-24", "2001:2::4", 13),
                put("0.0.0.0-0&2001:2:20:5::-64", "2001:2::5", 14),
                put("0.0.0.0-0&2001:2:19:1::-64", "2001:2::1", 15),
                del("0.0.0.0-0&2001:2:19:2::-64", 16)));
        assertEquals(List.of("+2001:2:19:2::/64@2001:2::2", "+2001:2:19:3::/64@2001:2::3", "-2001:2:19:2::/64@2001:2::2"),
                texts(applied.events()));
        assertEquals(1, applied.ownKey().size());
        assertEquals(Optional.of(OWN6), applied.ownKey().get(0).map(l -> l.ipv6Subnet()));
        assertEquals(1, peers.size());
    }

    @Test
    void aListingGivesTheIpv6PeersAndAReListTheirDifference() {
        List<StoredKey> kvs = new ArrayList<>();
        kvs.add(PeerSetTest.kv("0.0.0.0-0&2001:2:19:1::-64", value("2001:2::1"), 5));
        kvs.add(PeerSetTest.kv("0.0.0.0-0&2001:2:19:2::-64", value("2001:2::2"), 5));
        kvs.add(PeerSetTest.kv("198.19.3.0-24&2001:2:19:3::-64", value("2001:2::3"), 5));
        LeaseSnapshot first = LeaseSnapshot.read(PeerSetTest.KEYS, kvs, 5);
        List<io.flanneld.schema.Lease> initial = PeerSet.acceptedFrom(first, V6_ONLY, null, OWN6, PeerSetTest.KEYS);
        assertEquals(List.of("2001:2:19:2::/64", "2001:2:19:3::/64"), initial.stream().map(l -> l.ipv6Subnet().toString()).sorted().toList());

        PeerSet peers = new PeerSet(V6_ONLY, null, OWN6, PeerSetTest.KEYS, initial);
        kvs.remove(1);
        kvs.add(PeerSetTest.kv("0.0.0.0-0&2001:2:19:4::-64", value("2001:2::4"), 6));
        PeerSet.Diff diff = peers.diff(LeaseSnapshot.read(PeerSetTest.KEYS, kvs, 6), false);
        assertEquals(List.of("-2001:2:19:2::/64@2001:2::2", "+2001:2:19:4::/64@2001:2::4"), texts(diff.events()));
    }
}
