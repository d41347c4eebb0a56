package io.flanneld.bench.jmh;

import io.flanneld.udp.Ipv4Packet;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The udp backend's per-packet header work on a direct buffer, as its forwarding loops do it: {@code validate}
 * (version, header length, total length), the destination read, {@code decrementTtl} with the incremental checksum
 * patch; and, for comparison, a full header checksum ({@code checksum} over the 20-byte header), which is what the
 * loop avoids. The TTL is reset each call so every call takes the forwarding branch.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PacketForwardBench {
    @Param({"64", "1472"})
    public int length;

    private ByteBuffer buf;

    @Setup
    public void setUp() {
        buf = ByteBuffer.allocateDirect(2048);
        buf.put(0, (byte) 0x45);
        buf.putShort(2, (short) length);
        buf.put(8, (byte) 64);
        buf.put(9, (byte) 17);
        buf.putInt(12, 0xc6130102);
        buf.putInt(16, 0xc6130302);
        buf.putShort(10, (short) Ipv4Packet.checksum(buf, 0, 20));
    }

    @Benchmark
    public int parseAndDecrementTtl() {
        buf.put(8, (byte) 64);
        if (Ipv4Packet.validate(buf, 0, length) == Ipv4Packet.MALFORMED) {
            return -1;
        }
        int destination = Ipv4Packet.destination(buf, 0);
        return destination ^ Ipv4Packet.decrementTtl(buf, 0);
    }

    @Benchmark
    public int headerChecksum() {
        return Ipv4Packet.checksum(buf, 0, 20);
    }
}
