package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class TcpCoalescerTest {
    private final List<byte[]> writes = new ArrayList<>();
    private final CounterCells counters = new CounterCells();
    private final TcpCoalescer coalescer = new TcpCoalescer(true, true, (b, off, len) -> {
        byte[] copy = new byte[len];
        b.get(off, copy);
        writes.add(copy);
        return true;
    }, counters);

    private static ByteBuffer segment(int seq, int flags, byte[] payload) {
        return TcpPackets.tcp(0, 12, seq, flags, payload, false);
    }

    private void add(ByteBuffer packet) {
        coalescer.add(packet, 0, packet.capacity());
    }

    private static ByteBuffer vnet(byte[] write) {
        return ByteBuffer.wrap(write).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static ByteBuffer packet(byte[] write) {
        ByteBuffer direct = ByteBuffer.allocateDirect(write.length - 10);
        direct.put(0, write, 10, write.length - 10);
        return direct;
    }

    @Test
    void inOrderSegmentsBecomeOneGsoWrite() {
        byte[] data = TcpPackets.payload(3500, 9);
        add(segment(1000, Tcp.ACK, Arrays.copyOfRange(data, 0, 1448)));
        add(segment(1000 + 1448, Tcp.ACK, Arrays.copyOfRange(data, 1448, 2896)));
        add(segment(1000 + 2896, Tcp.ACK | Tcp.PSH, Arrays.copyOfRange(data, 2896, 3500)));
        coalescer.flush();

        assertEquals(1, writes.size());
        ByteBuffer h = vnet(writes.get(0));
        assertEquals(VirtioNetHeader.F_NEEDS_CSUM, h.get(0));
        assertEquals(VirtioNetHeader.GSO_TCPV4, h.get(1));
        assertEquals(52, h.getShort(2), "hdr_len");
        assertEquals(1448, h.getShort(4), "gso_size");
        assertEquals(20, h.getShort(6), "csum_start");
        assertEquals(16, h.getShort(8), "csum_offset");
        ByteBuffer p = packet(writes.get(0));
        assertEquals(52 + 3500, p.getShort(2) & 0xffff);
        assertTrue(TcpPackets.ipChecksumValid(p, 0));
        assertEquals(1000, p.getInt(24));
        assertEquals(Tcp.ACK | Tcp.PSH, p.get(33), "PSH of the last segment kept");
        byte[] merged = new byte[3500];
        p.get(52, merged);
        assertArrayEquals(data, merged);
        // The checksum is partial: what the kernel adds (the sum from csum_start) completes it.
        assertEquals((short) TcpPackets.pseudo(p, 0, 6, 32 + 3500), p.getShort(36));
        assertEquals(0, TcpSegmenter.completeChecksum(p, Checksum.littleEndian(p), 0, p.capacity(), 20, 16));
        assertTrue(TcpPackets.tcpChecksumValid(p, 0));
        assertEquals(3, counters.get(CounterCells.PACKETS));
        assertEquals(3 * 52 + 3500, counters.get(CounterCells.BYTES));
    }

    @Test
    void singleSegmentIsWrittenAloneWithPlainHeader() {
        ByteBuffer s = segment(5, Tcp.ACK, TcpPackets.payload(100, 1));
        add(s);
        coalescer.flush();
        assertEquals(1, writes.size());
        byte[] w = writes.get(0);
        assertArrayEquals(new byte[10], Arrays.copyOf(w, 10));
        ByteBuffer p = packet(w);
        assertEquals(s, p, "unchanged");
    }

    @Test
    void gapsOtherFlowsAndNonTcpBreakTheRun() {
        add(segment(0, Tcp.ACK, TcpPackets.payload(1000, 1)));
        add(segment(2000, Tcp.ACK, TcpPackets.payload(1000, 2)));       // a gap: 1000 expected
        ByteBuffer otherPort = segment(3000, Tcp.ACK, TcpPackets.payload(1000, 3));
        otherPort.putShort(20, (short) 40001);
        add(otherPort);
        ByteBuffer udp = Packets.ipv4(TcpPackets.SRC, TcpPackets.DST, 64, 17, new byte[30]);
        ByteBuffer udpDirect = ByteBuffer.allocateDirect(udp.capacity()).put(udp).clear();
        add(udpDirect);
        coalescer.flush();
        assertEquals(4, writes.size());
        for (byte[] w : writes) {
            assertEquals(0, w[1], "no GSO");
        }
        assertEquals(4, counters.get(CounterCells.PACKETS));
    }

    @Test
    void longerSegmentSynFinAndIpOptionsAreNotMerged() {
        add(segment(0, Tcp.ACK, TcpPackets.payload(500, 1)));
        add(segment(500, Tcp.ACK, TcpPackets.payload(600, 2)));        // longer than the first: new run
        add(segment(1100, Tcp.ACK | Tcp.FIN, TcpPackets.payload(600, 3)));
        ByteBuffer withOptions = TcpPackets.tcp(4, 12, 1700, Tcp.ACK, TcpPackets.payload(600, 4), false);
        add(withOptions);
        coalescer.flush();
        assertEquals(4, writes.size());
    }

    @Test
    void shortOrPshSegmentClosesTheRunAndTheSizeLimitHolds() {
        add(segment(0, Tcp.ACK, TcpPackets.payload(1000, 1)));
        add(segment(1000, Tcp.ACK, TcpPackets.payload(400, 2)));       // short: last of its run
        add(segment(1400, Tcp.ACK, TcpPackets.payload(400, 3)));
        coalescer.flush();
        assertEquals(2, writes.size());
        assertEquals(2, writes.get(0)[1] == VirtioNetHeader.GSO_TCPV4 ? 2 : 0);

        writes.clear();
        int seq = 0;
        for (int i = 0; i < 60; i++) {                                 // 60 × 1400 bytes > 64 KiB
            add(segment(seq, Tcp.ACK, TcpPackets.payload(1400, i)));
            seq += 1400;
        }
        coalescer.flush();
        assertEquals(2, writes.size());
        for (byte[] w : writes) {
            assertTrue(w.length - 10 <= 65535);
        }
        int total = 0;
        for (byte[] w : writes) {
            total += w.length - 10 - 52;
        }
        assertEquals(60 * 1400, total, "every payload byte written once");
    }

    @Test
    void withoutVnetHeaderEveryPacketIsWrittenUnchanged() {
        TcpCoalescer plain = new TcpCoalescer(false, true, (b, off, len) -> {
            byte[] copy = new byte[len];
            b.get(off, copy);
            writes.add(copy);
            return true;
        }, counters);
        ByteBuffer a = segment(0, Tcp.ACK, TcpPackets.payload(1000, 1));
        ByteBuffer b = segment(1000, Tcp.ACK, TcpPackets.payload(1000, 2));
        plain.add(a, 0, a.capacity());
        plain.add(b, 0, b.capacity());
        plain.flush();
        assertEquals(2, writes.size());
        assertEquals(a, ByteBuffer.allocateDirect(a.capacity()).put(writes.get(0)).clear());
    }

    @Test
    void failedWriteIsCountedOnce() {
        TcpCoalescer failing = new TcpCoalescer(true, true, (b, off, len) -> false, counters);
        ByteBuffer a = segment(0, Tcp.ACK, TcpPackets.payload(1000, 1));
        ByteBuffer b = segment(1000, Tcp.ACK, TcpPackets.payload(1000, 2));
        failing.add(a, 0, a.capacity());
        failing.add(b, 0, b.capacity());
        failing.flush();
        assertEquals(1, counters.get(CounterCells.IO_ERRORS));
        assertEquals(0, counters.get(CounterCells.PACKETS));
    }

    /**
     * What corruption before encapsulation looks like: one payload byte flipped, the TCP checksum left as the sender
     * computed it. A datagram with a zero UDP checksum carries it to the daemon unnoticed.
     */
    private static ByteBuffer corrupt(ByteBuffer segment, int payloadByte) {
        int at = 52 + payloadByte;
        segment.put(at, (byte) (segment.get(at) ^ 0x04));
        assertFalse(TcpPackets.tcpChecksumValid(segment, 0));
        return segment;
    }

    /** The write holds the segments from {@code seq} on with exactly {@code payload} and a checksum made partial. */
    private static void assertMerged(byte[] write, int seq, byte[] payload, int segmentSize) {
        ByteBuffer h = vnet(write);
        assertEquals(VirtioNetHeader.F_NEEDS_CSUM, h.get(0));
        assertEquals(VirtioNetHeader.GSO_TCPV4, h.get(1));
        assertEquals(segmentSize, h.getShort(4), "gso_size");
        ByteBuffer p = packet(write);
        assertEquals(seq, p.getInt(24), "sequence number");
        byte[] merged = new byte[p.capacity() - 52];
        p.get(52, merged);
        assertArrayEquals(payload, merged, "merged payload from " + seq);
        TcpSegmenter.completeChecksum(p, Checksum.littleEndian(p), 0, p.capacity(), 20, 16);
        assertTrue(TcpPackets.tcpChecksumValid(p, 0));
    }

    /** The write is {@code segment} byte for byte behind an all-zero vnet header: the kernel verifies it. */
    private static void assertAlone(byte[] write, ByteBuffer segment) {
        assertArrayEquals(new byte[10], Arrays.copyOf(write, 10), "plain vnet header, no NEEDS_CSUM");
        assertEquals(segment, packet(write), "unchanged");
    }

    @Test
    void corruptedSegmentIsWrittenAloneBetweenTheMergedRunsAroundIt() {
        byte[] data = TcpPackets.payload(7 * 1000, 11);
        ByteBuffer[] s = new ByteBuffer[7];
        for (int i = 0; i < 7; i++) {
            s[i] = segment(5000 + i * 1000, Tcp.ACK, Arrays.copyOfRange(data, i * 1000, i * 1000 + 1000));
        }
        corrupt(s[3], 500);
        for (ByteBuffer segment : s) {
            add(segment);
        }
        coalescer.flush();

        assertEquals(3, writes.size(), "run, corrupted segment, run");
        assertMerged(writes.get(0), 5000, Arrays.copyOfRange(data, 0, 3000), 1000);
        assertAlone(writes.get(1), s[3]);
        assertFalse(TcpPackets.tcpChecksumValid(packet(writes.get(1)), 0), "left for the kernel to reject");
        assertMerged(writes.get(2), 9000, Arrays.copyOfRange(data, 4000, 7000), 1000);
        assertEquals(7, counters.get(CounterCells.PACKETS));
        assertEquals(0, counters.get(CounterCells.IO_ERRORS));
    }

    @Test
    void corruptedFirstOrLastSegmentOfARunIsWrittenAlone() {
        ByteBuffer[] s = new ByteBuffer[5];
        for (int i = 0; i < 5; i++) {
            s[i] = segment(i * 800, Tcp.ACK, TcpPackets.payload(800, 20 + i));
        }
        corrupt(s[0], 0);           // the first: checked when the second would join it
        corrupt(s[4], 799);         // the last
        for (ByteBuffer segment : s) {
            add(segment);
        }
        coalescer.flush();

        assertEquals(3, writes.size());
        assertAlone(writes.get(0), s[0]);
        byte[] middle = new byte[3 * 800];
        for (int i = 1; i <= 3; i++) {
            s[i].get(52, middle, (i - 1) * 800, 800);
        }
        assertMerged(writes.get(1), 800, middle, 800);
        assertAlone(writes.get(2), s[4]);
    }

    @Test
    void consecutiveCorruptedSegmentsAreEachWrittenAlone() {
        add(segment(0, Tcp.ACK, TcpPackets.payload(600, 1)));
        ByteBuffer b1 = corrupt(segment(600, Tcp.ACK, TcpPackets.payload(600, 2)), 3);
        ByteBuffer b2 = corrupt(segment(1200, Tcp.ACK, TcpPackets.payload(600, 3)), 4);
        add(b1);
        add(b2);
        coalescer.flush();
        assertEquals(3, writes.size());
        assertEquals(0, writes.get(0)[0], "one good segment alone: plain header");
        assertAlone(writes.get(1), b1);
        assertAlone(writes.get(2), b2);
    }

    /**
     * Runs of equal-sized segments with random ones corrupted and random batch ends: every write marked NEEDS_CSUM
     * holds only the original, uncorrupted bytes (and its completed checksum verifies); every corrupted segment is
     * written alone behind a plain header, unchanged; the writes keep the segments' order and cover each once; and
     * each maximal run of good segments within a batch is exactly one write.
     */
    @Property(tries = 300)
    void corruptedSegmentsAreNeverCoveredByAPartialChecksum(@ForAll @IntRange(min = 1, max = 40) int count,
                                                            @ForAll @IntRange(min = 1, max = 1400) int size,
                                                            @ForAll long seed) {
        List<byte[]> out = new ArrayList<>();
        TcpCoalescer c = new TcpCoalescer(true, true, (b, off, len) -> {
            byte[] copy = new byte[len];
            b.get(off, copy);
            out.add(copy);
            return true;
        }, new CounterCells());
        Random random = new Random(seed);
        byte[] data = new byte[count * size];
        random.nextBytes(data);
        boolean[] bad = new boolean[count];
        ByteBuffer[] s = new ByteBuffer[count];
        int expectedWrites = 0;
        boolean inRun = false;
        for (int i = 0; i < count; i++) {
            s[i] = segment(i * size, Tcp.ACK, Arrays.copyOfRange(data, i * size, (i + 1) * size));
            bad[i] = random.nextInt(4) == 0;
            boolean batchEnds = random.nextInt(8) == 0;
            if (bad[i]) {
                corrupt(s[i], random.nextInt(size));
                expectedWrites++;
                inRun = false;
            } else if (!inRun) {
                expectedWrites++;
                inRun = true;
            }
            c.add(s[i], 0, s[i].capacity());
            if (batchEnds) {
                c.flush();
                inRun = false;
            }
        }
        c.flush();

        int next = 0;
        for (byte[] w : out) {
            ByteBuffer p = packet(w);
            int seq = p.getInt(24);
            assertEquals(next * size, seq, "in order, each segment once");
            int segments = (p.capacity() - 52 + size - 1) / size;
            if (w[0] == VirtioNetHeader.F_NEEDS_CSUM) {
                assertTrue(segments > 1);
                for (int i = next; i < next + segments; i++) {
                    assertFalse(bad[i], "corrupted segment " + i + " inside a NEEDS_CSUM write");
                }
                assertMerged(w, seq, Arrays.copyOfRange(data, next * size, (next + segments) * size), size);
            } else {
                assertEquals(1, segments);
                assertAlone(w, s[next]);
            }
            next += segments;
        }
        assertEquals(count, next);
        assertEquals(expectedWrites, out.size(), "one write per good run and per corrupted segment");
    }
}
