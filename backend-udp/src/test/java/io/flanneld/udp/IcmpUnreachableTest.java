package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.schema.Ip4;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class IcmpUnreachableTest {

    @Test
    void replyIsFlannelsNetUnreachableWithValidChecksums() {
        ByteBuffer offender = Packets.echoRequest("198.19.1.5", "198.19.99.9", 64);
        int length = offender.capacity();
        ByteBuffer out = ByteBuffer.allocate(IcmpUnreachable.MAX_LENGTH + 10);
        int n = IcmpUnreachable.write(offender, 0, 20, length, Ip4.parse("198.19.1.0"), out, 10);

        assertEquals(20 + 8 + 20 + 8, n);
        assertEquals(n, Ipv4Packet.validate(out, 10, n) == 20 ? Ipv4Packet.totalLength(out, 10) : -1);
        assertTrue(Packets.headerChecksumValid(out, 10), "IP header checksum");
        assertEquals(Ipv4Packet.PROTO_ICMP, Ipv4Packet.protocol(out, 10));
        assertEquals(Ip4.parse("198.19.1.0"), Ipv4Packet.source(out, 10));
        assertEquals(Ip4.parse("198.19.1.5"), Ipv4Packet.destination(out, 10), "back to the sender");
        assertEquals(3, out.get(30), "type destination unreachable");
        assertEquals(0, out.get(31), "code net unreachable");
        assertEquals(0, Ipv4Packet.checksum(out, 30, n - 20), "ICMP checksum verifies");
        for (int i = 0; i < 28; i++) {
            assertEquals(offender.get(i), out.get(38 + i), "quoted header and 8 bytes, byte " + i);
        }
    }

    @Test
    void shortOffenderIsQuotedWhole() {
        ByteBuffer offender = Packets.ipv4("198.19.1.5", "198.19.99.9", 64, 17, new byte[] {1, 2, 3});
        ByteBuffer out = ByteBuffer.allocate(IcmpUnreachable.MAX_LENGTH);
        int n = IcmpUnreachable.write(offender, 0, 20, 23, Ip4.parse("198.19.1.0"), out, 0);
        assertEquals(20 + 8 + 23, n);
        assertEquals(0, Ipv4Packet.checksum(out, 20, n - 20));
    }

    @Test
    void noErrorsAboutErrorsOrLaterFragments() {
        ByteBuffer echo = Packets.echoRequest("198.19.1.5", "198.19.99.9", 64);
        assertTrue(IcmpUnreachable.mayReplyTo(echo, 0, 20, echo.capacity()));

        ByteBuffer error = Packets.ipv4("198.19.1.5", "198.19.99.9", 64, 1, new byte[] {3, 1, 0, 0, 0, 0, 0, 0});
        assertFalse(IcmpUnreachable.mayReplyTo(error, 0, 20, error.capacity()));

        ByteBuffer udp = Packets.ipv4("198.19.1.5", "198.19.99.9", 64, 17, new byte[8]);
        assertTrue(IcmpUnreachable.mayReplyTo(udp, 0, 20, udp.capacity()));
        udp.putShort(6, (short) 0x0010);
        assertFalse(IcmpUnreachable.mayReplyTo(udp, 0, 20, udp.capacity()), "non-first fragment");
    }
}
