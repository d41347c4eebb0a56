package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.AF_INET;
import static io.flanneld.net.LinuxAbi.AF_INET6;
import static io.flanneld.net.NetlinkConstants.*;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Encodes RTM_{NEW,DEL,GET}ROUTE for IPv4 and IPv6 and decodes RTM_NEWROUTE replies into {@link Route} and
 * {@link Route6}, blackhole routes, {@link RouteLookup} and {@link RouteLookup6}.
 */
final class RouteCodec {
    private RouteCodec() {
    }

    static ByteBuffer add(MessageWriter w, Route r, boolean replace) {
        int flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
        w.begin(RTM_NEWROUTE, flags);
        rtmsg(w, r, r.protocol(), r.scope(), RTN_UNICAST);
        return attributes(w, r);
    }

    /**
     * Deletes the route matching destination, table, gateway and device. Scope RT_SCOPE_NOWHERE, protocol 0 and type
     * 0 are the kernel's wildcards (as `ip route del` sends), so a route is found whatever installed it.
     */
    static ByteBuffer delete(MessageWriter w, Route r) {
        w.begin(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK);
        rtmsg(w, r, 0, RT_SCOPE_NOWHERE, 0);
        return attributes(w, r);
    }

    static ByteBuffer dump(MessageWriter w) {
        w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP).u8(AF_INET).u8(0).u8(0).u8(0)
                .u8(0).u8(0).u8(0).u8(0).u32(0);
        return w.finish();
    }

    /**
     * "blackhole DST" in the main table, as `ip route add blackhole DST` sends it (protocol boot, scope universe), with
     * NLM_F_EXCL and never NLM_F_REPLACE: a replace would overwrite whatever route holds the same destination (a
     * bridge's connected route for the same subnet, say) instead of failing with EEXIST.
     */
    static ByteBuffer addBlackhole(MessageWriter w, Ip4Net destination) {
        w.begin(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        blackholeRtmsg(w, destination, Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE);
        return blackholeAttributes(w, destination);
    }

    /**
     * Deletes the main table's blackhole route for DST. The type is given (not the wildcard 0), so the kernel removes
     * only a blackhole route and never a unicast route for the same destination.
     */
    static ByteBuffer deleteBlackhole(MessageWriter w, Ip4Net destination) {
        w.begin(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK);
        blackholeRtmsg(w, destination, 0, RT_SCOPE_NOWHERE);
        return blackholeAttributes(w, destination);
    }

    private static void blackholeRtmsg(MessageWriter w, Ip4Net destination, int protocol, int scope) {
        w.u8(AF_INET).u8(destination.prefixLength()).u8(0).u8(0)
                .u8(Route.TABLE_MAIN).u8(protocol).u8(scope).u8(RTN_BLACKHOLE).u32(0);
    }

    private static ByteBuffer blackholeAttributes(MessageWriter w, Ip4Net destination) {
        w.attrU32(RTA_TABLE, Route.TABLE_MAIN);
        w.attr(RTA_DST, Ip4.toBytes(destination.address()));
        return w.finish();
    }

    /**
     * The kernel's route lookup for one address, as `ip route get DST` asks it: RTM_GETROUTE without NLM_F_DUMP, a
     * /32 RTA_DST and every other rtmsg field 0 (any table, any type). The reply is one RTM_NEWROUTE describing the
     * route the kernel would use, or an error: ENETUNREACH without a route, EINVAL for a blackhole route,
     * EHOSTUNREACH for an unreachable one, EACCES for a prohibit one.
     */
    static ByteBuffer lookup(MessageWriter w, int destination) {
        w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK).u8(AF_INET).u8(32).u8(0).u8(0)
                .u8(0).u8(0).u8(0).u8(0).u32(0);
        w.attr(RTA_DST, Ip4.toBytes(destination));
        return w.finish();
    }

    private static void rtmsg(MessageWriter w, Route r, int protocol, int scope, int type) {
        // rtm_table is a u8; tables above 255 are carried only in RTA_TABLE (RT_TABLE_COMPAT would be 252).
        int tableByte = r.table() < 256 ? r.table() : 252;
        w.u8(AF_INET).u8(r.destination().prefixLength()).u8(0).u8(0)
                .u8(tableByte).u8(protocol).u8(scope).u8(type)
                .u32(r.onlink() ? RTNH_F_ONLINK : 0);
    }

    private static ByteBuffer attributes(MessageWriter w, Route r) {
        w.attrU32(RTA_TABLE, r.table());
        w.attr(RTA_DST, Ip4.toBytes(r.destination().address()));
        r.gateway().ifPresent(g -> w.attr(RTA_GATEWAY, Ip4.toBytes(g)));
        if (r.outputIndex() != 0) {
            w.attrU32(RTA_OIF, r.outputIndex());
        }
        if (r.metric() != 0) {
            w.attrU32(RTA_PRIORITY, r.metric());
        }
        return w.finish();
    }

    /**
     * An IPv4 unicast route, or empty for other families and types (local, broadcast, blackhole...), which the
     * consumers never manage. Multipath routes are skipped too.
     */
    static Optional<Route> decode(NetlinkMessage message) {
        try {
            return decodeFields(message);
        } catch (IllegalArgumentException e) {
            // a field outside the range its record allows (a VNI above 2^24, a negative metric): garbage, not a bug
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    /** The destination of an IPv4 blackhole route in {@code table}; empty for any other route. */
    static Optional<Ip4Net> decodeBlackhole(NetlinkMessage message, int table) {
        ByteBuffer b = requireRoute(message);
        if (Byte.toUnsignedInt(b.get(0)) != AF_INET || Byte.toUnsignedInt(b.get(7)) != RTN_BLACKHOLE) {
            return Optional.empty();
        }
        Attributes attrs = message.attributesAfter("rtmsg", RTMSG_LEN);
        if (attrs.u32(RTA_TABLE).orElse(Byte.toUnsignedInt(b.get(4))) != table) {
            return Optional.empty();
        }
        return Optional.of(destination(attrs, b));
    }

    /** The reply to {@link #lookup}: the route the kernel chose, its output device and preferred source. */
    static RouteLookup decodeLookup(NetlinkMessage message) {
        ByteBuffer b = requireRoute(message);
        if (Byte.toUnsignedInt(b.get(0)) != AF_INET) {
            throw new MalformedMessageException("RTM_NEWROUTE: route lookup answered for family "
                    + Byte.toUnsignedInt(b.get(0)) + ", not AF_INET");
        }
        Attributes attrs = message.attributesAfter("rtmsg", RTMSG_LEN);
        int destination = attrs.ipv4(RTA_DST).orElseThrow(
                () -> new MalformedMessageException("RTM_NEWROUTE: route lookup reply without RTA_DST"));
        int oif = attrs.u32(RTA_OIF).orElseThrow(
                () -> new MalformedMessageException("RTM_NEWROUTE: route lookup reply without RTA_OIF"));
        int table = attrs.u32(RTA_TABLE).orElse(Byte.toUnsignedInt(b.get(4)));
        try {
            return new RouteLookup(destination, Byte.toUnsignedInt(b.get(7)), table, oif, attrs.ipv4(RTA_GATEWAY),
                    attrs.ipv4(RTA_PREFSRC));
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException("RTM_NEWROUTE: " + e.getMessage());
        }
    }

    private static ByteBuffer requireRoute(NetlinkMessage message) {
        if (message.type() != RTM_NEWROUTE) {
            throw new MalformedMessageException("expected RTM_NEWROUTE, got " + message.typeName());
        }
        return message.requireStruct("rtmsg", RTMSG_LEN);
    }

    /** rtm_dst_len of an AF_INET route. */
    private static int dstLength(ByteBuffer rtmsg) {
        int dstLength = Byte.toUnsignedInt(rtmsg.get(1));
        if (dstLength > 32) {
            throw new MalformedMessageException("RTM_NEWROUTE: IPv4 destination length " + dstLength);
        }
        return dstLength;
    }

    /**
     * RTA_DST with rtm_dst_len (0.0.0.0 when absent, as for a default route). The kernel refuses routes with host
     * bits set past the length, so a reply that has them is malformed.
     */
    private static Ip4Net destination(Attributes attrs, ByteBuffer rtmsg) {
        int address = attrs.ipv4(RTA_DST).orElse(0);
        int length = dstLength(rtmsg);
        if ((address & ~Ip4.mask(length)) != 0) {
            throw new MalformedMessageException("RTM_NEWROUTE: destination " + Ip4.format(address) + "/" + length
                    + " has host bits set");
        }
        return new Ip4Net(address, length);
    }

    private static Optional<Route> decodeFields(NetlinkMessage message) {
        ByteBuffer b = requireRoute(message);
        int family = Byte.toUnsignedInt(b.get(0));
        int type = Byte.toUnsignedInt(b.get(7));
        if (family != AF_INET || type != RTN_UNICAST) {
            return Optional.empty();
        }
        int protocol = Byte.toUnsignedInt(b.get(5));
        int scope = Byte.toUnsignedInt(b.get(6));
        int flags = b.getInt(8);
        Attributes attrs = message.attributesAfter("rtmsg", RTMSG_LEN);
        int table = attrs.u32(RTA_TABLE).orElse(Byte.toUnsignedInt(b.get(4)));
        Ip4Net destination = destination(attrs, b);
        OptionalInt gateway = attrs.ipv4(RTA_GATEWAY);
        int oif = attrs.u32(RTA_OIF).orElse(0);
        int metric = attrs.u32(RTA_PRIORITY).orElse(0);
        if (gateway.isEmpty() && oif == 0) {
            return Optional.empty(); // multipath: the next hops are in RTA_MULTIPATH, which nothing here needs
        }
        return Optional.of(new Route(destination, gateway, oif, (flags & RTNH_F_ONLINK) != 0, table, protocol,
                scope, metric));
    }

    // ---- IPv6: the same messages with family AF_INET6 and 16-byte addresses.

    static ByteBuffer add6(MessageWriter w, Route6 r, boolean replace) {
        int flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
        w.begin(RTM_NEWROUTE, flags);
        rtmsg6(w, r, r.protocol(), r.scope(), RTN_UNICAST);
        return attributes6(w, r);
    }

    /** As {@link #delete}: scope, protocol and type are wildcards; a metric of 0 matches any metric. */
    static ByteBuffer delete6(MessageWriter w, Route6 r) {
        w.begin(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK);
        rtmsg6(w, r, 0, RT_SCOPE_NOWHERE, 0);
        return attributes6(w, r);
    }

    static ByteBuffer dump6(MessageWriter w) {
        w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP).u8(AF_INET6).u8(0).u8(0).u8(0)
                .u8(0).u8(0).u8(0).u8(0).u32(0);
        return w.finish();
    }

    /** As {@link #lookup}, for one IPv6 address (a /128 RTA_DST): `ip -6 route get DST`. */
    static ByteBuffer lookup6(MessageWriter w, Ip6 destination) {
        w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK).u8(AF_INET6).u8(128).u8(0).u8(0)
                .u8(0).u8(0).u8(0).u8(0).u32(0);
        w.attr(RTA_DST, destination.toBytes());
        return w.finish();
    }

    private static void rtmsg6(MessageWriter w, Route6 r, int protocol, int scope, int type) {
        int tableByte = r.table() < 256 ? r.table() : 252;
        w.u8(AF_INET6).u8(r.destination().prefixLength()).u8(0).u8(0)
                .u8(tableByte).u8(protocol).u8(scope).u8(type)
                .u32(r.onlink() ? RTNH_F_ONLINK : 0);
    }

    private static ByteBuffer attributes6(MessageWriter w, Route6 r) {
        w.attrU32(RTA_TABLE, r.table());
        w.attr(RTA_DST, r.destination().address().toBytes());
        r.gateway().ifPresent(g -> w.attr(RTA_GATEWAY, g.toBytes()));
        if (r.outputIndex() != 0) {
            w.attrU32(RTA_OIF, r.outputIndex());
        }
        if (r.metric() != 0) {
            w.attrU32(RTA_PRIORITY, r.metric());
        }
        return w.finish();
    }

    /** An IPv6 unicast route with a single next hop, or empty for other families, types and multipath routes. */
    static Optional<Route6> decode6(NetlinkMessage message) {
        try {
            ByteBuffer b = requireRoute(message);
            if (Byte.toUnsignedInt(b.get(0)) != AF_INET6 || Byte.toUnsignedInt(b.get(7)) != RTN_UNICAST) {
                return Optional.empty();
            }
            Attributes attrs = message.attributesAfter("rtmsg", RTMSG_LEN);
            int table = attrs.u32(RTA_TABLE).orElse(Byte.toUnsignedInt(b.get(4)));
            Optional<Ip6> gateway = ipv6(attrs, RTA_GATEWAY);
            int oif = attrs.u32(RTA_OIF).orElse(0);
            if (gateway.isEmpty() && oif == 0) {
                return Optional.empty(); // multipath (RTA_MULTIPATH)
            }
            return Optional.of(new Route6(destination6(attrs, b), gateway, oif, (b.getInt(8) & RTNH_F_ONLINK) != 0,
                    table, Byte.toUnsignedInt(b.get(5)), Byte.toUnsignedInt(b.get(6)),
                    attrs.u32(RTA_PRIORITY).orElse(0)));
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    /** The reply to {@link #lookup6}. */
    static RouteLookup6 decodeLookup6(NetlinkMessage message) {
        ByteBuffer b = requireRoute(message);
        if (Byte.toUnsignedInt(b.get(0)) != AF_INET6) {
            throw new MalformedMessageException("RTM_NEWROUTE: route lookup answered for family "
                    + Byte.toUnsignedInt(b.get(0)) + ", not AF_INET6");
        }
        Attributes attrs = message.attributesAfter("rtmsg", RTMSG_LEN);
        Ip6 destination = ipv6(attrs, RTA_DST).orElseThrow(
                () -> new MalformedMessageException("RTM_NEWROUTE: route lookup reply without RTA_DST"));
        int oif = attrs.u32(RTA_OIF).orElseThrow(
                () -> new MalformedMessageException("RTM_NEWROUTE: route lookup reply without RTA_OIF"));
        int table = attrs.u32(RTA_TABLE).orElse(Byte.toUnsignedInt(b.get(4)));
        try {
            return new RouteLookup6(destination, Byte.toUnsignedInt(b.get(7)), table, oif, ipv6(attrs, RTA_GATEWAY),
                    ipv6(attrs, RTA_PREFSRC));
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException("RTM_NEWROUTE: " + e.getMessage());
        }
    }

    /** A 16-byte address attribute; one of another size is malformed in an AF_INET6 message. */
    private static Optional<Ip6> ipv6(Attributes attrs, int type) {
        int length = attrs.length(type);
        if (length < 0) {
            return Optional.empty();
        }
        if (length != 16) {
            throw new MalformedMessageException("RTM_NEWROUTE: AF_INET6 address attribute type " + type + " has "
                    + length + " bytes");
        }
        return attrs.ipv6(type);
    }

    /** RTA_DST with rtm_dst_len (:: when absent); host bits past the length make the reply malformed. */
    private static Ip6Net destination6(Attributes attrs, ByteBuffer rtmsg) {
        Ip6 address = ipv6(attrs, RTA_DST).orElse(Ip6.ZERO);
        int length = Byte.toUnsignedInt(rtmsg.get(1));
        if (length > 128) {
            throw new MalformedMessageException("RTM_NEWROUTE: IPv6 destination length " + length);
        }
        if (!address.masked(length).equals(address)) {
            throw new MalformedMessageException("RTM_NEWROUTE: destination " + address + "/" + length
                    + " has host bits set");
        }
        return new Ip6Net(address, length);
    }
}
