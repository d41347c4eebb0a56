package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.LeaseCodec;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.schema.SubnetKey;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The acquirer's decision with IPv6 enabled, from one listing, without etcd. */
class SubnetChoiceIpv6Test {
    private static final EtcdKeys KEYS = EtcdKeys.defaults();
    /** Four IPv4 subnets (198.19.1–4.0/24) and three IPv6 ones (2001:2:19:4::/62 … :c::/62 of 2001:2:19::/60). */
    private static final NetworkConfig DUAL = config("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.1.0\",\"SubnetMax\":\"198.19.4.0\","
            + "\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/60\",\"IPv6SubnetLen\":62,\"Backend\":{\"Type\":\"vxlan\"}}");
    private static final NetworkConfig WIDE = config("{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"vxlan\"}}");
    private static final NetworkConfig V6_ONLY = config("{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"vxlan\"}}");
    private static final LeaseAttrs ME = attrs("198.18.0.1", "2001:2::1");
    private static final LeaseAttrs OTHER = attrs("198.18.0.2", "2001:2::2");

    private static NetworkConfig config(String json) {
        try {
            return ConfigCodec.parse(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static LeaseAttrs attrs(String ip, String ip6) {
        return new LeaseAttrs(ip == null ? 0 : Ip4.parse(ip), "vxlan", null).withIpv6(Ip6.parse(ip6), null);
    }

    private static Ip4Net v4(String cidr) {
        return Ip4Net.parse(cidr);
    }

    private static Ip6Net v6(String cidr) {
        return Ip6Net.parse(cidr);
    }

    /** A listing read from keys and values, as LeaseSnapshot reads etcd's: every key form, malformed values included. */
    private static LeaseSnapshot listing(Object... keysAndValues) {
        List<StoredKey> kvs = new java.util.ArrayList<>();
        for (int i = 0; i < keysAndValues.length; i += 3) {
            kvs.add(new StoredKey(KEYS.subnetsPrefix() + keysAndValues[i], (String) keysAndValues[i + 1], (Long) keysAndValues[i + 2], 5));
        }
        return LeaseSnapshot.read(KEYS, kvs, 42);
    }

    private static SubnetChoice.Decision choose(NetworkConfig config, LeaseSnapshot listing, LeaseAttrs me, Optional<PreviousLease> previous) {
        return SubnetChoice.choose(config, listing, me, previous, null, new Random(3));
    }

    @Test
    void theListingKeepsIpv6OnlyKeysApartAndEveryIpv6SubnetOccupied() {
        LeaseSnapshot l = listing("198.19.1.0-24&2001:2:19:4::-62", LeaseCodec.toJson(OTHER), 7L,
                "0.0.0.0-0&2001:2:19:8::-62", LeaseCodec.toJson(attrs(null, "2001:2::9")), 8L,
                "198.19.2.0-24&2001:2:19:c::-62", "not json", 9L,
                "198.19.3.0-24", LeaseCodec.toJson(new LeaseAttrs(Ip4.parse("198.18.0.3"), "vxlan", null)), 10L);
        assertEquals(List.of(v4("198.19.1.0/24"), v4("198.19.2.0/24"), v4("198.19.3.0/24")), l.occupied());
        assertEquals(List.of(v6("2001:2:19:4::/62"), v6("2001:2:19:8::/62"), v6("2001:2:19:c::/62")), l.occupiedIpv6(),
                "a malformed value still holds its subnets");
        assertEquals(2, l.leases().size(), "IPv4-holding readable keys, as before");
        assertEquals(v6("2001:2:19:4::/62"), l.leases().get(0).ipv6Subnet());
        assertEquals(1, l.ipv6OnlyLeases().size());
        assertNull(l.ipv6OnlyLeases().get(0).subnet());
        assertEquals(Optional.of(l.ipv6OnlyLeases().get(0)), l.findIpv6(v6("2001:2:19:8::/62")));
        assertEquals(Optional.empty(), l.find(v4("198.19.4.0/24")));
    }

    @Test
    void aFreshHostClaimsOneFreeSubnetOfEachFamilyUnderOneKey() {
        SubnetChoice.Decision d = choose(DUAL, listing(), ME, Optional.empty());
        SubnetChoice.Decision.Claim claim = assertInstanceOf(SubnetChoice.Decision.Claim.class, d);
        assertTrue(DUAL.isLeasable(claim.subnet()), claim.toString());
        assertTrue(DUAL.ipv6().isLeasable(claim.ipv6()), claim.toString());
        assertEquals(SubnetChoice.Why.RANDOM_FREE, claim.why());
        assertEquals(EtcdKeys.subnetName(claim.subnet(), claim.ipv6()), claim.key().name());
    }

    @Test
    void anIpv6SubnetHeldUnderAnyKeyFormIsNeverChosen() {
        // Two of the three IPv6 subnets held, one by a dual-stack key and one by an IPv6-only key's unreadable value.
        LeaseSnapshot l = listing("198.19.1.0-24&2001:2:19:4::-62", LeaseCodec.toJson(OTHER), 7L,
                "0.0.0.0-0&2001:2:19:c::-62", "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":7}", 8L);
        for (int seed = 0; seed < 50; seed++) {
            SubnetChoice.Decision.Claim claim = (SubnetChoice.Decision.Claim) SubnetChoice.choose(DUAL, l, ME, Optional.empty(), null,
                    new Random(seed));
            assertEquals(v6("2001:2:19:8::/62"), claim.ipv6());
            assertNotEquals(v4("198.19.1.0/24"), claim.subnet());
        }
        LeaseSnapshot full = listing("198.19.1.0-24&2001:2:19:4::-62", LeaseCodec.toJson(OTHER), 7L,
                "0.0.0.0-0&2001:2:19:8::-62", LeaseCodec.toJson(attrs(null, "2001:2::9")), 8L,
                "198.19.2.0-24&2001:2:19:c::-62", LeaseCodec.toJson(attrs("198.18.0.3", "2001:2::3")), 9L);
        assertEquals(new SubnetChoice.Decision.Exhausted(), choose(DUAL, full, ME, Optional.empty()), "IPv4 subnets left, no IPv6 one");
    }

    @Test
    void thisHostsDualStackLeaseIsReusedAndAPlainOneIsStale() {
        LeaseSnapshot l = listing("198.19.2.0-24&2001:2:19:8::-62", LeaseCodec.toJson(ME), 7L,
                "198.19.3.0-24", LeaseCodec.toJson(new LeaseAttrs(ME.publicIp(), "vxlan", null)), 8L);
        SubnetChoice.Decision.Reuse reuse = assertInstanceOf(SubnetChoice.Decision.Reuse.class, choose(DUAL, l, ME, Optional.empty()));
        assertEquals("198.19.2.0-24&2001:2:19:8::-62", reuse.lease().keyName());
        assertEquals(List.of(l.find(v4("198.19.3.0/24")).orElseThrow()), SubnetChoice.stale(DUAL, ME, l),
                "a key without an IPv6 subnet is not a dual-stack lease: flannel deletes it, so does this");

        // Only the plain key: stale; once deleted, its subnet is the previous one and free again, with a new IPv6 subnet.
        LeaseSnapshot plain = listing("198.19.3.0-24", LeaseCodec.toJson(new LeaseAttrs(ME.publicIp(), "vxlan", null)), 8L);
        List<Lease> stale = SubnetChoice.stale(DUAL, ME, plain);
        assertEquals(1, stale.size());
        SubnetChoice.Decision.Claim claim = assertInstanceOf(SubnetChoice.Decision.Claim.class,
                choose(DUAL, plain.without(stale), ME, Optional.of(new PreviousLease(v4("198.19.3.0/24"), 8))));
        assertEquals(v4("198.19.3.0/24"), claim.subnet());
        assertTrue(DUAL.ipv6().isLeasable(claim.ipv6()));
        assertEquals(SubnetChoice.Why.PREVIOUS_SUBNET, claim.why());

        // Without IPv6 in the config, the same dual-stack key of this host's is reused as before, under its own name.
        SubnetChoice.Decision v4Only = choose(DUAL.withoutIpv6(), l, ME, Optional.empty());
        assertEquals("198.19.2.0-24&2001:2:19:8::-62", ((SubnetChoice.Decision.Reuse) v4Only).lease().keyName());
    }

    @Test
    void previousSubnetsArePreferredFamilyByFamily() {
        PreviousLease prev = new PreviousLease(v4("198.19.3.0/24"), 0, v6("2001:2:19:8::/62"));
        assertEquals(new SubnetChoice.Decision.Claim(v4("198.19.3.0/24"), SubnetChoice.Why.PREVIOUS_SUBNET, v6("2001:2:19:8::/62")),
                choose(DUAL, listing(), ME, Optional.of(prev)));
        // The IPv6 one taken meanwhile (by a flannel node's dual-stack key): the IPv4 one is kept, the IPv6 one chosen again.
        LeaseSnapshot taken = listing("198.19.1.0-24&2001:2:19:8::-62", LeaseCodec.toJson(OTHER), 7L);
        SubnetChoice.Decision.Claim claim = (SubnetChoice.Decision.Claim) choose(DUAL, taken, ME, Optional.of(prev));
        assertEquals(v4("198.19.3.0/24"), claim.subnet());
        assertNotEquals(v6("2001:2:19:8::/62"), claim.ipv6());
        assertTrue(DUAL.ipv6().isLeasable(claim.ipv6()));
    }

    @Test
    void aPublicIpChangeIsRecognisedByTheEtcdLeaseId() {
        LeaseSnapshot l = listing("198.19.2.0-24&2001:2:19:8::-62", LeaseCodec.toJson(attrs("198.18.0.99", "2001:2::99")), 77L);
        PreviousLease prev = new PreviousLease(v4("198.19.2.0/24"), 77, v6("2001:2:19:8::/62"));
        SubnetChoice.Decision.Reuse reuse = assertInstanceOf(SubnetChoice.Decision.Reuse.class, choose(DUAL, l, ME, Optional.of(prev)));
        assertTrue(reuse.publicIpChanged());
        assertInstanceOf(SubnetChoice.Decision.Claim.class,
                choose(DUAL, l, ME, Optional.of(new PreviousLease(v4("198.19.2.0/24"), 78, v6("2001:2:19:8::/62")))),
                "another etcd lease: another host's key");
    }

    @Test
    void anUnknownOutcomeIsClaimedAgainWhileBothSubnetsAreFree() {
        SubnetKey pending = SubnetKey.of(v4("198.19.2.0/24"), v6("2001:2:19:c::/62"));
        assertEquals(new SubnetChoice.Decision.Claim(v4("198.19.2.0/24"), SubnetChoice.Why.RETRY_UNKNOWN_OUTCOME, v6("2001:2:19:c::/62")),
                SubnetChoice.choose(DUAL, listing(), ME, Optional.empty(), pending, new Random(1)));
        LeaseSnapshot v6Taken = listing("0.0.0.0-0&2001:2:19:c::-62", LeaseCodec.toJson(attrs(null, "2001:2::9")), 8L);
        SubnetChoice.Decision.Claim other = (SubnetChoice.Decision.Claim) SubnetChoice.choose(DUAL, v6Taken, ME, Optional.empty(), pending,
                new Random(1));
        assertNotEquals(SubnetChoice.Why.RETRY_UNKNOWN_OUTCOME, other.why());
    }

    @Test
    void anIpv6OnlyHostIsKnownByItsPublicIpv6NotByTheZeroPublicIp() {
        LeaseAttrs me = attrs(null, "2001:2::41");
        LeaseSnapshot l = listing("0.0.0.0-0&2001:2:19:5::-64", LeaseCodec.toJson(attrs(null, "2001:2::42")), 7L);
        SubnetChoice.Decision.Claim claim = assertInstanceOf(SubnetChoice.Decision.Claim.class, choose(V6_ONLY, l, me, Optional.empty()),
                "another IPv6-only host's lease also says PublicIP 0.0.0.0: not this host's");
        assertNull(claim.subnet());
        assertNotEquals(v6("2001:2:19:5::/64"), claim.ipv6());
        assertTrue(claim.key().name().startsWith("0.0.0.0-0&2001:2:19:"), claim.key().name());

        LeaseSnapshot mine = listing("0.0.0.0-0&2001:2:19:5::-64", LeaseCodec.toJson(me), 7L);
        assertEquals("0.0.0.0-0&2001:2:19:5::-64",
                ((SubnetChoice.Decision.Reuse) choose(V6_ONLY, mine, me, Optional.empty())).lease().keyName());
        PreviousLease prev = new PreviousLease(null, 0, v6("2001:2:19:77::/64"));
        assertEquals(new SubnetChoice.Decision.Claim(null, SubnetChoice.Why.PREVIOUS_SUBNET, v6("2001:2:19:77::/64")),
                choose(V6_ONLY, listing(), me, Optional.of(prev)));
    }

    @Test
    void choicesInAHugeRangeAreDistinctAndQuick() {
        // 65535 IPv6 subnets; 2000 choices against a growing listing, each a few draws, never an enumeration.
        Set<Ip6Net> held = new HashSet<>();
        Random random = new Random(11);
        long start = System.nanoTime();
        for (int i = 0; i < 2000; i++) {
            Optional<Ip6Net> pick = SubnetAllocator.pickFreeIpv6(WIDE.ipv6(), held, random);
            assertTrue(pick.isPresent());
            assertTrue(held.add(pick.get()), "chosen twice: " + pick.get());
            assertTrue(WIDE.ipv6().isLeasable(pick.get()));
        }
        assertTrue(System.nanoTime() - start < 5_000_000_000L, "2000 choices should take well under a second");
    }

    @Test
    void aListingBroughtForwardByTheKeysCreatedSinceHoldsBoth() {
        LeaseSnapshot before = listing("198.19.1.0-24&2001:2:19:4::-62", LeaseCodec.toJson(OTHER), 7L);
        LeaseSnapshot created = LeaseSnapshot.read(KEYS, List.of(
                new StoredKey(KEYS.subnetsPrefix() + "0.0.0.0-0&2001:2:19:8::-62", LeaseCodec.toJson(attrs(null, "2001:2::9")), 8L, 50),
                new StoredKey(KEYS.subnetsPrefix() + "198.19.1.0-24&2001:2:19:4::-62", LeaseCodec.toJson(ME), 9L, 51)), 51);
        LeaseSnapshot after = before.plus(created);
        assertEquals(51, after.revision());
        assertEquals(1, after.leases().size(), "the re-created key replaces the old lease of the same name");
        assertEquals(9L, after.leases().get(0).etcdLeaseId());
        assertEquals(1, after.ipv6OnlyLeases().size());
        assertTrue(after.isOccupiedIpv6(v6("2001:2:19:8::/62")));
        assertTrue(after.isOccupied(v4("198.19.1.0/24")));
        assertTrue(SubnetChoice.free(DUAL, after, v4("198.19.2.0/24"), v6("2001:2:19:c::/62")));
        assertTrue(!SubnetChoice.free(DUAL, after, v4("198.19.2.0/24"), v6("2001:2:19:8::/62")));
    }
}
