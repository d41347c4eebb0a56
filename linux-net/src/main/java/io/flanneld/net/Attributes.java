package io.flanneld.net;

import static io.flanneld.net.NetlinkConstants.NLA_HDRLEN;
import static io.flanneld.net.NetlinkConstants.NLA_TYPE_MASK;
import static io.flanneld.net.NetlinkConstants.align;

import io.flanneld.schema.Ip6;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The attributes (struct nlattr: u16 len, u16 type, value, padding to 4) of one message or nested attribute, indexed
 * by type. Every accessor checks the value's length, so a short or garbled attribute becomes a
 * {@link MalformedMessageException} naming it rather than a wrong value or an index error.
 */
final class Attributes {
    private final Map<Integer, ByteBuffer> byType;
    private final String context;

    private Attributes(Map<Integer, ByteBuffer> byType, String context) {
        this.byType = byType;
        this.context = context;
    }

    /** Parses the whole of {@code data} (position 0..limit) as attributes; {@code context} names them in errors. */
    static Attributes parse(ByteBuffer data, String context) {
        ByteBuffer in = data.slice().order(ByteOrder.nativeOrder());
        Map<Integer, ByteBuffer> byType = new HashMap<>();
        int offset = 0;
        int end = in.limit();
        while (end - offset >= NLA_HDRLEN) {
            int length = Short.toUnsignedInt(in.getShort(offset));
            int type = Short.toUnsignedInt(in.getShort(offset + 2)) & NLA_TYPE_MASK;
            if (length < NLA_HDRLEN || length > end - offset) {
                throw new MalformedMessageException(context + ": attribute type " + type + " at offset " + offset
                        + " has nla_len " + length + " but " + (end - offset) + " bytes remain");
            }
            byType.put(type, in.slice(offset + NLA_HDRLEN, length - NLA_HDRLEN).order(ByteOrder.nativeOrder()));
            offset += Math.min(align(length), end - offset);
        }
        if (offset != end) {
            throw new MalformedMessageException(context + ": " + (end - offset)
                    + " trailing bytes, too few for an attribute header");
        }
        return new Attributes(byType, context);
    }

    boolean has(int type) {
        return byType.containsKey(type);
    }

    Optional<Integer> u8(int type) {
        return value(type, 1).map(v -> Byte.toUnsignedInt(v.get(0)));
    }

    Optional<Integer> u16BigEndian(int type) {
        return value(type, 2).map(v -> Short.toUnsignedInt(v.order(ByteOrder.BIG_ENDIAN).getShort(0)));
    }

    Optional<Integer> u32(int type) {
        return value(type, 4).map(v -> v.getInt(0));
    }

    /** A string attribute; the kernel NUL-terminates them, but a value without the NUL is accepted whole. */
    Optional<String> string(int type) {
        ByteBuffer v = byType.get(type);
        if (v == null) {
            return Optional.empty();
        }
        int length = 0;
        while (length < v.limit() && v.get(length) != 0) {
            length++;
        }
        byte[] bytes = new byte[length];
        v.get(0, bytes);
        return Optional.of(new String(bytes, StandardCharsets.UTF_8));
    }

    Optional<byte[]> bytes(int type) {
        ByteBuffer v = byType.get(type);
        if (v == null) {
            return Optional.empty();
        }
        byte[] bytes = new byte[v.limit()];
        v.get(0, bytes);
        return Optional.of(bytes);
    }

    /**
     * A 4-byte IPv4 address (network byte order) as an int. An attribute of another size (an IPv6 address) is an
     * error for the caller to avoid.
     */
    OptionalInt ipv4(int type) {
        Optional<ByteBuffer> v = value(type, 4);
        return v.isPresent() ? OptionalInt.of(v.get().order(ByteOrder.BIG_ENDIAN).getInt(0)) : OptionalInt.empty();
    }

    /** A 16-byte IPv6 address (network byte order). A shorter value is an error for the caller to avoid. */
    Optional<Ip6> ipv6(int type) {
        return value(type, 16).map(v -> {
            byte[] bytes = new byte[16];
            v.get(0, bytes);
            return Ip6.fromBytes(bytes);
        });
    }

    /** Size of the attribute's value, or -1 when absent: for telling IPv4 from IPv6 addresses apart. */
    int length(int type) {
        ByteBuffer v = byType.get(type);
        return v == null ? -1 : v.limit();
    }

    Optional<Attributes> nested(int type, String name) {
        ByteBuffer v = byType.get(type);
        return v == null ? Optional.empty() : Optional.of(parse(v, context + "/" + name));
    }

    private Optional<ByteBuffer> value(int type, int minimumLength) {
        ByteBuffer v = byType.get(type);
        if (v == null) {
            return Optional.empty();
        }
        if (v.limit() < minimumLength) {
            throw new MalformedMessageException(context + ": attribute type " + type + " has " + v.limit()
                    + " bytes, expected " + minimumLength);
        }
        return Optional.of(v);
    }
}
