package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The three lease key forms as this daemon writes them, against fixtures spelled as flannel's subnet.MakeSubnetKey
 * (pkg/subnet/subnet.go) writes them: {@code IP4Net.StringSep(".", "-")}, then {@code "&" + IP6Net.StringSep(":", "-")}
 * when the IPv6 subnet is not empty, the IPv6 address as Go's net.IP.String() prints it; an IPv6-only lease's IPv4
 * part is the empty network {@code 0.0.0.0-0}.
 */
class EtcdKeysIpv6Test {
    private static final Ip4Net V4 = Ip4Net.parse("198.19.1.0/24");
    private static final Ip6Net V6 = Ip6Net.parse("2001:2:19:1::/64");

    @Test
    void writesEveryFormAsFlannelDoes() {
        EtcdKeys keys = EtcdKeys.defaults();
        assertEquals("198.19.1.0-24", EtcdKeys.subnetName(V4, null));
        assertEquals("198.19.1.0-24&2001:2:19:1::-64", EtcdKeys.subnetName(V4, V6));
        assertEquals("0.0.0.0-0&2001:2:19:1::-64", EtcdKeys.subnetName(null, V6));
        assertEquals("/coreos.com/network/subnets/198.19.1.0-24&2001:2:19:1::-64", keys.subnet(V4, V6));
        assertEquals("/coreos.com/network/subnets/0.0.0.0-0&2001:2:19:1::-64", keys.subnet(null, V6));
        assertEquals("198.19.200.0-24&2001:2:19:c8::-64", EtcdKeys.subnetName(Ip4Net.parse("198.19.200.0/24"),
                Ip6Net.parse("2001:2:19:c8::/64")), "lowercase hex, no leading zeros");
        assertEquals("198.19.1.0-24&2001:2:19:0:8000::-65", EtcdKeys.subnetName(V4, Ip6Net.parse("2001:2:19:0:8000::/65")));
        assertEquals("198.19.1.0-24&2001:0:0:1::-64", EtcdKeys.subnetName(V4, Ip6Net.parse("2001:0:0:1::/64")),
                "a single zero group is not compressed, the longest run is");
        assertThrows(IllegalArgumentException.class, () -> EtcdKeys.subnetName(null, null));
    }

    @Test
    void readsEveryFormBack() {
        EtcdKeys keys = EtcdKeys.defaults();
        for (SubnetKey k : new SubnetKey[] {SubnetKey.of(V4), SubnetKey.of(V4, V6), SubnetKey.of(null, V6), SubnetKey.of(V4, null)}) {
            assertEquals(Optional.of(k), SubnetKey.parse(k.name()), k.name());
            assertEquals(Optional.of(k), keys.parseLeaseKey(keys.subnet(k.ipv4(), k.ipv6())), k.name());
        }
        SubnetKey dual = keys.parseLeaseKey("/coreos.com/network/subnets/198.19.1.0-24&2001:2:19:1::-64").orElseThrow();
        assertEquals(Optional.of(V6), dual.ipv6Subnet());
        assertEquals(Optional.of(V4), dual.ipv4Subnet());
        assertEquals(Optional.empty(), SubnetKey.of(V4).ipv6Subnet());
    }

    @Test
    void anOddlySpelledIpv6PartStillHoldsItsNetwork() {
        // No flannel writes these; an operator might. Read, the key's subnets stay held; its name is kept as written.
        SubnetKey padded = SubnetKey.parse("198.19.1.0-24&2001:0002:0019:0001::-64").orElseThrow();
        assertEquals(V6, padded.ipv6());
        assertEquals("198.19.1.0-24&2001:0002:0019:0001::-64", padded.name());
        assertEquals(V6, SubnetKey.parse("198.19.1.0-24&2001:2:19:1::7-64").orElseThrow().ipv6(), "host bits: the network holding it");
    }

    @Provide
    Arbitrary<SubnetKey> keys() {
        Arbitrary<Ip4Net> v4 = Combinators.combine(Arbitraries.integers(), Arbitraries.integers().between(1, 32))
                .as(Ip4Net::containing);
        Arbitrary<Ip6Net> v6 = Combinators.combine(Arbitraries.longs(), Arbitraries.longs(), Arbitraries.integers().between(1, 128))
                .as((hi, lo, len) -> Ip6Net.containing(new Ip6(hi, lo), len))
                .filter(n -> !n.address().isIpv4Mapped());
        return Combinators.combine(v4.injectNull(0.3), v6.injectNull(0.3)).filter((a, b) -> a != null || b != null)
                .as(SubnetKey::of);
    }

    @Property(tries = 2000)
    void everyKeyThisDaemonWritesReadsBackAsItself(@ForAll("keys") SubnetKey key) {
        assertEquals(Optional.of(key), SubnetKey.parse(key.name()), key.name());
    }
}
