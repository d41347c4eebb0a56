package io.flanneld.udp;

import java.nio.ByteBuffer;

/**
 * Receive-side coalescing for a TUN device with IFF_VNET_HDR: consecutive in-order TCP segments of one flow are
 * merged into one super-packet that is written with a virtio_net_hdr asking for TCPv4 GSO, so the kernel takes up
 * to 64 KiB per write instead of one MSS; anything else is written alone behind a plain (all-zero) header. Without
 * a vnet header the packets are written one by one, unchanged.
 *
 * <p>A segment joins the pending one when the IPv4 headers agree (20 bytes, no options, no fragment; same
 * addresses, TOS, TTL and DF), the TCP headers agree (ports, header length, acknowledgement, window, options
 * byte for byte), its sequence number is the next expected, its payload is not longer than the first one's (the
 * segment size), it carries only ACK, or ACK|PSH as the last, and both its TCP checksum and (when it is the second)
 * the first segment's verify. A shorter or PSH segment closes the super-packet. These are the conditions under which
 * the kernel's own GRO merges, so the receiver sees what it would have seen from a NIC doing GRO.
 *
 * <p>Checksums: the merged packet carries a partial TCP checksum (NEEDS_CSUM), which the kernel completes and then
 * trusts, so every segment in it has had its own TCP checksum (IPv4 pseudo-header, TCP header and payload) verified
 * here first. The outer UDP checksum is no substitute: it is optional in IPv4 (a sender may send 0, and the receiving
 * kernel then verifies nothing) and it covers nothing that went wrong before encapsulation. A segment whose checksum
 * is wrong is not merged and not dropped here: the pending super-packet it would have joined is written first (order
 * is kept), then the segment alone behind a plain header, as the kernel's own GRO passes such a segment up unmerged.
 * The kernel then verifies it (the host's if it is addressed there, the pod's after forwarding) and drops it, counted
 * where checksum errors are always counted (TcpInCsumErrors of the receiving namespace); the daemon counts it as a
 * packet written, not as a drop. A packet written alone is never marked NEEDS_CSUM, so only segments that are merged
 * are checked: the first of a run when a second would join it, then each one joining. {@link Checksum#sum} reads 8
 * bytes at a time and allocates nothing.
 *
 * <p>Single-threaded; buffers are allocated once. {@link #flush} must be called when a batch ends so that nothing
 * waits for a later packet.
 */
final class TcpCoalescer {
    /** Writes {@code length} bytes at {@code offset} of {@code buffer} to the TUN device as one packet. */
    interface Sink {
        boolean write(ByteBuffer buffer, int offset, int length);
    }

    static final int MAX_PACKET = 65535;

    private final boolean vnetHeader;
    private final boolean merge;
    private final int headerRoom;
    private final Sink sink;
    private final CounterCells counters;
    private final ByteBuffer buf;
    private final ByteBuffer le;
    /** The last source buffer passed to {@link #add}, and a little-endian view of it for {@link Checksum#sum}. */
    private ByteBuffer source;
    private ByteBuffer sourceLe;

    private int packets;        // inner packets in the pending one (0: nothing pending)
    private int innerBytes;     // their sizes summed, for the counters
    private int length;         // the pending packet's length so far (without the vnet header)
    private boolean open;       // may take another segment
    private int ipHeader;
    private int headers;
    private int segmentSize;
    private int nextSeq;

    /**
     * @param vnetHeader the TUN device expects a virtio_net_hdr before each packet
     * @param merge merge TCP segments (with a vnet header only; off writes each packet alone, to measure it)
     */
    TcpCoalescer(boolean vnetHeader, boolean merge, Sink sink, CounterCells counters) {
        this.vnetHeader = vnetHeader;
        this.merge = vnetHeader && merge;
        this.headerRoom = vnetHeader ? VirtioNetHeader.SIZE : 0;
        this.sink = sink;
        this.counters = counters;
        this.buf = ByteBuffer.allocateDirect(VirtioNetHeader.SIZE + MAX_PACKET);
        this.le = Checksum.littleEndian(buf);
    }

    /** The buffer every {@link Sink#write} comes from. */
    ByteBuffer buffer() {
        return buf;
    }

    /** Takes the accepted packet of {@code size} bytes at {@code offset} (its length already validated). */
    void add(ByteBuffer src, int offset, int size) {
        if (open && mergeable(src, offset, size) && checksumsVerify(src, offset, size)) {
            append(src, offset, size);
            return;
        }
        flush();
        start(src, offset, size);
        if (!merge) {
            flush();
        }
    }

    private void start(ByteBuffer src, int offset, int size) {
        int p = headerRoom;
        buf.put(p, src, offset, size);
        packets = 1;
        innerBytes = size;
        length = size;
        open = false;
        if (!merge || size < 40 || (buf.get(p) & 0xff) != 0x45 || Ipv4Packet.protocol(buf, p) != Tcp.PROTOCOL
                || (buf.getShort(p + 6) & 0x3fff) != 0) {
            return;
        }
        ipHeader = 20;
        int tcpHeader = Tcp.headerLength(buf, p + ipHeader);
        headers = ipHeader + tcpHeader;
        int payload = size - headers;
        if (tcpHeader < Tcp.MIN_HEADER || payload <= 0 || Tcp.flags(buf, p + ipHeader) != Tcp.ACK) {
            return;
        }
        segmentSize = payload;
        nextSeq = Tcp.seq(buf, p + ipHeader) + payload;
        open = true;
    }

    private boolean mergeable(ByteBuffer src, int offset, int size) {
        int payload = size - headers;
        if (payload <= 0 || payload > segmentSize || length + payload > MAX_PACKET) {
            return false;
        }
        int p = headerRoom;
        if ((src.get(offset) & 0xff) != 0x45 || src.get(offset + 9) != Tcp.PROTOCOL
                || (src.getShort(offset + 6) & 0x3fff) != 0
                || src.get(offset + 1) != buf.get(p + 1)                       // TOS (incl. ECN)
                || (src.getShort(offset + 6) & 0x4000) != (buf.getShort(p + 6) & 0x4000)
                || src.get(offset + 8) != buf.get(p + 8)                       // TTL
                || src.getLong(offset + 12) != buf.getLong(p + 12)) {          // source and destination
            return false;
        }
        int t = offset + ipHeader;
        int pt = p + ipHeader;
        if (Tcp.headerLength(src, t) != headers - ipHeader
                || src.getInt(t) != buf.getInt(pt)                             // ports
                || Tcp.seq(src, t) != nextSeq
                || src.getInt(t + 8) != buf.getInt(pt + 8)                     // acknowledgement
                || src.getShort(t + 14) != buf.getShort(pt + 14)) {            // window
            return false;
        }
        int flags = Tcp.flags(src, t);
        if (flags != Tcp.ACK && flags != (Tcp.ACK | Tcp.PSH)) {
            return false;
        }
        for (int i = Tcp.MIN_HEADER; i < headers - ipHeader; i++) {
            if (src.get(t + i) != buf.get(pt + i)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether the pending packet may be marked as having a partial checksum once this segment joins it: the pending
     * first segment (checked only now, when a second would join it: alone it is written with a plain header) and this
     * segment both have a correct TCP checksum. If not, the caller writes what is pending and starts a new packet with
     * this segment; should its own checksum be wrong, the next segment finds that out and it is written alone.
     */
    private boolean checksumsVerify(ByteBuffer src, int offset, int size) {
        if (packets == 1 && !tcpChecksumValid(buf, le, headerRoom, length)) {
            return false;
        }
        if (src != source) {                // one buffer in the daemon: a view made once, not per packet
            source = src;
            sourceLe = Checksum.littleEndian(src);
        }
        return tcpChecksumValid(src, sourceLe, offset, size);
    }

    /** The TCP checksum of the {@code size}-byte packet at {@code offset} (20-byte IPv4 header) verifies. */
    private boolean tcpChecksumValid(ByteBuffer be, ByteBuffer le, int offset, int size) {
        int tcpLength = size - ipHeader;
        int sum = Checksum.add(Checksum.pseudoHeader(be, offset, Tcp.PROTOCOL, tcpLength),
                Checksum.sum(le, offset + ipHeader, tcpLength));
        return sum == 0xffff;
    }

    private void append(ByteBuffer src, int offset, int size) {
        int payload = size - headers;
        buf.put(headerRoom + length, src, offset + headers, payload);
        length += payload;
        innerBytes += size;
        packets++;
        nextSeq += payload;
        int flags = Tcp.flags(src, offset + ipHeader);
        if ((flags & Tcp.PSH) != 0) {
            int pt = headerRoom + ipHeader;
            buf.put(pt + 13, (byte) (buf.get(pt + 13) | Tcp.PSH));
        }
        if (payload < segmentSize || (flags & Tcp.PSH) != 0) {
            open = false;
        }
    }

    /** Writes the pending packet, if any. */
    void flush() {
        if (packets == 0) {
            return;
        }
        int p = headerRoom;
        if (vnetHeader) {
            if (packets == 1) {
                VirtioNetHeader.putPlain(le, 0);
            } else {
                buf.putShort(p + 2, (short) length);
                Checksum.setIpv4HeaderChecksum(buf, p, ipHeader);
                buf.putShort(p + ipHeader + Tcp.CHECKSUM,
                        (short) Checksum.pseudoHeader(buf, p, Tcp.PROTOCOL, length - ipHeader));
                VirtioNetHeader.putTcpV4(le, 0, headers, segmentSize, ipHeader);
            }
        }
        if (sink.write(buf, 0, headerRoom + length)) {
            counters.add(CounterCells.PACKETS, packets);
            counters.add(CounterCells.BYTES, innerBytes);
        } else {
            counters.increment(CounterCells.IO_ERRORS);
        }
        packets = 0;
        open = false;
    }
}
