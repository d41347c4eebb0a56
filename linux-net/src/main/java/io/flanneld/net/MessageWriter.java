package io.flanneld.net;

import static io.flanneld.net.NetlinkConstants.NLA_F_NESTED;
import static io.flanneld.net.NetlinkConstants.NLA_HDRLEN;
import static io.flanneld.net.NetlinkConstants.NLMSG_HDRLEN;
import static io.flanneld.net.NetlinkConstants.align;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Builds one netlink message into a reusable buffer: header, fixed family struct, then attributes, each padded to 4
 * bytes as NLMSG_ALIGN/NLA_ALIGN require. Multi-byte fields are in host order except where a protocol says
 * otherwise (IFLA_VXLAN_PORT, addresses), for which there are explicit methods.
 *
 * <p>The sequence number and port id are left 0; the socket stamps them when sending, since only it knows them.
 */
final class MessageWriter {
    private final ByteBuffer buffer;

    MessageWriter(ByteBuffer buffer) {
        this.buffer = buffer.order(ByteOrder.nativeOrder());
    }

    static MessageWriter allocate(int capacity) {
        return new MessageWriter(ByteBuffer.allocate(capacity));
    }

    /** Starts a new message, discarding whatever the buffer held. */
    MessageWriter begin(int type, int flags) {
        buffer.clear();
        buffer.putInt(0).putShort((short) type).putShort((short) flags).putInt(0).putInt(0);
        return this;
    }

    MessageWriter u8(int value) {
        buffer.put((byte) value);
        return this;
    }

    MessageWriter u16(int value) {
        buffer.putShort((short) value);
        return this;
    }

    MessageWriter u32(int value) {
        buffer.putInt(value);
        return this;
    }

    MessageWriter attr(int type, byte[] value) {
        buffer.putShort((short) (NLA_HDRLEN + value.length)).putShort((short) type).put(value);
        pad();
        return this;
    }

    MessageWriter attrU8(int type, int value) {
        return attr(type, new byte[] {(byte) value});
    }

    MessageWriter attrU16(int type, int value) {
        buffer.putShort((short) (NLA_HDRLEN + 2)).putShort((short) type).putShort((short) value);
        pad();
        return this;
    }

    /** A 16-bit value in network byte order, e.g. IFLA_VXLAN_PORT. */
    MessageWriter attrU16BigEndian(int type, int value) {
        return attr(type, new byte[] {(byte) (value >>> 8), (byte) value});
    }

    MessageWriter attrU32(int type, int value) {
        buffer.putShort((short) (NLA_HDRLEN + 4)).putShort((short) type).putInt(value);
        return this;
    }

    /** A NUL-terminated string, as the kernel's NLA_STRING/NLA_NUL_STRING policies accept. */
    MessageWriter attrString(int type, String value) {
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        byte[] terminated = new byte[bytes.length + 1];
        System.arraycopy(bytes, 0, terminated, 0, bytes.length);
        return attr(type, terminated);
    }

    /** Opens a nested attribute; returns its start, to be passed to {@link #endNested}. */
    int beginNested(int type) {
        int start = buffer.position();
        buffer.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
        return start;
    }

    MessageWriter endNested(int start) {
        buffer.putShort(start, (short) (buffer.position() - start));
        return this;
    }

    /** Fills in nlmsg_len and returns the message, ready to send: position 0, limit its length. */
    ByteBuffer finish() {
        pad();
        int length = buffer.position();
        if (length < NLMSG_HDRLEN) {
            throw new IllegalStateException("finish() without begin()");
        }
        buffer.putInt(0, length);
        ByteBuffer message = buffer.duplicate().order(buffer.order());
        message.flip();
        return message;
    }

    private void pad() {
        int aligned = align(buffer.position());
        while (buffer.position() < aligned) {
            buffer.put((byte) 0);
        }
    }
}
