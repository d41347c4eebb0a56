package io.flanneld.udp;

import static io.flanneld.udp.Packets.lease;
import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.schema.Ip4;
import java.nio.ByteBuffer;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** The per-packet decisions of both directions. */
class VerdictTest {
    private static final ForwardingTable TABLE = ForwardingTable.of(List.of(lease("198.19.2.0/24", "198.18.0.2"),
            lease("198.19.3.0/24", "198.18.0.3")));
    private static final int PEER2 = Ip4.parse("198.18.0.2");

    @Test
    void outboundPacketIsRoutedAndItsTtlDecremented() {
        ByteBuffer p = Packets.echoRequest("198.19.1.5", "198.19.3.7", 64);
        int entry = TunToUdp.route(TABLE, p, 0, p.capacity());
        assertEquals(Ip4.parse("198.18.0.3"), TABLE.publicIp(entry));
        assertEquals(63, Ipv4Packet.ttl(p, 0));
        assertTrue(Packets.headerChecksumValid(p, 0));
    }

    @Test
    void outboundDrops() {
        ByteBuffer noRoute = Packets.echoRequest("198.19.1.5", "198.19.99.7", 64);
        assertEquals(~CounterCells.NO_ROUTE, TunToUdp.route(TABLE, noRoute, 0, noRoute.capacity()));
        ByteBuffer ttl = Packets.echoRequest("198.19.1.5", "198.19.2.7", 1);
        assertEquals(~CounterCells.TTL, TunToUdp.route(TABLE, ttl, 0, ttl.capacity()));
        ByteBuffer truncated = Packets.echoRequest("198.19.1.5", "198.19.2.7", 64);
        assertEquals(~CounterCells.MALFORMED, TunToUdp.route(TABLE, truncated, 0, truncated.capacity() - 3));
    }

    @Test
    void inboundFromTheOwnerOfTheSourceIsAccepted() {
        ByteBuffer p = Packets.echoRequest("198.19.2.5", "198.19.1.7", 64);
        assertEquals(UdpToTun.ACCEPT, UdpToTun.verdict(TABLE, PEER2, p, 0, p.capacity()));
        assertEquals(64, Ipv4Packet.ttl(p, 0), "inbound leaves the TTL alone, as flannel");
    }

    @Test
    void inboundSpoofingAndStrangersAreDropped() {
        ByteBuffer otherPeersSource = Packets.echoRequest("198.19.3.5", "198.19.1.7", 64);
        assertEquals(CounterCells.SPOOFED_SOURCE, UdpToTun.verdict(TABLE, PEER2, otherPeersSource, 0, otherPeersSource.capacity()));
        ByteBuffer unleasedSource = Packets.echoRequest("198.19.77.5", "198.19.1.7", 64);
        assertEquals(CounterCells.SPOOFED_SOURCE, UdpToTun.verdict(TABLE, PEER2, unleasedSource, 0, unleasedSource.capacity()));
        ByteBuffer outsideSource = Packets.echoRequest("192.0.2.1", "198.19.1.7", 64);
        assertEquals(CounterCells.SPOOFED_SOURCE, UdpToTun.verdict(TABLE, PEER2, outsideSource, 0, outsideSource.capacity()));

        ByteBuffer good = Packets.echoRequest("198.19.2.5", "198.19.1.7", 64);
        assertEquals(CounterCells.UNKNOWN_PEER, UdpToTun.verdict(TABLE, Ip4.parse("198.18.0.66"), good, 0, good.capacity()));
        assertEquals(CounterCells.MALFORMED, UdpToTun.verdict(TABLE, PEER2, good, 0, good.capacity() - 1));
    }

    /** Garbage from a member never throws and is never accepted unless it really is a packet from its subnet. */
    @Property(tries = 3000)
    void randomDatagramsAreCountedDrops(@ForAll @Size(max = 100) byte[] junk) {
        ByteBuffer b = ByteBuffer.wrap(junk);
        int verdict = UdpToTun.verdict(TABLE, PEER2, b, 0, junk.length);
        if (verdict == UdpToTun.ACCEPT) {
            assertEquals(20, Ipv4Packet.validate(b, 0, junk.length) >= 20 ? 20 : -1);
            assertTrue(Ip4.format(Ipv4Packet.source(b, 0)).startsWith("198.19.2."));
        } else {
            assertTrue(verdict == CounterCells.MALFORMED || verdict == CounterCells.SPOOFED_SOURCE, "reason " + verdict);
        }
        int route = TunToUdp.route(TABLE, ByteBuffer.wrap(junk.clone()), 0, junk.length);
        assertTrue(route >= 0 || ~route == CounterCells.MALFORMED || ~route == CounterCells.NO_ROUTE
                || ~route == CounterCells.TTL);
    }
}
