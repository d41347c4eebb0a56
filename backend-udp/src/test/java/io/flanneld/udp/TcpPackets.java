package io.flanneld.udp;

import io.flanneld.schema.Ip4;
import java.nio.ByteBuffer;

/** TCP/IPv4 test packets, and checksums computed the plain way (a byte at a time) to check the fast ones against. */
final class TcpPackets {
    static final String SRC = "198.19.1.2";
    static final String DST = "198.19.2.2";

    private TcpPackets() {
    }

    /**
     * A TCP/IPv4 packet in a direct buffer: {@code ipOptions} and {@code tcpOptions} bytes of options (multiples of
     * 4), correct IPv4 checksum, TCP checksum either complete or (partial) just the pseudo-header sum, as the kernel
     * leaves it for checksum offload.
     */
    static ByteBuffer tcp(int ipOptions, int tcpOptions, int seq, int flags, byte[] payload, boolean partial) {
        byte[] options = new byte[tcpOptions];
        for (int i = 0; i < tcpOptions; i++) {
            options[i] = (byte) (i < 2 ? 1 : 0x24 + i);                       // two NOPs, then "option" bytes
        }
        return tcp(SRC, DST, 40000, 5201, ipOptions, options, seq, 0x01020304, flags, payload, partial);
    }

    /**
     * A TCP/IPv4 packet in a direct buffer from {@code src}:{@code srcPort} to {@code dst}:{@code dstPort}: TOS
     * ECT(0), DF, TTL 64, {@code ipOptions} bytes of IPv4 options (a router alert, then zeros), the given TCP options
     * (a multiple of 4 bytes), window 502, correct IPv4 checksum, TCP checksum complete or (partial) just the
     * pseudo-header sum.
     */
    static ByteBuffer tcp(String src, String dst, int srcPort, int dstPort, int ipOptions, byte[] tcpOptions, int seq,
                          int ack, int flags, byte[] payload, boolean partial) {
        int ipHeader = 20 + ipOptions;
        int tcpHeader = 20 + tcpOptions.length;
        int total = ipHeader + tcpHeader + payload.length;
        ByteBuffer b = ByteBuffer.allocateDirect(total);
        b.put(0, (byte) (0x40 | ipHeader / 4)).put(1, (byte) 0x02).putShort(2, (short) total)
                .putShort(4, (short) 0xfff0).putShort(6, (short) 0x4000)
                .put(8, (byte) 64).put(9, (byte) 6).putInt(12, Ip4.parse(src)).putInt(16, Ip4.parse(dst));
        for (int i = 20; i < ipHeader; i++) {
            b.put(i, (byte) (i == 20 ? 0x94 : i == 21 ? 4 : 0));           // router alert, then zeros
        }
        b.putShort(10, (short) referenceChecksum(b, 0, ipHeader, 0));
        int t = ipHeader;
        b.putShort(t, (short) srcPort).putShort(t + 2, (short) dstPort).putInt(t + 4, seq).putInt(t + 8, ack)
                .put(t + 12, (byte) ((tcpHeader / 4) << 4)).put(t + 13, (byte) flags).putShort(t + 14, (short) 502);
        b.put(t + 20, tcpOptions);
        b.put(t + tcpHeader, payload);
        int pseudo = pseudo(b, 0, 6, total - ipHeader);
        if (partial) {
            b.putShort(t + 16, (short) pseudo);
        } else {
            b.putShort(t + 16, (short) referenceChecksum(b, t, total - ipHeader, pseudo));
        }
        return b;
    }

    /** A UDP/IPv4 packet in a direct buffer, UDP checksum just the pseudo-header sum (as the kernel leaves it). */
    static ByteBuffer udpPartial(byte[] payload) {
        int total = 28 + payload.length;
        ByteBuffer b = ByteBuffer.allocateDirect(total);
        b.put(0, (byte) 0x45).putShort(2, (short) total).putShort(4, (short) 0x0100).put(8, (byte) 64)
                .put(9, (byte) 17).putInt(12, Ip4.parse(SRC)).putInt(16, Ip4.parse(DST));
        b.putShort(10, (short) referenceChecksum(b, 0, 20, 0));
        b.putShort(20, (short) 5000).putShort(22, (short) 6000).putShort(24, (short) (8 + payload.length));
        for (int i = 0; i < payload.length; i++) {
            b.put(28 + i, payload[i]);
        }
        b.putShort(26, (short) pseudo(b, 0, 17, 8 + payload.length));
        return b;
    }

    /** True when the UDP checksum of the packet at {@code offset} verifies (and is not the "none" value 0). */
    static boolean udpChecksumValid(ByteBuffer b, int offset) {
        int total = b.getShort(offset + 2) & 0xffff;
        return b.getShort(offset + 26) != 0
                && referenceChecksum(b, offset + 20, total - 20, pseudo(b, offset, 17, total - 20)) == 0;
    }

    static byte[] payload(int length, int seed) {
        byte[] p = new byte[length];
        new java.util.Random(seed).nextBytes(p);
        return p;
    }

    /** RFC 1071, the slow way: 16-bit big-endian words one by one, starting from {@code initial}; complemented. */
    static int referenceChecksum(ByteBuffer b, int offset, int length, int initial) {
        long sum = initial;
        for (int i = 0; i < length; i += 2) {
            int hi = b.get(offset + i) & 0xff;
            int lo = i + 1 < length ? b.get(offset + i + 1) & 0xff : 0;
            sum += (hi << 8) | lo;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) (~sum & 0xffff);
    }

    static int pseudo(ByteBuffer ip, int offset, int protocol, int length) {
        long sum = 0;
        for (int i = 12; i < 20; i += 2) {
            sum += ip.getShort(offset + i) & 0xffff;
        }
        sum += protocol + length;
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (int) sum;
    }

    /** True when the TCP checksum of the packet at {@code offset} verifies. */
    static boolean tcpChecksumValid(ByteBuffer b, int offset) {
        int ipHeader = (b.get(offset) & 0x0f) * 4;
        int total = b.getShort(offset + 2) & 0xffff;
        int pseudo = pseudo(b, offset, 6, total - ipHeader);
        return referenceChecksum(b, offset + ipHeader, total - ipHeader, pseudo) == 0;
    }

    static boolean ipChecksumValid(ByteBuffer b, int offset) {
        return referenceChecksum(b, offset, (b.get(offset) & 0x0f) * 4, 0) == 0;
    }
}
