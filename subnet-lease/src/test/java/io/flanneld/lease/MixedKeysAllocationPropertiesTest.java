package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import org.junit.jupiter.api.Test;

/**
 * Whatever mix of key forms etcd holds (this daemon's plain keys, flannel's dual-stack and IPv6-only keys,
 * reservations, malformed values and junk keys), a subnet the allocator picks never overlaps a subnet any key holds.
 * Pure: {@link LeaseSnapshot#read} and {@link SubnetAllocator} on generated key lists, no etcd.
 */
class MixedKeysAllocationPropertiesTest {
    private static final EtcdKeys KEYS = EtcdKeys.defaults();
    private static final NetworkConfig CONFIG;
    private static final AtomicInteger DUAL_STACK_HELD = new AtomicInteger();
    private static final AtomicInteger PICKED = new AtomicInteger();

    static {
        try {
            // 198.19.0.0/22 in /26s: 15 leasable subnets, so that generated keys often fill most of the range.
            CONFIG = ConfigCodec.parse("{\"Network\":\"198.19.0.0/22\",\"SubnetLen\":26}");
        } catch (Exception e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** One key as some node could have written it: the name below the subnets prefix and its value. */
    record Written(String name, String value, long etcdLease, Ip4Net holds) {
    }

    @Provide
    Arbitrary<List<Written>> keys() {
        Arbitrary<Integer> index = Arbitraries.integers().between(0, 15);
        Arbitrary<Integer> len = Arbitraries.of(24, 25, 26, 26, 26, 27);
        Arbitrary<Written> plain = Combinators.combine(index, len).as((i, l) -> subnet(i, l)).map(s ->
                new Written(EtcdKeys.subnetName(s), "{\"PublicIP\":\"198.18.0.9\",\"BackendType\":\"vxlan\"}", 7, s));
        Arbitrary<Written> reservation = index.map(i -> subnet(i, 26)).map(s ->
                new Written(EtcdKeys.subnetName(s), "{\"PublicIP\":\"198.18.0.10\"}", 0, s));
        Arbitrary<Written> dual = Combinators.combine(index, len).as((i, l) -> subnet(i, l)).map(s ->
                new Written(EtcdKeys.subnetName(s) + "&2001:2:19:" + Integer.toHexString(s.address() & 0xffff) + "::-64",
                        "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"2001:2::3\",\"BackendType\":\"vxlan\",\"BackendData\":"
                                + "{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:11\"},\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:12\"}}",
                        7, s));
        Arbitrary<Written> udpNoType = index.map(i -> subnet(i, 26)).map(s ->
                new Written(EtcdKeys.subnetName(s), "{\"PublicIP\":\"198.18.0.1\",\"PublicIPv6\":null}", 7, s));
        Arbitrary<Written> v6Only = Arbitraries.integers().between(0, 0xffff).map(i ->
                new Written("0.0.0.0-0&2001:2:19:" + Integer.toHexString(i) + "::-64",
                        "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::4\",\"BackendType\":\"vxlan\"}", 7, null));
        Arbitrary<Written> malformedValue = index.map(i -> subnet(i, 26)).map(s ->
                new Written(EtcdKeys.subnetName(s), "not json", 7, s));
        Arbitrary<Written> junkKey = Arbitraries.of("garbage", "198.19.1.0", "198.19.1.64-26&", "198.19.01.0-24", "198.19.1.64-26&zz-64",
                "0.0.0.0-0", "198.19.1.0-24/extra").map(n -> new Written(n, "{\"PublicIP\":\"198.18.0.9\"}", 7, null));
        Arbitrary<Written> any = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, plain), net.jqwik.api.Tuple.of(1, reservation), net.jqwik.api.Tuple.of(4, dual),
                net.jqwik.api.Tuple.of(1, udpNoType), net.jqwik.api.Tuple.of(2, v6Only), net.jqwik.api.Tuple.of(1, malformedValue),
                net.jqwik.api.Tuple.of(2, junkKey));
        return any.list().ofMinSize(0).ofMaxSize(20);
    }

    /** The i-th /l-aligned network starting at 198.19.0.0 (some lie outside Network or are not /26: etcd holds what it holds). */
    private static Ip4Net subnet(int i, int l) {
        int base = (198 << 24) | (19 << 16);
        return Ip4Net.containing(base + i * 64, l);
    }

    @Property(tries = 3000)
    void aPickedSubnetNeverOverlapsAHeldOne(@ForAll("keys") List<Written> written, @ForAll long seed) {
        List<StoredKey> stored = new ArrayList<>();
        long revision = 1;
        for (Written w : written) {
            stored.add(new StoredKey(KEYS.subnetsPrefix() + w.name(), w.value(), w.etcdLease(), revision++));
        }
        LeaseSnapshot snapshot = LeaseSnapshot.read(KEYS, stored, revision);
        Optional<Ip4Net> picked = SubnetAllocator.pickFree(CONFIG, snapshot.occupied(), new Random(seed));
        for (Written w : written) {
            if (w.holds() != null) {
                assertTrue(snapshot.occupied().contains(w.holds()), w + " is held");
                if (w.name().contains("&")) {
                    DUAL_STACK_HELD.incrementAndGet();
                }
                picked.ifPresent(p -> assertFalse(p.overlaps(w.holds()), p + " overlaps " + w));
            }
        }
        if (picked.isPresent()) {
            PICKED.incrementAndGet();
            assertTrue(CONFIG.isLeasable(picked.get()));
        }
        for (Lease lease : snapshot.leases()) {
            assertTrue(written.stream().anyMatch(w -> w.name().equals(lease.keyName()) && lease.subnet().equals(w.holds())),
                    "every lease read back names the key it came from: " + lease);
        }
    }

    @AfterContainer
    static void bothOutcomesWereExercised() {
        // A property that never met a dual-stack key, or never found a free subnet, would prove nothing.
        assertTrue(DUAL_STACK_HELD.get() > 1000, "dual-stack keys held: " + DUAL_STACK_HELD.get());
        assertTrue(PICKED.get() > 300 && PICKED.get() < 2990, "picked in " + PICKED.get() + " of 3000 tries");
    }

    @Test
    void aDualStackKeyOccupiesItsIpv4SubnetAndIsAPeerUnderItsOwnName() {
        LeaseSnapshot s = LeaseSnapshot.read(KEYS, List.of(
                new StoredKey(KEYS.subnetsPrefix() + "198.19.0.64-26&2001:2:19:1::-64",
                        "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"2001:2::3\",\"BackendType\":\"vxlan\",\"BackendData\":"
                                + "{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:11\"}}", 9, 5),
                new StoredKey(KEYS.subnetsPrefix() + "0.0.0.0-0&2001:2:19:2::-64",
                        "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::4\",\"BackendType\":\"vxlan\"}", 9, 6)), 7);
        assertEquals(List.of(Ip4Net.parse("198.19.0.64/26")), s.occupied(), "the IPv6-only key holds no IPv4 subnet");
        assertEquals(1, s.leases().size());
        assertEquals("198.19.0.64-26&2001:2:19:1::-64", s.leases().get(0).keyName());
        assertEquals("198.18.0.3", s.leases().get(0).attrs().publicIpText());
    }
}
