package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The peer set's acceptance rules and its events, from watch changes and from listings, without etcd. */
class PeerSetTest {
    static final EtcdKeys KEYS = EtcdKeys.defaults();
    static final Ip4Net OWN = Ip4Net.parse("198.19.1.0/24");
    static final NetworkConfig CONFIG = config();

    private static NetworkConfig config() {
        try {
            return ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String value(String ip) {
        return "{\"PublicIP\":\"" + ip + "\",\"BackendType\":\"vxlan\"}";
    }

    static StoredKey kv(String name, String value, long modRevision) {
        return new StoredKey(KEYS.subnet(name), value, 7, modRevision);
    }

    static LeaseFeed.Change put(String name, String ip, long modRevision) {
        return new LeaseFeed.Change(kv(name, value(ip), modRevision), true);
    }

    static LeaseFeed.Change del(String name, long modRevision) {
        return new LeaseFeed.Change(kv(name, "", modRevision), false);
    }

    /** A listing at {@code revision} of keys given as name, PublicIP pairs. */
    static LeaseSnapshot listing(long revision, String... nameIp) {
        List<StoredKey> kvs = new ArrayList<>();
        for (int i = 0; i < nameIp.length; i += 2) {
            kvs.add(kv(nameIp[i], value(nameIp[i + 1]), revision));
        }
        return LeaseSnapshot.read(KEYS, kvs, revision);
    }

    /** An event as "+subnet@ip" or "-subnet@ip". */
    static String text(LeaseEvent e) {
        return (e instanceof LeaseEvent.Added ? "+" : "-") + e.lease().subnet() + "@" + e.lease().attrs().publicIpText();
    }

    static List<String> texts(List<LeaseEvent> events) {
        return events.stream().map(PeerSetTest::text).toList();
    }

    private static PeerSet empty() {
        return new PeerSet(CONFIG, OWN, KEYS, List.of());
    }

    @Test
    void putsAndDeletesOfOtherHostsBecomeOrderedEventsAndARepeatedValueNone() {
        PeerSet peers = empty();
        PeerSet.Applied applied = peers.apply(List.of(
                put("198.19.2.0-24", "198.18.0.2", 11),
                put("198.19.3.0-24", "198.18.0.3", 12),
                put("198.19.2.0-24", "198.18.0.2", 13),
                put("198.19.2.0-24", "198.18.0.22", 14),
                del("198.19.3.0-24", 15),
                del("198.19.4.0-24", 16)));
        assertEquals(List.of("+198.19.2.0/24@198.18.0.2", "+198.19.3.0/24@198.18.0.3", "+198.19.2.0/24@198.18.0.22",
                "-198.19.3.0/24@198.18.0.3"), texts(applied.events()));
        assertEquals(List.of(), applied.ownKey());
        assertEquals(1, peers.size());
        assertEquals(14, peers.peers().get(0).modRevision(), "the peer is the key's latest value");
    }

    @Test
    void theOwnKeyIsReportedNeverAnEventAndAnUnreadableOwnValueReadsAsGone() {
        PeerSet peers = empty();
        PeerSet.Applied applied = peers.apply(List.of(
                put("198.19.1.0-24", "198.18.0.1", 11),
                del("198.19.1.0-24", 12),
                new LeaseFeed.Change(kv("198.19.1.0-24", "not json", 13), true)));
        assertEquals(List.of(), applied.events());
        assertEquals(3, applied.ownKey().size());
        assertEquals(OWN, applied.ownKey().get(0).orElseThrow().subnet());
        assertEquals(Optional.empty(), applied.ownKey().get(1));
        assertEquals(Optional.empty(), applied.ownKey().get(2));
    }

    @Test
    void junkIpv6OnlyMalformedOutsideAndOverlappingKeysAreNoPeers() {
        PeerSet peers = empty();
        PeerSet.Applied applied = peers.apply(List.of(
                new LeaseFeed.Change(new StoredKey(KEYS.subnetsPrefix() + "garbage-key", value("198.18.0.9"), 7, 11), true),
                put("0.0.0.0-0&2001:2:19:9::-64", "198.18.0.9", 12),
                new LeaseFeed.Change(kv("198.19.4.0-24", "this is not json", 13), true),
                new LeaseFeed.Change(kv("198.19.5.0-24", "{\"PublicIP\":\"not an ip\"}", 14), true),
                put("198.20.5.0-24", "198.18.0.9", 15),
                put("198.19.0.0-23", "198.18.0.9", 16),
                put("198.19.6.0-24", "198.18.0.6", 17),
                put("198.19.6.128-25", "198.18.0.7", 18),
                put("198.19.4.0-22", "198.18.0.8", 19),
                put("198.19.8.0-24", "198.18.0.8", 20)));
        assertEquals(List.of("+198.19.6.0/24@198.18.0.6", "+198.19.8.0/24@198.18.0.8"), texts(applied.events()));
        assertEquals(2, peers.size());
    }

    @Test
    void aSecondSpellingOfAPeersSubnetIsSkippedAndOnlyTheAcceptedKeyRemovesIt() {
        PeerSet peers = empty();
        String dual = "198.19.8.0-24&2001:2:19:8::-64";
        PeerSet.Applied applied = peers.apply(List.of(
                put(dual, "198.18.0.8", 11),
                put("198.19.8.0-24", "198.18.0.88", 12),
                del("198.19.8.0-24", 13)));
        assertEquals(List.of("+198.19.8.0/24@198.18.0.8"), texts(applied.events()));
        assertEquals(List.of("-198.19.8.0/24@198.18.0.8"), texts(peers.apply(List.of(del(dual, 14))).events()));
        assertEquals(0, peers.size());
    }

    @Test
    void aListingIsAcceptedInItsOrderFirstComeFirstServed() {
        LeaseSnapshot snapshot = listing(9, "198.19.1.0-24", "198.18.0.1", "198.19.2.0-23", "198.18.0.2", "198.19.3.0-24", "198.18.0.3",
                "198.19.9.0-24", "198.18.0.9", "198.20.1.0-24", "198.18.0.7");
        assertEquals(List.of("198.19.2.0/23", "198.19.9.0/24"),
                PeerSet.acceptedFrom(snapshot, CONFIG, OWN, KEYS).stream().map(l -> l.subnet().toString()).toList());
    }

    @Test
    void aDiffAgainstAListingRemovesFirstThenAddsNewAndChangedLeases() {
        LeaseSnapshot before = listing(10, "198.19.2.0-24", "198.18.0.2", "198.19.3.0-24", "198.18.0.3", "198.19.5.0-24", "198.18.0.5");
        PeerSet peers = new PeerSet(CONFIG, OWN, KEYS, PeerSet.acceptedFrom(before, CONFIG, OWN, KEYS));
        LeaseSnapshot after = listing(20, "198.19.1.0-24", "198.18.0.1", "198.19.3.0-24", "198.18.0.33", "198.19.4.0-24", "198.18.0.4",
                "198.19.5.0-24", "198.18.0.5", "198.19.5.128-25", "198.18.0.55");
        PeerSet.Diff diff = peers.diff(after, false);
        assertEquals(List.of("-198.19.2.0/24@198.18.0.2"), texts(diff.events()).subList(0, 1), "removals first");
        assertEquals(Set.of("+198.19.3.0/24@198.18.0.33", "+198.19.4.0/24@198.18.0.4"), Set.copyOf(texts(diff.events()).subList(1, 3)));
        assertEquals(3, diff.events().size(), "an unchanged peer and an overlapping newcomer give no event: " + texts(diff.events()));
        assertEquals(0, diff.kept());
        assertEquals(3, peers.size());
    }

    @Test
    void aDiffAfterADataLossKeepsAndCountsMissingPeersAndALaterDiffRemovesThem() {
        LeaseSnapshot before = listing(30, "198.19.2.0-24", "198.18.0.2", "198.19.3.0-24", "198.18.0.3");
        PeerSet peers = new PeerSet(CONFIG, OWN, KEYS, PeerSet.acceptedFrom(before, CONFIG, OWN, KEYS));
        LeaseSnapshot wiped = listing(3, "198.19.2.0-24", "198.18.0.2", "198.19.4.0-24", "198.18.0.4");

        PeerSet.Diff kept = peers.diff(wiped, true);
        assertEquals(List.of("+198.19.4.0/24@198.18.0.4"), texts(kept.events()));
        assertEquals(1, kept.kept());
        assertEquals(3, peers.size());

        PeerSet.Diff later = peers.diff(wiped, false);
        assertEquals(List.of("-198.19.3.0/24@198.18.0.3"), texts(later.events()));
        assertEquals(0, later.kept());
        assertEquals(2, peers.size());
    }

    @Test
    void aDiffKeepsThePeerUnderTheKeyItWasAcceptedUnderWhenASecondSpellingAppears() {
        String dual = "198.19.8.0-24&2001:2:19:8::-64";
        PeerSet peers = empty();
        peers.apply(List.of(put(dual, "198.18.0.8", 11)));
        LeaseSnapshot both = listing(20, "198.19.8.0-24", "198.18.0.88", dual, "198.18.0.8");
        assertEquals(List.of(), peers.diff(both, false).events());
        assertEquals(dual, peers.peers().get(0).keyName());
    }
}
