package io.flanneld.net;

import static io.flanneld.net.NetlinkConstants.NLMSG_HDRLEN;
import static io.flanneld.net.NetlinkConstants.align;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * One message of a netlink datagram. {@code payload} is a view of the receive buffer (after the 16-byte header), valid
 * only until the socket receives again, so decoders turn it into records straight away.
 */
record NetlinkMessage(int type, int flags, int seq, int pid, ByteBuffer payload) {

    /**
     * Splits a datagram (position..limit of {@code data}) into messages, checking every length field against the
     * bytes actually present.
     */
    static List<NetlinkMessage> split(ByteBuffer data) {
        ByteBuffer in = data.slice().order(ByteOrder.nativeOrder());
        List<NetlinkMessage> messages = new ArrayList<>();
        int offset = 0;
        int end = in.limit();
        while (end - offset >= NLMSG_HDRLEN) {
            int length = in.getInt(offset);
            if (length < NLMSG_HDRLEN || length > end - offset) {
                throw new MalformedMessageException("netlink message at offset " + offset + " has nlmsg_len "
                        + Integer.toUnsignedString(length) + " but " + (end - offset) + " bytes remain");
            }
            int type = Short.toUnsignedInt(in.getShort(offset + 4));
            int flags = Short.toUnsignedInt(in.getShort(offset + 6));
            int seq = in.getInt(offset + 8);
            int pid = in.getInt(offset + 12);
            ByteBuffer payload = in.slice(offset + NLMSG_HDRLEN, length - NLMSG_HDRLEN).order(ByteOrder.nativeOrder());
            messages.add(new NetlinkMessage(type, flags, seq, pid, payload));
            offset += Math.min(align(length), end - offset);
        }
        if (offset != end) {
            throw new MalformedMessageException("netlink datagram has " + (end - offset)
                    + " trailing bytes, too few for a message header");
        }
        return messages;
    }

    String typeName() {
        return NetlinkConstants.messageTypeName(type);
    }

    /** Requires the payload to hold at least a fixed struct of {@code length} bytes, e.g. ifinfomsg. */
    ByteBuffer requireStruct(String struct, int length) {
        if (payload.limit() < length) {
            throw new MalformedMessageException(typeName() + ": payload of " + payload.limit()
                    + " bytes is shorter than struct " + struct + " (" + length + " bytes)");
        }
        return payload;
    }

    /** The attributes after a fixed struct of {@code structLength} bytes. */
    Attributes attributesAfter(String struct, int structLength) {
        requireStruct(struct, structLength);
        int start = align(structLength);
        if (start > payload.limit()) {
            return Attributes.parse(payload.slice(payload.limit(), 0), typeName());
        }
        return Attributes.parse(payload.slice(start, payload.limit() - start), typeName());
    }
}
