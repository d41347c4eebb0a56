package io.flanneld.udp;

import java.nio.ByteBuffer;

/**
 * Software segmentation for packets the TUN device hands over with TSO (IFF_VNET_HDR, TUN_F_TSO4): a TCPv4
 * super-packet of up to 64 KiB with one IPv4 and one TCP header becomes the ordinary packets the kernel would have
 * sent, each carrying {@code gso_size} bytes of payload (the last may carry less), so that each still travels as the
 * whole payload of one datagram (flannel's wire format). Per segment: IPv4 total length, identification (+1 per
 * segment) and header checksum; TCP sequence number, flags (FIN and PSH only on the last segment, CWR only on the
 * first) and a full TCP checksum. Segments are written back to back into the output buffer, so that all but the last
 * have the same size: exactly the layout UDP GSO (UDP_SEGMENT) sends with one system call. UDP super-packets
 * (TUN_F_USO4) are cut the same way by {@link #segmentUdp}.
 *
 * <p>One instance per thread: the results of the last call are in {@link #segments()} and {@link #segmentSize()}.
 * Nothing is allocated per packet. Buffers come in pairs: a big-endian one and a little-endian view of the same
 * memory (for {@link Checksum#sum}).
 */
final class TcpSegmenter {
    /** Returned by {@link #segment} and {@link #completeChecksum} for a packet that cannot be what the header says. */
    static final int MALFORMED = -1;
    /** More segments than this in one super-packet (a tiny gso_size) is refused as malformed. */
    static final int MAX_SEGMENTS = 128;
    private static final int UDP_PROTOCOL = 17;
    private static final int UDP_HEADER = 8;

    private int segments;
    private int segmentSize;

    int segments() {
        return segments;
    }

    /** The size of every segment but the last (the last may be smaller). */
    int segmentSize() {
        return segmentSize;
    }

    /**
     * Segments the TCPv4 super-packet of {@code length} bytes at {@code in}/{@code inOffset} into {@code out} at
     * {@code outOffset}, at most {@code room} bytes.
     *
     * @return the bytes written (all segments), or {@link #MALFORMED}
     */
    int segment(ByteBuffer in, ByteBuffer inLe, int inOffset, int length, int gsoSize,
                ByteBuffer out, ByteBuffer outLe, int outOffset, int room) {
        int ipHeader = Ipv4Packet.validate(in, inOffset, length);
        if (ipHeader == Ipv4Packet.MALFORMED || Ipv4Packet.protocol(in, inOffset) != Tcp.PROTOCOL
                || (in.getShort(inOffset + 6) & 0x3fff) != 0          // a fragment cannot be a TSO packet
                || ipHeader + Tcp.MIN_HEADER > length || gsoSize == 0) {
            return MALFORMED;
        }
        int tcp = inOffset + ipHeader;
        int tcpHeader = Tcp.headerLength(in, tcp);
        int headers = ipHeader + tcpHeader;
        if (tcpHeader < Tcp.MIN_HEADER || headers > length) {
            return MALFORMED;
        }
        int payload = length - headers;
        int count = payload == 0 ? 1 : (payload + gsoSize - 1) / gsoSize;
        if (count > MAX_SEGMENTS || (long) count * headers + payload > room) {
            return MALFORMED;
        }
        int seq = Tcp.seq(in, tcp);
        int id = in.getShort(inOffset + 4) & 0xffff;
        int flags = Tcp.flags(in, tcp);
        int o = outOffset;
        for (int i = 0; i < count; i++) {
            int chunk = Math.min(gsoSize, payload - i * gsoSize);
            int size = headers + chunk;
            copySegment(in, inOffset, headers, inOffset + headers + i * gsoSize, chunk, out, o, ipHeader, id + i);
            int t = o + ipHeader;
            out.putInt(t + 4, seq + i * gsoSize);
            int f = flags;
            if (i < count - 1) {
                f &= ~(Tcp.FIN | Tcp.PSH);
            }
            if (i > 0) {
                f &= ~Tcp.CWR;
            }
            out.put(t + 13, (byte) f);
            out.putShort(t + Tcp.CHECKSUM, (short) 0);
            int sum = Checksum.add(Checksum.pseudoHeader(out, o, Tcp.PROTOCOL, size - ipHeader),
                    Checksum.sum(outLe, t, size - ipHeader));
            out.putShort(t + Tcp.CHECKSUM, (short) ~sum);
            o += size;
        }
        segments = count;
        segmentSize = count == 1 ? length : headers + gsoSize;
        return o - outOffset;
    }

    /**
     * Segments a UDP/IPv4 super-packet (TUN_F_USO4, gso_type UDP_L4: an application sent with UDP_SEGMENT) into
     * datagrams of {@code gsoSize} payload bytes, the last possibly shorter: per segment IPv4 total length, id (+1)
     * and header checksum, UDP length and a full UDP checksum. Same contract as {@link #segment}.
     */
    int segmentUdp(ByteBuffer in, ByteBuffer inLe, int inOffset, int length, int gsoSize,
                   ByteBuffer out, ByteBuffer outLe, int outOffset, int room) {
        int ipHeader = Ipv4Packet.validate(in, inOffset, length);
        if (ipHeader == Ipv4Packet.MALFORMED || Ipv4Packet.protocol(in, inOffset) != UDP_PROTOCOL
                || (in.getShort(inOffset + 6) & 0x3fff) != 0 || ipHeader + UDP_HEADER > length || gsoSize == 0) {
            return MALFORMED;
        }
        int headers = ipHeader + UDP_HEADER;
        int payload = length - headers;
        int count = payload == 0 ? 1 : (payload + gsoSize - 1) / gsoSize;
        if (count > MAX_SEGMENTS || (long) count * headers + payload > room) {
            return MALFORMED;
        }
        int id = in.getShort(inOffset + 4) & 0xffff;
        int o = outOffset;
        for (int i = 0; i < count; i++) {
            int chunk = Math.min(gsoSize, payload - i * gsoSize);
            int size = headers + chunk;
            copySegment(in, inOffset, headers, inOffset + headers + i * gsoSize, chunk, out, o, ipHeader, id + i);
            int u = o + ipHeader;
            out.putShort(u + 4, (short) (UDP_HEADER + chunk));
            out.putShort(u + 6, (short) 0);
            int sum = Checksum.add(Checksum.pseudoHeader(out, o, UDP_PROTOCOL, UDP_HEADER + chunk),
                    Checksum.sum(outLe, u, UDP_HEADER + chunk));
            int check = ~sum & 0xffff;
            out.putShort(u + 6, (short) (check == 0 ? 0xffff : check));     // 0 would mean "no checksum"
            o += size;
        }
        segments = count;
        segmentSize = count == 1 ? length : headers + gsoSize;
        return o - outOffset;
    }

    /**
     * Completes a checksum the kernel left partial (VIRTIO_NET_HDR_F_NEEDS_CSUM on a packet that needs no
     * segmentation): the field at {@code csumStart + csumOffset} holds the pseudo-header sum, and the one's
     * complement of the sum from {@code csumStart} to the end belongs there.
     *
     * @return 0, or {@link #MALFORMED} when the offsets lie outside the packet
     */
    static int completeChecksum(ByteBuffer buf, ByteBuffer le, int offset, int length, int csumStart,
                                int csumOffset) {
        int ipHeader = Ipv4Packet.validate(buf, offset, length);
        if (ipHeader == Ipv4Packet.MALFORMED || csumStart < ipHeader || csumStart + csumOffset + 2 > length
                || (csumOffset & 1) != 0) {
            return MALFORMED;
        }
        int sum = Checksum.sum(le, offset + csumStart, length - csumStart);
        int check = ~sum & 0xffff;
        if (check == 0 && Ipv4Packet.protocol(buf, offset) == 17) {
            check = 0xffff;                                     // UDP: 0 would mean "no checksum"
        }
        buf.putShort(offset + csumStart + csumOffset, (short) check);
        return 0;
    }

    /**
     * Segment {@code chunk} bytes at {@code from} behind a copy of the super-packet's {@code headers}, with the IPv4
     * total length, id and header checksum of its own; the transport header is the caller's to finish.
     */
    private static void copySegment(ByteBuffer in, int inOffset, int headers, int from, int chunk, ByteBuffer out, int o,
                                    int ipHeader, int id) {
        out.put(o, in, inOffset, headers);
        out.put(o + headers, in, from, chunk);
        out.putShort(o + 2, (short) (headers + chunk));
        out.putShort(o + 4, (short) id);
        Checksum.setIpv4HeaderChecksum(out, o, ipHeader);
    }
}
