package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

class ChecksumTest {
    /** The 8-bytes-at-a-time little-endian sum always equals the plain big-endian one, at any offset and length. */
    @Property(tries = 500)
    void fastSumEqualsReference(@ForAll @Size(max = 3000) byte[] bytes, @ForAll @IntRange(max = 7) int offset) {
        ByteBuffer b = ByteBuffer.allocateDirect(bytes.length + offset);
        for (int i = 0; i < bytes.length; i++) {
            b.put(offset + i, bytes[i]);
        }
        int fast = Checksum.sum(Checksum.littleEndian(b), offset, bytes.length);
        int reference = ~TcpPackets.referenceChecksum(b, offset, bytes.length, 0) & 0xffff;
        assertEquals(reference, fast, "sum of " + bytes.length + " bytes at " + offset);
    }

    @Property(tries = 200)
    void addIsOnesComplementAddition(@ForAll @IntRange(max = 0xffff) int a, @ForAll @IntRange(max = 0xffff) int b) {
        int s = a + b;
        assertEquals((s & 0xffff) + (s >>> 16), Checksum.add(a, b));
    }
}
