package io.flanneld.udp;

import static io.flanneld.udp.Packets.lease;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4;
import io.flanneld.net.LibC;
import io.flanneld.net.LinuxAbi;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Whatever arrives, in either direction, yields a forward or exactly one counted drop reason, and never an
 * exception: random datagrams, and valid packets with random bytes flipped, cut short or padded, from members and
 * strangers. Inbound datagrams go through {@link UdpToTun#deliver} and {@link UdpToTun#flush} (what the receive loop
 * runs for every message), once without offloads and once with the vnet header and TCP coalescing, writing accepted
 * packets to /dev/null in place of flannel0, so the counters are the ones /metrics reports.
 */
class DatagramPropertiesTest {
    private static final String MEMBER_2 = "198.18.0.2";
    private static final String MEMBER_3 = "198.18.0.3";
    private static final ForwardingTable TABLE = ForwardingTable.of(List.of(lease("198.19.2.0/24", MEMBER_2),
            lease("198.19.3.0/24", MEMBER_3), lease("198.19.4.0/24", MEMBER_3)));
    private static final List<String> SENDERS = List.of(MEMBER_2, MEMBER_3, "198.18.0.66", "0.0.0.0", "255.255.255.255");
    private static final List<String> ADDRESSES = List.of("198.19.2.9", "198.19.3.1", "198.19.4.255", "198.19.1.7", "198.19.77.5",
            "192.0.2.1", "0.0.0.0");

    private static int devNull = -1;
    private static final CounterCells COUNTERS = new CounterCells();
    private static UdpToTun plain;
    private static UdpToTun coalescing;

    @BeforeContainer
    static void openDevNull() {
        devNull = LibC.Native.libc().open("/dev/null", LinuxAbi.O_WRONLY);
        assertTrue(devNull >= 0, "open /dev/null");
        // No socket: the loop is never run, only the per-message path it calls.
        plain = new UdpToTun(devNull, -1, new AtomicReference<>(TABLE), COUNTERS, Offloads.NONE, 1, 1500);
        coalescing = new UdpToTun(devNull, -1, new AtomicReference<>(TABLE), COUNTERS,
                new Offloads(true, false, true, false, false), 1, 1500);
    }

    @AfterContainer
    static void closeDevNull() {
        if (devNull >= 0) {
            LibC.Native.libc().close(devNull);
        }
    }

    /** A packet from the table's world, then mutated: bytes overwritten, cut or padded. */
    record Datagram(String sender, byte[] bytes) {
    }

    @Provide
    Arbitrary<Datagram> mutatedPackets() {
        Arbitrary<String> sender = Arbitraries.of(SENDERS);
        Arbitrary<String> address = Arbitraries.of(ADDRESSES);
        Arbitrary<Integer> ttl = Arbitraries.integers().between(0, 255);
        Arbitrary<byte[]> payload = Arbitraries.bytes().array(byte[].class).ofMaxSize(64);
        // Half the packets stay whole, so that acceptance and the sender checks are reached as often as the parser's.
        Arbitrary<List<Integer>> flips = Arbitraries.oneOf(Arbitraries.just(List.of()),
                Arbitraries.integers().between(0, 10_000).list().ofMinSize(1).ofMaxSize(4));
        Arbitrary<Integer> resize = Arbitraries.oneOf(Arbitraries.just(0), Arbitraries.integers().between(-30, 8));
        return Combinators.combine(sender, address, address, ttl, payload, flips, resize).as((s, src, dst, t, pl, f, r) -> {
            ByteBuffer valid = Packets.ipv4(src, dst, t, 17, pl);
            byte[] bytes = valid.array().clone();
            for (int flip : f) {
                bytes[flip % bytes.length] = (byte) (flip >>> 3);
            }
            int length = Math.max(0, bytes.length + r);
            return new Datagram(s, java.util.Arrays.copyOf(bytes, length));
        });
    }

    @Property(tries = 3000)
    void inboundMutatedPacketsAreForwardedOrCountedOnce(@ForAll("mutatedPackets") Datagram d) {
        String outcome = assertForwardedOrCountedOnce(d);
        // The generator must reach every outcome, or the property proves less than it says.
        Statistics.label("inbound").collect(outcome);
        Statistics.label("inbound").coverage(c -> {
            c.check("accepted").percentage(p -> p > 1);
            c.check("unknown_peer").percentage(p -> p > 1);
            c.check("spoofed_source").percentage(p -> p > 1);
            c.check("malformed").percentage(p -> p > 1);
        });
    }

    @Property(tries = 2000)
    void inboundRandomBytesAreForwardedOrCountedOnce(@ForAll @Size(max = 200) byte[] junk, @ForAll @IntRange(max = 4) int senderIndex) {
        assertForwardedOrCountedOnce(new Datagram(SENDERS.get(senderIndex), junk));
    }

    private static final int[] OUTCOMES = {CounterCells.PACKETS, CounterCells.UNKNOWN_PEER, CounterCells.SPOOFED_SOURCE,
        CounterCells.MALFORMED, CounterCells.TTL, CounterCells.NO_ROUTE, CounterCells.IO_ERRORS};

    private static String assertForwardedOrCountedOnce(Datagram d) {
        long[] before = new long[OUTCOMES.length];
        for (int i = 0; i < OUTCOMES.length; i++) {
            before[i] = COUNTERS.get(OUTCOMES[i]);
        }
        long bytesBefore = COUNTERS.get(CounterCells.BYTES);
        // A direct buffer, as the receive slots are; offset 3 so that nothing relies on starting at 0.
        ByteBuffer buf = ByteBuffer.allocateDirect(d.bytes().length + 3);
        buf.position(3);
        buf.put(d.bytes());
        UdpToTun rx = (d.bytes().length & 1) == 0 ? plain : coalescing;
        rx.deliver(TABLE, Ip4.parse(d.sender()), buf, 3, d.bytes().length, Math.max(1, d.bytes().length));
        rx.flush();
        long[] delta = new long[OUTCOMES.length];
        long outcomes = 0;
        for (int i = 0; i < OUTCOMES.length; i++) {
            delta[i] = COUNTERS.get(OUTCOMES[i]) - before[i];
            outcomes += delta[i];
        }
        assertEquals(1, outcomes, "exactly one forward or one drop reason");
        assertEquals(0, delta[6], "writing to /dev/null cannot fail");
        boolean accepted = delta[0] == 1;
        assertEquals(expectAccepted(d), accepted, "accepted exactly when a member sent a whole packet from its own subnet");
        assertEquals(accepted ? d.bytes().length : 0, COUNTERS.get(CounterCells.BYTES) - bytesBefore);
        return accepted ? "accepted" : delta[1] == 1 ? "unknown_peer" : delta[2] == 1 ? "spoofed_source" : "malformed";
    }

    /** The rule, stated independently of the code: sender holds a lease, the packet is whole, its source is the sender's. */
    private static boolean expectAccepted(Datagram d) {
        int sender = Ip4.parse(d.sender());
        byte[] b = d.bytes();
        if (!TABLE.isPeer(sender) || b.length < 20 || (b[0] & 0xf0) != 0x40 || (b[0] & 0x0f) * 4 < 20 || (b[0] & 0x0f) * 4 > b.length
                || ((b[2] & 0xff) << 8 | (b[3] & 0xff)) != b.length) {
            return false;
        }
        int entry = TABLE.find(ByteBuffer.wrap(b).getInt(12));
        return entry >= 0 && TABLE.publicIp(entry) == sender;
    }

    @Property(tries = 3000)
    void outboundPacketsAreRoutedOrCounted(@ForAll("mutatedPackets") Datagram d, @ForAll @IntRange(max = 16) int offset) {
        ByteBuffer buf = ByteBuffer.allocate(offset + d.bytes().length);
        buf.position(offset);
        buf.put(d.bytes());
        int ttlBefore = d.bytes().length > 8 ? d.bytes()[8] & 0xff : -1;
        int route = TunToUdp.route(TABLE, buf, offset, d.bytes().length);
        if (route >= 0) {
            assertTrue(route < TABLE.size());
            assertTrue(TABLE.subnet(route).contains(Ipv4Packet.destination(buf, offset)), "routed to the lease holding the destination");
            assertEquals(ttlBefore - 1, Ipv4Packet.ttl(buf, offset), "TTL decremented");
        } else {
            int reason = ~route;
            assertTrue(reason == CounterCells.MALFORMED || reason == CounterCells.NO_ROUTE || reason == CounterCells.TTL, "reason " + reason);
        }
    }
}
