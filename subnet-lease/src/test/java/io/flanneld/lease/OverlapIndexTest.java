package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4Net;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.TreeSet;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The peer set's neighbour-only overlap check agrees with comparing against every accepted subnet. */
class OverlapIndexTest {

    @Provide
    Arbitrary<List<Ip4Net>> subnets() {
        // Inside 198.19.0.0/16, prefixes 16..30, so that containment both ways, equal starts and neighbours are common.
        Arbitrary<Ip4Net> net = Arbitraries.integers().between(0, 0xffff).flatMap(low ->
                Arbitraries.integers().between(16, 30).map(len -> Ip4Net.containing(0xc6130000 | low, len)));
        return net.list().ofMinSize(1).ofMaxSize(60);
    }

    @Property(tries = 2000)
    void neighboursFindEveryOverlap(@ForAll("subnets") List<Ip4Net> arriving) {
        NavigableSet<Ip4Net> accepted = new TreeSet<>();
        List<Ip4Net> bruteAccepted = new ArrayList<>();
        for (Ip4Net s : arriving) {
            Optional<Ip4Net> fast = PeerSet.overlapping(accepted, s);
            Optional<Ip4Net> slow = bruteAccepted.stream().filter(o -> !o.equals(s) && o.overlaps(s)).findFirst();
            assertEquals(slow.isPresent(), fast.isPresent(), s + " against " + bruteAccepted);
            fast.ifPresent(o -> assertTrue(o.overlaps(s) && !o.equals(s)));
            if (fast.isEmpty() && accepted.add(s)) {
                bruteAccepted.add(s);
            }
        }
    }
}
