package io.flanneld.udp;

import java.nio.ByteBuffer;

/** TCP header fields at an absolute offset of a big-endian buffer; allocation-free. */
final class Tcp {
    static final int PROTOCOL = 6;
    static final int MIN_HEADER = 20;
    /** Offset of the checksum field in the TCP header. */
    static final int CHECKSUM = 16;
    static final int FIN = 0x01;
    static final int SYN = 0x02;
    static final int RST = 0x04;
    static final int PSH = 0x08;
    static final int ACK = 0x10;
    static final int URG = 0x20;
    static final int CWR = 0x80;

    private Tcp() {
    }

    static int headerLength(ByteBuffer buf, int tcp) {
        return ((buf.get(tcp + 12) & 0xff) >>> 4) * 4;
    }

    static int seq(ByteBuffer buf, int tcp) {
        return buf.getInt(tcp + 4);
    }

    static int flags(ByteBuffer buf, int tcp) {
        return buf.get(tcp + 13) & 0xff;
    }
}
