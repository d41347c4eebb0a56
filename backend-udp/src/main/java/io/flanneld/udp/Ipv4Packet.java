package io.flanneld.udp;

import java.nio.ByteBuffer;

/**
 * Static helpers over an IPv4 packet held in a {@link ByteBuffer} at an absolute offset. They never allocate and
 * never move the buffer's position, so the forwarding loops can run them on every packet of a reused buffer.
 * Buffers must be in ByteBuffer's default big-endian order, which is network order.
 */
public final class Ipv4Packet {
    public static final int MIN_HEADER = 20;
    public static final int PROTO_ICMP = 1;
    /** Returned by {@link #validate} for anything that is not a well-formed IPv4 packet of exactly that length. */
    public static final int MALFORMED = -1;

    private Ipv4Packet() {
    }

    /**
     * Checks that the {@code length} bytes at {@code offset} are one IPv4 packet: version 4, a header length of at
     * least 20 bytes that fits, and a total length field equal to {@code length} (a datagram or a TUN read carries
     * exactly one packet, so anything else was truncated or padded on the way). The header checksum is not checked:
     * the kernel verifies it when the packet enters through the TUN device and drops a bad one there.
     *
     * @return the header length in bytes, or {@link #MALFORMED}
     */
    public static int validate(ByteBuffer buf, int offset, int length) {
        if (length < MIN_HEADER || offset < 0 || offset + length > buf.capacity()) {
            return MALFORMED;
        }
        int versionIhl = buf.get(offset) & 0xff;
        if ((versionIhl >>> 4) != 4) {
            return MALFORMED;
        }
        int headerLength = (versionIhl & 0x0f) * 4;
        if (headerLength < MIN_HEADER || headerLength > length) {
            return MALFORMED;
        }
        if (totalLength(buf, offset) != length) {
            return MALFORMED;
        }
        return headerLength;
    }

    public static int headerLength(ByteBuffer buf, int offset) {
        return (buf.get(offset) & 0x0f) * 4;
    }

    public static int totalLength(ByteBuffer buf, int offset) {
        return buf.getShort(offset + 2) & 0xffff;
    }

    public static int ttl(ByteBuffer buf, int offset) {
        return buf.get(offset + 8) & 0xff;
    }

    public static int protocol(ByteBuffer buf, int offset) {
        return buf.get(offset + 9) & 0xff;
    }

    /** The fragment offset in 8-byte units (0 for an unfragmented packet or the first fragment). */
    public static int fragmentOffset(ByteBuffer buf, int offset) {
        return buf.getShort(offset + 6) & 0x1fff;
    }

    public static int source(ByteBuffer buf, int offset) {
        return buf.getInt(offset + 12);
    }

    public static int destination(ByteBuffer buf, int offset) {
        return buf.getInt(offset + 16);
    }

    /**
     * Decrements the TTL and patches the header checksum incrementally (RFC 1624), as the kernel's
     * ip_decrease_ttl does: the TTL is the high byte of a 16-bit word, so the word drops by 0x0100 and the one's
     * complement checksum rises by the same amount, with the end-around carry folded back in. Cheaper than
     * re-summing the header, and it keeps a checksum the sender got wrong wrong, as a router must.
     *
     * @return the new TTL; the caller drops the packet when it is 0
     */
    public static int decrementTtl(ByteBuffer buf, int offset) {
        int ttl = ttl(buf, offset);
        if (ttl == 0) {
            return 0;
        }
        buf.put(offset + 8, (byte) (ttl - 1));
        int check = (buf.getShort(offset + 10) & 0xffff) + 0x0100;
        buf.putShort(offset + 10, (short) (check + (check >= 0xffff ? 1 : 0)));
        return ttl - 1;
    }

    /** The Internet checksum (RFC 1071) of {@code length} bytes at {@code offset}, ready to store. */
    public static int checksum(ByteBuffer buf, int offset, int length) {
        long sum = 0;
        int i = 0;
        for (; i + 1 < length; i += 2) {
            sum += buf.getShort(offset + i) & 0xffff;
        }
        if (i < length) {
            sum += (buf.get(offset + i) & 0xff) << 8;
        }
        while ((sum >>> 16) != 0) {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int) (~sum & 0xffff);
    }
}
