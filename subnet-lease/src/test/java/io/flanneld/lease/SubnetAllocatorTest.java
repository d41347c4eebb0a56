package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class SubnetAllocatorTest {

    private static NetworkConfig config(String json) throws Exception {
        return ConfigCodec.parse(json);
    }

    @Test
    void picksOnlyFreeSubnetsInRangeUntilExhausted() throws Exception {
        NetworkConfig c = config("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.10.0\",\"SubnetMax\":\"198.19.19.0\"}");
        Random random = new Random(7);
        List<Ip4Net> taken = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            Ip4Net picked = SubnetAllocator.pickFree(c, taken, random).orElseThrow();
            assertTrue(c.isLeasable(picked), picked.toString());
            assertFalse(taken.contains(picked), picked + " was already taken");
            taken.add(picked);
        }
        assertEquals(Optional.empty(), SubnetAllocator.pickFree(c, taken, random));
    }

    @Test
    void treatsOverlappingKeysOfAnotherLengthAsTaken() throws Exception {
        NetworkConfig c = config("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.1.0\",\"SubnetMax\":\"198.19.4.0\"}");
        // a /22 written by an old config covers 198.19.0.0-198.19.3.255; a /25 sits inside 198.19.4.0/24
        List<Ip4Net> taken = List.of(Ip4Net.parse("198.19.0.0/22"), Ip4Net.parse("198.19.4.128/25"));
        assertEquals(Optional.empty(), SubnetAllocator.pickFree(c, taken, new Random(1)));
    }

    @Test
    void spreadsPicksOverTheWholeRange() throws Exception {
        NetworkConfig c = config("{\"Network\":\"198.19.0.0/16\"}");
        Random random = new Random(3);
        Set<Ip4Net> seen = new HashSet<>();
        for (int i = 0; i < 2000; i++) {
            seen.add(SubnetAllocator.pickFree(c, List.of(), random).orElseThrow());
        }
        assertTrue(seen.size() > 240, "uniform choice over 255 subnets should reach nearly all of them, saw " + seen.size());
    }

    @Property(tries = 300)
    void neverPicksAnOccupiedSubnet(@ForAll long seed, @ForAll @IntRange(min = 0, max = 60) int occupiedCount) throws Exception {
        NetworkConfig c = config("{\"Network\":\"198.19.0.0/18\",\"SubnetLen\":24}");
        Random random = new Random(seed);
        Set<Ip4Net> occupied = new HashSet<>();
        for (int i = 0; i < occupiedCount; i++) {
            occupied.add(c.subnetAt(random.nextInt((int) c.subnetCount())));
        }
        Optional<Ip4Net> picked = SubnetAllocator.pickFree(c, occupied, random);
        if (occupied.size() == c.subnetCount()) {
            assertTrue(picked.isEmpty());
        } else {
            assertTrue(c.isLeasable(picked.orElseThrow()));
            assertFalse(occupied.contains(picked.get()));
        }
    }
}
