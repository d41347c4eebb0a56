package io.flanneld.net;

import java.nio.ByteBuffer;

/** Builds and recognises minimal IPv4 ICMP echo packets for TUN tests. */
final class IcmpPackets {
    private IcmpPackets() {
    }

    static byte[] echoRequest(int source, int destination, int id, int sequence) {
        byte[] payload = "flanneld-java".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        int total = 20 + 8 + payload.length;
        ByteBuffer p = ByteBuffer.allocate(total); // network order
        p.put((byte) 0x45).put((byte) 0).putShort((short) total).putShort((short) 1).putShort((short) 0x4000)
                .put((byte) 64).put((byte) 1).putShort((short) 0).putInt(source).putInt(destination);
        p.putShort(10, checksum(p.array(), 0, 20));
        p.put((byte) 8).put((byte) 0).putShort((short) 0).putShort((short) id).putShort((short) sequence).put(payload);
        p.putShort(22, checksum(p.array(), 20, total - 20));
        return p.array();
    }

    static boolean isEchoReply(ByteBuffer packet, int source, int destination, int id) {
        if (packet.remaining() < 28 || (packet.get(0) & 0xf0) != 0x40 || packet.get(9) != 1) {
            return false;
        }
        int ihl = (packet.get(0) & 0x0f) * 4;
        ByteBuffer networkOrder = packet.duplicate().order(java.nio.ByteOrder.BIG_ENDIAN);
        return networkOrder.getInt(12) == source && networkOrder.getInt(16) == destination
                && packet.get(ihl) == 0 && (packet.getShort(ihl + 4) & 0xffff) == id;
    }

    private static short checksum(byte[] data, int offset, int length) {
        long sum = 0;
        for (int i = 0; i < length; i += 2) {
            int hi = data[offset + i] & 0xff;
            int lo = i + 1 < length ? data[offset + i + 1] & 0xff : 0;
            sum += hi << 8 | lo;
        }
        while ((sum >> 16) != 0) {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        return (short) ~sum;
    }
}
