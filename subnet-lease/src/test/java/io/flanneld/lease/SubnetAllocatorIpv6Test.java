package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Ipv6Config;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The IPv6 choice against brute force on ranges small enough to list, and its uniformity. */
class SubnetAllocatorIpv6Test {
    private static final Ip6 BASE = Ip6.parse("2001:2:19::");

    /** A range of /124 subnets of 2001:2:19::/116 (256 of them), [min, max] as indexes. */
    private static Ipv6Config range(int min, int max) {
        return new Ipv6Config(Ip6Net.parse("2001:2:19::/116"), 124, BASE.plus(16L * min), BASE.plus(16L * max));
    }

    @Provide
    Arbitrary<List<Ip6Net>> occupied() {
        // Nets of every size around the range, some overlapping its ends or each other, some outside it.
        Arbitrary<Ip6Net> net = Combinators.combine(Arbitraries.integers().between(-64, 4200), Arbitraries.integers().between(118, 128))
                .as((offset, len) -> Ip6Net.containing(BASE.plus(offset), len));
        return net.list().ofMaxSize(40);
    }

    @Property(tries = 1500)
    void theChoiceIsFreeAndInRangeAndEmptyOnlyWhenNothingIs(@ForAll @IntRange(min = 0, max = 255) int a,
                                                          @ForAll @IntRange(min = 0, max = 255) int b,
                                                          @ForAll("occupied") List<Ip6Net> occupied, @ForAll long seed) {
        Ipv6Config config = range(Math.min(a, b), Math.max(a, b));
        List<Ip6Net> free = new ArrayList<>();
        for (int i = Math.min(a, b); i <= Math.max(a, b); i++) {
            Ip6Net subnet = new Ip6Net(BASE.plus(16L * i), 124);
            if (occupied.stream().noneMatch(subnet::overlaps)) {
                free.add(subnet);
            }
        }
        Optional<Ip6Net> drawn = SubnetAllocator.pickFreeIpv6(config, occupied, new Random(seed));
        Optional<Ip6Net> exact = SubnetAllocator.pickFreeIpv6Exactly(config, occupied, new Random(seed));
        assertEquals(free.isEmpty(), drawn.isEmpty(), "free: " + free);
        assertEquals(free.isEmpty(), exact.isEmpty(), "free: " + free);
        drawn.ifPresent(s -> assertTrue(free.contains(s), s + " is not free"));
        exact.ifPresent(s -> assertTrue(free.contains(s), s + " is not free"));
    }

    @Test
    void theExactChoiceIsUniformAmongTheFreeSubnets() {
        Ipv6Config config = range(0, 9);
        // Indexes 2, 3, 4 and 7 held: six free subnets.
        List<Ip6Net> occupied = List.of(new Ip6Net(BASE.plus(32), 123), new Ip6Net(BASE.plus(64), 124), new Ip6Net(BASE.plus(112), 126));
        Map<Ip6Net, Integer> counts = new HashMap<>();
        Random random = new Random(5);
        for (int i = 0; i < 6000; i++) {
            counts.merge(SubnetAllocator.pickFreeIpv6Exactly(config, occupied, random).orElseThrow(), 1, Integer::sum);
        }
        assertEquals(6, counts.size(), counts.toString());
        counts.values().forEach(n -> assertTrue(n > 800 && n < 1200, counts.toString()));
    }

    @Test
    void randomNumbersBelowHugeBoundsStayBelowThem() {
        Random random = new Random(9);
        BigInteger bound = BigInteger.ONE.shiftLeft(125).add(BigInteger.valueOf(3));
        for (int i = 0; i < 1000; i++) {
            BigInteger r = SubnetAllocator.below(bound, random);
            assertTrue(r.signum() >= 0 && r.compareTo(bound) < 0);
        }
        assertEquals(BigInteger.ZERO, SubnetAllocator.below(BigInteger.ONE, random));
    }
}
