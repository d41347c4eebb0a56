package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.schema.Ip4;
import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

class Ipv4PacketTest {

    @Test
    void validPacketParses() {
        ByteBuffer p = Packets.echoRequest("198.19.1.5", "198.19.2.7", 64);
        assertEquals(20, Ipv4Packet.validate(p, 0, p.capacity()));
        assertEquals(Ip4.parse("198.19.1.5"), Ipv4Packet.source(p, 0));
        assertEquals(Ip4.parse("198.19.2.7"), Ipv4Packet.destination(p, 0));
        assertEquals(64, Ipv4Packet.ttl(p, 0));
        assertEquals(Ipv4Packet.PROTO_ICMP, Ipv4Packet.protocol(p, 0));
        assertTrue(Packets.headerChecksumValid(p, 0));
    }

    @Test
    void packetAtAnOffsetParses() {
        ByteBuffer p = Packets.echoRequest("198.19.1.5", "198.19.2.7", 64);
        ByteBuffer big = ByteBuffer.allocate(100 + p.capacity());
        big.position(100);
        big.put(p);
        assertEquals(20, Ipv4Packet.validate(big, 100, p.capacity()));
        assertEquals(Ip4.parse("198.19.2.7"), Ipv4Packet.destination(big, 100));
    }

    @Test
    void malformedPacketsAreRejected() {
        ByteBuffer p = Packets.echoRequest("198.19.1.5", "198.19.2.7", 64);
        int len = p.capacity();
        assertEquals(Ipv4Packet.MALFORMED, Ipv4Packet.validate(p, 0, 19), "shorter than a header");
        assertEquals(Ipv4Packet.MALFORMED, Ipv4Packet.validate(p, 0, len - 1), "truncated: total length mismatch");
        assertEquals(Ipv4Packet.MALFORMED, Ipv4Packet.validate(p, 0, 0), "empty");
        assertEquals(Ipv4Packet.MALFORMED, Ipv4Packet.validate(p, 10, len), "runs past the buffer");

        ByteBuffer padded = ByteBuffer.allocate(len + 4);
        padded.put(p.duplicate()).clear();
        assertEquals(Ipv4Packet.MALFORMED, Ipv4Packet.validate(padded, 0, len + 4), "padded: total length mismatch");

        ByteBuffer v6 = copy(p);
        v6.put(0, (byte) 0x65);
        assertEquals(Ipv4Packet.MALFORMED, Ipv4Packet.validate(v6, 0, len), "version 6");

        ByteBuffer shortIhl = copy(p);
        shortIhl.put(0, (byte) 0x44);
        assertEquals(Ipv4Packet.MALFORMED, Ipv4Packet.validate(shortIhl, 0, len), "IHL 4");

        ByteBuffer longIhl = copy(p);
        longIhl.put(0, (byte) 0x4f);
        assertEquals(Ipv4Packet.MALFORMED, Ipv4Packet.validate(longIhl, 0, len), "IHL 60 bytes > packet");
    }

    @Test
    void ttlDecrementKeepsTheChecksumValid() {
        ByteBuffer p = Packets.echoRequest("198.19.1.5", "198.19.2.7", 64);
        assertEquals(63, Ipv4Packet.decrementTtl(p, 0));
        assertEquals(63, Ipv4Packet.ttl(p, 0));
        assertTrue(Packets.headerChecksumValid(p, 0));

        ByteBuffer last = Packets.echoRequest("198.19.1.5", "198.19.2.7", 1);
        assertEquals(0, Ipv4Packet.decrementTtl(last, 0));
        ByteBuffer zero = Packets.echoRequest("198.19.1.5", "198.19.2.7", 0);
        assertEquals(0, Ipv4Packet.decrementTtl(zero, 0), "a TTL of 0 stays 0");
    }

    /** The incremental update agrees with a full recomputation for any header, including the carry cases. */
    @Property(tries = 2000)
    void incrementalChecksumMatchesRecomputation(@ForAll @Size(20) byte[] header, @ForAll @IntRange(min = 1, max = 255) int ttl) {
        ByteBuffer b = ByteBuffer.wrap(header.clone());
        b.put(0, (byte) 0x45).put(8, (byte) ttl).putShort(10, (short) 0);
        b.putShort(10, (short) Ipv4Packet.checksum(b, 0, 20));
        Ipv4Packet.decrementTtl(b, 0);
        assertEquals(ttl - 1, Ipv4Packet.ttl(b, 0));
        assertTrue(Packets.headerChecksumValid(b, 0), "checksum still verifies");
    }

    @Property(tries = 2000)
    void randomBytesNeverThrow(@ForAll @Size(max = 120) byte[] junk, @ForAll @IntRange(max = 130) int length) {
        ByteBuffer b = ByteBuffer.wrap(junk);
        int hl = Ipv4Packet.validate(b, 0, length);
        if (hl != Ipv4Packet.MALFORMED) {
            assertTrue(hl >= 20 && hl <= length && length <= junk.length);
            assertEquals(length, Ipv4Packet.totalLength(b, 0));
        }
    }

    @Test
    void checksumOfOddLength() {
        ByteBuffer b = ByteBuffer.wrap(new byte[] {0x01, 0x02, 0x03});
        // 0x0102 + 0x0300 = 0x0402 -> ~ = 0xfbfd
        assertEquals(0xfbfd, Ipv4Packet.checksum(b, 0, 3));
    }

    private static ByteBuffer copy(ByteBuffer p) {
        ByteBuffer c = ByteBuffer.allocate(p.capacity());
        c.put(p.duplicate()).clear();
        return c;
    }
}
