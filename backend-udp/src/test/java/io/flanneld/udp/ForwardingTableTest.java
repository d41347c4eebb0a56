package io.flanneld.udp;

import static io.flanneld.udp.Packets.lease;
import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.Ip4;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ForwardingTableTest {

    @Test
    void looksUpBySubnet() {
        ForwardingTable t = ForwardingTable.of(List.of(lease("198.19.2.0/24", "198.18.0.2"),
                lease("198.19.3.0/24", "198.18.0.3"), lease("198.19.200.0/24", "198.18.0.200")));
        assertEquals(3, t.size());
        assertEquals(Ip4.parse("198.18.0.2"), t.publicIp(t.find(Ip4.parse("198.19.2.0"))));
        assertEquals(Ip4.parse("198.18.0.2"), t.publicIp(t.find(Ip4.parse("198.19.2.255"))));
        assertEquals(Ip4.parse("198.18.0.3"), t.publicIp(t.find(Ip4.parse("198.19.3.77"))));
        assertEquals(Ip4.parse("198.18.0.200"), t.publicIp(t.find(Ip4.parse("198.19.200.1"))));
        assertEquals(-1, t.find(Ip4.parse("198.19.4.1")));
        assertEquals(-1, t.find(Ip4.parse("198.19.1.1")));
        assertEquals(-1, t.find(Ip4.parse("0.0.0.0")));
        assertEquals(-1, t.find(Ip4.parse("255.255.255.255")));
        assertEquals(-1, t.find(Ip4.parse("10.0.0.1")));
        assertEquals(-1, ForwardingTable.EMPTY.find(Ip4.parse("198.19.2.1")));
    }

    @Test
    void addressesAcrossTheSignBitCompareUnsigned() {
        ForwardingTable t = ForwardingTable.of(List.of(lease("10.1.0.0/24", "198.18.0.2"),
                lease("200.1.0.0/24", "198.18.0.3")));
        assertEquals(Ip4.parse("198.18.0.2"), t.publicIp(t.find(Ip4.parse("10.1.0.9"))));
        assertEquals(Ip4.parse("198.18.0.3"), t.publicIp(t.find(Ip4.parse("200.1.0.9"))));
        assertEquals(-1, t.find(Ip4.parse("127.0.0.1")));
    }

    @Test
    void eventsAddReplaceAndRemove() {
        ForwardingTable t = ForwardingTable.of(List.of(lease("198.19.2.0/24", "198.18.0.2")));
        ForwardingTable t2 = t.apply(List.of(new LeaseEvent.Added(lease("198.19.3.0/24", "198.18.0.3")),
                new LeaseEvent.Added(lease("198.19.2.0/24", "198.18.0.22"))));
        assertEquals(1, t.size(), "the old snapshot is unchanged");
        assertEquals(2, t2.size());
        assertEquals(Ip4.parse("198.18.0.22"), t2.publicIp(t2.find(Ip4.parse("198.19.2.1"))), "attributes changed");
        assertTrue(t2.isPeer(Ip4.parse("198.18.0.22")));
        assertFalse(t2.isPeer(Ip4.parse("198.18.0.2")));

        ForwardingTable t3 = t2.apply(List.of(new LeaseEvent.Removed(lease("198.19.2.0/24", "198.18.0.22")),
                new LeaseEvent.Removed(lease("198.19.9.0/24", "198.18.0.9"))));
        assertEquals(1, t3.size());
        assertEquals(-1, t3.find(Ip4.parse("198.19.2.1")));
        assertFalse(t3.isPeer(Ip4.parse("198.18.0.22")));
        assertSame(t3, t3.apply(List.of()));
    }

    @Test
    void oneHostWithTwoLeases() {
        ForwardingTable t = ForwardingTable.of(List.of(lease("198.19.2.0/24", "198.18.0.2"),
                lease("198.19.5.0/24", "198.18.0.2")));
        assertEquals(2, t.size());
        assertTrue(t.isPeer(Ip4.parse("198.18.0.2")));
        assertEquals(t.publicIp(t.find(Ip4.parse("198.19.2.3"))), t.publicIp(t.find(Ip4.parse("198.19.5.3"))));
    }

    @Test
    void overlappingLeaseIsLeftOut() {
        ForwardingTable t = ForwardingTable.of(List.of(lease("198.19.0.0/16", "198.18.0.2"),
                lease("198.19.3.0/24", "198.18.0.3")));
        assertEquals(1, t.size());
        assertEquals(Ip4.parse("198.18.0.2"), t.publicIp(t.find(Ip4.parse("198.19.3.1"))));
    }

    @Test
    void matchesALinearScanForManyLeases() {
        List<io.flanneld.schema.Lease> leases = new ArrayList<>();
        for (int i = 1; i < 256; i += 3) {
            leases.add(lease("198.19." + i + ".0/24", "198.18.1." + i));
        }
        ForwardingTable t = ForwardingTable.of(leases);
        for (int third = 0; third < 256; third++) {
            int addr = Ip4.parse("198.19." + third + ".17");
            int expected = third % 3 == 1 ? Ip4.parse("198.18.1." + third) : 0;
            int found = t.find(addr);
            assertEquals(expected, found < 0 ? 0 : t.publicIp(found), "198.19." + third + ".17");
        }
    }

    /** Readers looking up while a writer swaps tables always see a complete table: one of the two states. */
    @Test
    void concurrentSwapNeverShowsAHalfBuiltTable() throws Exception {
        AtomicReference<ForwardingTable> ref = new AtomicReference<>(ForwardingTable.of(
                List.of(lease("198.19.2.0/24", "198.18.0.2"))));
        int a = Ip4.parse("198.19.2.9");
        int b = Ip4.parse("198.19.3.9");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> failure = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            while (!stop.get()) {
                ForwardingTable t = ref.get();
                int ia = t.find(a);
                int ib = t.find(b);
                boolean consistent = t.size() == 1 ? ia >= 0 && ib < 0 : ia >= 0 && ib >= 0 && t.size() == 2;
                if (!consistent) {
                    failure.set("inconsistent " + t);
                }
            }
        });
        reader.start();
        LeaseEvent add = new LeaseEvent.Added(lease("198.19.3.0/24", "198.18.0.3"));
        LeaseEvent remove = new LeaseEvent.Removed(lease("198.19.3.0/24", "198.18.0.3"));
        for (int i = 0; i < 20_000; i++) {
            ref.updateAndGet(t -> t.apply(List.of(add)));
            ref.updateAndGet(t -> t.apply(List.of(remove)));
        }
        stop.set(true);
        reader.join(TimeUnit.SECONDS.toMillis(10));
        assertNull(failure.get());
    }
}
