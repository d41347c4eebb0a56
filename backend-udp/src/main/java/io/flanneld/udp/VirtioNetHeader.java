package io.flanneld.udp;

import java.nio.ByteBuffer;

/**
 * {@code struct virtio_net_hdr} (linux/virtio_net.h), the 10 bytes that precede every packet read from or written to
 * a TUN device opened with IFF_VNET_HDR. Fields are in the host's byte order (little-endian here, the TUN default);
 * all accessors take a little-endian buffer.
 *
 * <pre>
 * u8 flags; u8 gso_type; u16 hdr_len; u16 gso_size; u16 csum_start; u16 csum_offset;
 * </pre>
 */
final class VirtioNetHeader {
    static final int SIZE = 10;
    /** flags: the checksum at csum_start + csum_offset holds only the pseudo-header sum; the rest is ours to add. */
    static final int F_NEEDS_CSUM = 1;
    static final int GSO_NONE = 0;
    static final int GSO_TCPV4 = 1;
    /** UDP segmentation (USO): the payload is cut into gso_size datagrams, each with its own UDP header. */
    static final int GSO_UDP_L4 = 5;
    /** gso_type bit: the TCP stream uses ECN (CWR belongs on the first segment only). */
    static final int GSO_ECN = 0x80;

    private VirtioNetHeader() {
    }

    static int flags(ByteBuffer le, int offset) {
        return le.get(offset) & 0xff;
    }

    static int gsoType(ByteBuffer le, int offset) {
        return le.get(offset + 1) & 0xff;
    }

    static int gsoSize(ByteBuffer le, int offset) {
        return le.getShort(offset + 4) & 0xffff;
    }

    static int csumStart(ByteBuffer le, int offset) {
        return le.getShort(offset + 6) & 0xffff;
    }

    static int csumOffset(ByteBuffer le, int offset) {
        return le.getShort(offset + 8) & 0xffff;
    }

    /** A header that asks nothing of the kernel: the packet is complete, its checksums are to be verified. */
    static void putPlain(ByteBuffer le, int offset) {
        le.putShort(offset, (short) 0);
        le.putLong(offset + 2, 0L);
    }

    /** A TCPv4 GSO super-packet: the kernel takes it whole and adds the payload to the partial TCP checksum. */
    static void putTcpV4(ByteBuffer le, int offset, int headerLength, int gsoSize, int ipHeaderLength) {
        le.put(offset, (byte) F_NEEDS_CSUM);
        le.put(offset + 1, (byte) GSO_TCPV4);
        le.putShort(offset + 2, (short) headerLength);
        le.putShort(offset + 4, (short) gsoSize);
        le.putShort(offset + 6, (short) ipHeaderLength);
        le.putShort(offset + 8, (short) Tcp.CHECKSUM);
    }
}
