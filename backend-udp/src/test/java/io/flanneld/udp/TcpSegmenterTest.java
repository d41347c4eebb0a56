package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class TcpSegmenterTest {
    private static final int ROOM = 256 * 1024;
    private final TcpSegmenter segmenter = new TcpSegmenter();
    private final ByteBuffer out = ByteBuffer.allocateDirect(ROOM);
    private final ByteBuffer outLe = Checksum.littleEndian(out);

    private int segment(ByteBuffer in, int gsoSize) {
        return segmenter.segment(in, Checksum.littleEndian(in), 0, in.capacity(), gsoSize, out, outLe, 0, ROOM);
    }

    @Test
    void superPacketBecomesMssSegmentsWithShortLast() {
        byte[] payload = TcpPackets.payload(10_000, 1);
        int flags = Tcp.ACK | Tcp.PSH | Tcp.FIN | Tcp.CWR;
        ByteBuffer in = TcpPackets.tcp(0, 12, 0xfffff000, flags, payload, true);
        int written = segment(in, 1448);

        assertEquals(7, segmenter.segments());
        assertEquals(20 + 32 + 1448, segmenter.segmentSize());
        assertEquals(7 * 52 + 10_000, written);
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        int o = 0;
        for (int i = 0; i < 7; i++) {
            int chunk = i < 6 ? 1448 : 10_000 - 6 * 1448;
            assertEquals(52 + chunk, out.getShort(o + 2) & 0xffff, "total length of " + i);
            assertEquals((0xfff0 + i) & 0xffff, out.getShort(o + 4) & 0xffff, "IP id of " + i);
            assertTrue(TcpPackets.ipChecksumValid(out, o), "IP checksum of " + i);
            assertTrue(TcpPackets.tcpChecksumValid(out, o), "TCP checksum of " + i);
            assertEquals(0xfffff000 + i * 1448, out.getInt(o + 24), "sequence number of " + i);
            int f = out.get(o + 33) & 0xff;
            assertEquals(i == 6 ? Tcp.ACK | Tcp.PSH | Tcp.FIN : i == 0 ? Tcp.ACK | Tcp.CWR : Tcp.ACK, f & ~0,
                    "flags of " + i);
            for (int k = 0; k < 12; k++) {
                assertEquals(in.get(40 + k), out.get(o + 40 + k), "TCP option byte " + k + " of " + i);
            }
            for (int k = 0; k < chunk; k++) {
                joined.write(out.get(o + 52 + k));
            }
            o += 52 + chunk;
        }
        assertArrayEquals(payload, joined.toByteArray(), "payloads in order make the original");
    }

    @Test
    void exactMultipleHasNoShortSegmentAndIpOptionsAreCopied() {
        byte[] payload = TcpPackets.payload(3000, 2);
        ByteBuffer in = TcpPackets.tcp(4, 0, 1, Tcp.ACK, payload, true);
        int written = segment(in, 1000);
        assertEquals(3, segmenter.segments());
        assertEquals(3 * (44 + 1000), written);
        for (int i = 0, o = 0; i < 3; i++, o += 1044) {
            assertEquals(0x46, out.get(o) & 0xff);
            assertEquals(1044, out.getShort(o + 2) & 0xffff);
            assertEquals((byte) 0x94, out.get(o + 20), "IP option copied");
            assertTrue(TcpPackets.ipChecksumValid(out, o));
            assertTrue(TcpPackets.tcpChecksumValid(out, o));
        }
    }

    @Test
    void payloadWithinOneSegmentIsOnePacketWithCompleteChecksum() {
        ByteBuffer in = TcpPackets.tcp(0, 0, 7, Tcp.ACK | Tcp.PSH, TcpPackets.payload(500, 3), true);
        assertEquals(540, segment(in, 1448));
        assertEquals(1, segmenter.segments());
        assertEquals(540, segmenter.segmentSize());
        assertTrue(TcpPackets.tcpChecksumValid(out, 0));
        assertEquals(Tcp.ACK | Tcp.PSH, out.get(33));
    }

    @Test
    void malformedSuperPacketsAreRefused() {
        ByteBuffer good = TcpPackets.tcp(0, 0, 7, Tcp.ACK, TcpPackets.payload(3000, 4), true);
        assertEquals(TcpSegmenter.MALFORMED, segment(good, 0), "gso_size 0");
        assertEquals(TcpSegmenter.MALFORMED, segment(good, 10), "more than MAX_SEGMENTS");
        assertEquals(TcpSegmenter.MALFORMED, segmenter.segment(good, Checksum.littleEndian(good), 0,
                good.capacity(), 1000, out, outLe, 0, 3000), "no room");
        assertEquals(TcpSegmenter.MALFORMED, segmenter.segment(good, Checksum.littleEndian(good), 0,
                good.capacity() - 1, 1000, out, outLe, 0, ROOM), "length differs from the IP total length");
        ByteBuffer udp = TcpPackets.tcp(0, 0, 7, Tcp.ACK, TcpPackets.payload(3000, 4), true);
        udp.put(9, (byte) 17);
        assertEquals(TcpSegmenter.MALFORMED, segment(udp, 1000), "not TCP");
        ByteBuffer badOffset = TcpPackets.tcp(0, 0, 7, Tcp.ACK, TcpPackets.payload(10, 4), true);
        badOffset.put(32, (byte) 0xf0);                                   // TCP header of 60 bytes in 50
        assertEquals(TcpSegmenter.MALFORMED, segment(badOffset, 1000), "TCP header beyond the packet");
        ByteBuffer fragment = TcpPackets.tcp(0, 0, 7, Tcp.ACK, TcpPackets.payload(3000, 4), true);
        fragment.putShort(6, (short) 0x2000);
        assertEquals(TcpSegmenter.MALFORMED, segment(fragment, 1000), "a fragment");
    }

    @Property(tries = 100)
    void everySegmentVerifies(@ForAll @IntRange(min = 1, max = 20_000) int length,
                              @ForAll @IntRange(min = 500, max = 1460) int mss,
                              @ForAll @IntRange(max = 10) int tcpOptionWords) {
        ByteBuffer in = TcpPackets.tcp(0, tcpOptionWords * 4, length * 31, Tcp.ACK, TcpPackets.payload(length, length),
                true);
        int written = segment(in, mss);
        int headers = 40 + tcpOptionWords * 4;
        int count = (length + mss - 1) / mss;
        assertEquals(count, segmenter.segments());
        assertEquals(count * headers + length, written);
        for (int i = 0, o = 0; i < count; i++) {
            int size = out.getShort(o + 2) & 0xffff;
            assertTrue(TcpPackets.tcpChecksumValid(out, o) && TcpPackets.ipChecksumValid(out, o));
            o += size;
        }
    }

    @Test
    void partialChecksumIsCompleted() {
        ByteBuffer tcp = TcpPackets.tcp(0, 12, 9, Tcp.ACK, TcpPackets.payload(777, 5), true);
        assertFalse(TcpPackets.tcpChecksumValid(tcp, 0));
        assertEquals(0, TcpSegmenter.completeChecksum(tcp, Checksum.littleEndian(tcp), 0, tcp.capacity(), 20, 16));
        assertTrue(TcpPackets.tcpChecksumValid(tcp, 0));
        assertEquals(TcpSegmenter.MALFORMED,
                TcpSegmenter.completeChecksum(tcp, Checksum.littleEndian(tcp), 0, tcp.capacity(), 20, 2000));
        assertEquals(TcpSegmenter.MALFORMED,
                TcpSegmenter.completeChecksum(tcp, Checksum.littleEndian(tcp), 0, tcp.capacity(), 4, 16),
                "checksum start inside the IP header");
    }

    @Test
    void udpSuperPacketBecomesDatagramsWithTheirOwnHeaders() {
        byte[] payload = TcpPackets.payload(2500, 6);
        ByteBuffer in = TcpPackets.udpPartial(payload);
        int written = segmenter.segmentUdp(in, Checksum.littleEndian(in), 0, in.capacity(), 1000, out, outLe, 0,
                ROOM);
        assertEquals(3, segmenter.segments());
        assertEquals(1028, segmenter.segmentSize());
        assertEquals(3 * 28 + 2500, written);
        ByteArrayOutputStream joined = new ByteArrayOutputStream();
        for (int i = 0, o = 0; i < 3; i++) {
            int chunk = i < 2 ? 1000 : 500;
            assertEquals(28 + chunk, out.getShort(o + 2) & 0xffff);
            assertEquals(0x0100 + i, out.getShort(o + 4) & 0xffff);
            assertEquals(8 + chunk, out.getShort(o + 24) & 0xffff, "UDP length");
            assertEquals(5000, out.getShort(o + 20) & 0xffff);
            assertTrue(TcpPackets.ipChecksumValid(out, o));
            assertTrue(TcpPackets.udpChecksumValid(out, o), "UDP checksum of " + i);
            for (int k = 0; k < chunk; k++) {
                joined.write(out.get(o + 28 + k));
            }
            o += 28 + chunk;
        }
        assertArrayEquals(payload, joined.toByteArray());
        ByteBuffer tcp = TcpPackets.tcp(0, 0, 1, Tcp.ACK, TcpPackets.payload(3000, 1), true);
        assertEquals(TcpSegmenter.MALFORMED, segmenter.segmentUdp(tcp, Checksum.littleEndian(tcp), 0, tcp.capacity(),
                1000, out, outLe, 0, ROOM), "not UDP");
    }
}
