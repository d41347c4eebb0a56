package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.AF_INET;
import static io.flanneld.net.LinuxAbi.AF_INET6;
import static io.flanneld.net.NetlinkConstants.*;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip6;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.OptionalInt;

/** Encodes RTM_{NEW,DEL,GET}ADDR requests for IPv4 and IPv6 and decodes RTM_NEWADDR replies. */
final class AddressCodec {
    /** RT_SCOPE_UNIVERSE: what `ip addr add` uses for an ordinary address. */
    private static final int SCOPE_UNIVERSE = 0;

    private AddressCodec() {
    }

    static ByteBuffer add(MessageWriter w, LinkAddress address, boolean replace) {
        int flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
        return change(w.begin(RTM_NEWADDR, flags), address);
    }

    static ByteBuffer delete(MessageWriter w, LinkAddress address) {
        return change(w.begin(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK), address);
    }

    /**
     * Like `ip addr add`: IFA_LOCAL is the interface's own address, and IFA_ADDRESS (the peer address on
     * point-to-point links) is set to the same, which is what the kernel expects for a non-peer address.
     */
    private static ByteBuffer change(MessageWriter w, LinkAddress address) {
        w.u8(AF_INET).u8(address.prefixLength()).u8(0).u8(SCOPE_UNIVERSE).u32(address.linkIndex());
        byte[] bytes = Ip4.toBytes(address.address());
        w.attr(IFA_LOCAL, bytes);
        w.attr(IFA_ADDRESS, bytes);
        return w.finish();
    }

    static ByteBuffer add6(MessageWriter w, LinkAddress6 address, boolean replace) {
        int flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
        return change6(w.begin(RTM_NEWADDR, flags), address);
    }

    static ByteBuffer delete6(MessageWriter w, LinkAddress6 address) {
        return change6(w.begin(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK), address);
    }

    /**
     * Like `ip -6 addr add`: IFA_LOCAL and IFA_ADDRESS both the address; flags that fit in ifa_flags go there, wider
     * ones (IFA_F_NOPREFIXROUTE, ...) in an IFA_FLAGS attribute instead, as iproute2 sends them.
     */
    private static ByteBuffer change6(MessageWriter w, LinkAddress6 address) {
        int flags = address.flags();
        w.u8(AF_INET6).u8(address.prefixLength()).u8(flags <= 0xff ? flags : 0).u8(address.scope())
                .u32(address.linkIndex());
        byte[] bytes = address.address().toBytes();
        w.attr(IFA_LOCAL, bytes);
        w.attr(IFA_ADDRESS, bytes);
        if (flags > 0xff) {
            w.attrU32(IFA_FLAGS, flags);
        }
        return w.finish();
    }

    static ByteBuffer dump6(MessageWriter w) {
        w.begin(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP).u8(AF_INET6).u8(0).u8(0).u8(0).u32(0);
        return w.finish();
    }

    /**
     * The IPv6 address in an RTM_NEWADDR with its scope and flags (IFA_FLAGS when present, it has all 32 bits; else
     * ifa_flags), or empty for other families.
     */
    static Optional<LinkAddress6> decode6(NetlinkMessage message) {
        try {
            if (message.type() != RTM_NEWADDR) {
                throw new MalformedMessageException("expected RTM_NEWADDR, got " + message.typeName());
            }
            ByteBuffer header = message.requireStruct("ifaddrmsg", IFADDRMSG_LEN);
            if (Byte.toUnsignedInt(header.get(0)) != AF_INET6) {
                return Optional.empty();
            }
            int prefixLength = Byte.toUnsignedInt(header.get(1));
            if (prefixLength > 128) {
                throw new MalformedMessageException("RTM_NEWADDR: IPv6 prefix length " + prefixLength);
            }
            int scope = Byte.toUnsignedInt(header.get(3));
            int index = header.getInt(4);
            Attributes attrs = message.attributesAfter("ifaddrmsg", IFADDRMSG_LEN);
            int flags = attrs.u32(IFA_FLAGS).orElse(Byte.toUnsignedInt(header.get(2)));
            // As for IPv4: IFA_LOCAL is sent only for a point-to-point address, IFA_ADDRESS being the peer's then.
            Optional<Ip6> local = attrs.length(IFA_LOCAL) == 16 ? attrs.ipv6(IFA_LOCAL) : Optional.empty();
            Optional<Ip6> address = local.isPresent() ? local
                    : attrs.length(IFA_ADDRESS) == 16 ? attrs.ipv6(IFA_ADDRESS) : Optional.empty();
            return address.map(a -> new LinkAddress6(index, a, prefixLength, scope, flags));
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    static ByteBuffer dump(MessageWriter w) {
        w.begin(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP).u8(AF_INET).u8(0).u8(0).u8(0).u32(0);
        return w.finish();
    }

    /** The IPv4 address in an RTM_NEWADDR, or empty for other families. */
    static Optional<LinkAddress> decode(NetlinkMessage message) {
        try {
            return decodeFields(message);
        } catch (IllegalArgumentException e) {
            // a field outside the range its record allows (a VNI above 2^24, a negative metric): garbage, not a bug
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    private static Optional<LinkAddress> decodeFields(NetlinkMessage message) {
        if (message.type() != RTM_NEWADDR) {
            throw new MalformedMessageException("expected RTM_NEWADDR, got " + message.typeName());
        }
        ByteBuffer header = message.requireStruct("ifaddrmsg", IFADDRMSG_LEN);
        int family = Byte.toUnsignedInt(header.get(0));
        if (family != AF_INET) {
            return Optional.empty();
        }
        int prefixLength = Byte.toUnsignedInt(header.get(1));
        if (prefixLength > 32) {
            throw new MalformedMessageException("RTM_NEWADDR: IPv4 prefix length " + prefixLength);
        }
        int index = header.getInt(4);
        Attributes attrs = message.attributesAfter("ifaddrmsg", IFADDRMSG_LEN);
        // IFA_LOCAL is the interface's address; IFA_ADDRESS differs from it only on point-to-point peers.
        OptionalInt local = attrs.ipv4(IFA_LOCAL);
        OptionalInt address = local.isPresent() ? local : attrs.ipv4(IFA_ADDRESS);
        return address.isPresent() ? Optional.of(new LinkAddress(index, address.getAsInt(), prefixLength))
                : Optional.empty();
    }
}
