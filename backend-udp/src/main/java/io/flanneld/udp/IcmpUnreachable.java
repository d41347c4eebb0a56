package io.flanneld.udp;

import java.nio.ByteBuffer;

/**
 * Builds the ICMP "destination net unreachable" (type 3, code 0) that flannel's udp backend writes back into the TUN
 * device when a packet's destination lies in no lease, so the sending program fails fast instead of timing out.
 *
 * <p>Layout: a 20-byte IPv4 header from the local flannel0 address to the offender's source, the 8-byte ICMP
 * header, then the offender's IP header and the first 8 bytes of its payload (RFC 792). flannel copies a fixed 20
 * bytes of header; this copies the offender's real header length so that options do not cut the quoted transport
 * ports short.
 */
public final class IcmpUnreachable {
    public static final int TYPE_DEST_UNREACHABLE = 3;
    public static final int CODE_NET_UNREACHABLE = 0;
    /** Room for the largest possible reply: 20 + 8 + a 60-byte offender header + 8. */
    public static final int MAX_LENGTH = 20 + 8 + 60 + 8;
    private static final int TTL = 64;

    private IcmpUnreachable() {
    }

    /**
     * Whether an ICMP error may be sent about this packet. RFC 1122 forbids errors about ICMP errors (two hosts could
     * otherwise bounce them forever) and about non-first fragments (they carry no transport header to quote).
     * The packet must already have passed {@link Ipv4Packet#validate}.
     */
    public static boolean mayReplyTo(ByteBuffer buf, int offset, int headerLength, int length) {
        if (Ipv4Packet.fragmentOffset(buf, offset) != 0) {
            return false;
        }
        if (Ipv4Packet.protocol(buf, offset) == Ipv4Packet.PROTO_ICMP) {
            if (length <= headerLength) {
                return false;
            }
            int type = buf.get(offset + headerLength) & 0xff;
            // Only queries and replies (echo 0/8, timestamp 13/14, info 15/16, address mask 17/18) may be answered.
            return type == 0 || type == 8 || (type >= 13 && type <= 18);
        }
        return true;
    }

    /**
     * Writes the reply about the offender at {@code offset} (validated, header length {@code headerLength}, total
     * {@code length}) into {@code out} at {@code outOffset}.
     *
     * @param localAddress the reply's source, the local flannel0 address (the "router" that could not forward)
     * @return the reply's length
     */
    public static int write(ByteBuffer offender, int offset, int headerLength, int length, int localAddress,
                            ByteBuffer out, int outOffset) {
        int quoted = Math.min(length, headerLength + 8);
        int total = 20 + 8 + quoted;
        out.put(outOffset, (byte) 0x45);
        out.put(outOffset + 1, (byte) 0);
        out.putShort(outOffset + 2, (short) total);
        out.putInt(outOffset + 4, 0);                        // id 0, no flags, offset 0 (as flannel)
        out.put(outOffset + 8, (byte) TTL);
        out.put(outOffset + 9, (byte) Ipv4Packet.PROTO_ICMP);
        out.putShort(outOffset + 10, (short) 0);
        out.putInt(outOffset + 12, localAddress);
        out.putInt(outOffset + 16, Ipv4Packet.source(offender, offset));
        out.putShort(outOffset + 10, (short) Ipv4Packet.checksum(out, outOffset, 20));

        int icmp = outOffset + 20;
        out.put(icmp, (byte) TYPE_DEST_UNREACHABLE);
        out.put(icmp + 1, (byte) CODE_NET_UNREACHABLE);
        out.putShort(icmp + 2, (short) 0);
        out.putInt(icmp + 4, 0);                             // unused
        for (int i = 0; i < quoted; i++) {
            out.put(icmp + 8 + i, offender.get(offset + i));
        }
        out.putShort(icmp + 2, (short) Ipv4Packet.checksum(out, icmp, 8 + quoted));
        return total;
    }
}
