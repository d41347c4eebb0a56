package io.flanneld.udp;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import java.nio.ByteBuffer;

/** Test packets and leases. */
final class Packets {
    private Packets() {
    }

    /** An IPv4 packet with a 20-byte header, a correct checksum and the given payload. */
    /** True when the IPv4 header at {@code offset} checksums to all ones, i.e. its checksum field is right. */
    static boolean headerChecksumValid(ByteBuffer buf, int offset) {
        return Ipv4Packet.checksum(buf, offset, Ipv4Packet.headerLength(buf, offset)) == 0;
    }

    static ByteBuffer ipv4(String src, String dst, int ttl, int protocol, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(20 + payload.length);
        b.put(0, (byte) 0x45).putShort(2, (short) (20 + payload.length)).putShort(4, (short) 0x1234)
                .put(8, (byte) ttl).put(9, (byte) protocol).putInt(12, Ip4.parse(src)).putInt(16, Ip4.parse(dst));
        b.putShort(10, (short) Ipv4Packet.checksum(b, 0, 20));
        b.position(20);
        b.put(payload);
        b.clear();
        return b;
    }

    /** An ICMP echo request (type 8) with a correct ICMP checksum. */
    static ByteBuffer echoRequest(String src, String dst, int ttl) {
        byte[] icmp = {8, 0, 0, 0, 0x12, 0x34, 0, 1, 'p', 'i', 'n', 'g', '!', '!', '!', '!'};
        ByteBuffer b = ipv4(src, dst, ttl, Ipv4Packet.PROTO_ICMP, icmp);
        b.putShort(22, (short) Ipv4Packet.checksum(b, 20, icmp.length));
        return b;
    }

    static Lease lease(String subnet, String publicIp) {
        return lease(subnet, publicIp, UdpBackend.TYPE);
    }

    static Lease lease(String subnet, String publicIp, String type) {
        return new Lease(Ip4Net.parse(subnet), new LeaseAttrs(Ip4.parse(publicIp), type, null), 1, 1);
    }
}
