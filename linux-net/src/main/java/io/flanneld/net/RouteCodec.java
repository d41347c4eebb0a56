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

    /**
     * A unicast route as the request carries it: IPv4 and IPv6 differ only in the family number and the length of
     * the addresses.
     *
     * @param gateway the next hop's bytes, or null
     */
    private record Unicast(int family, int dstLength, byte[] destination, byte[] gateway, int table, int protocol,
                           int scope, boolean onlink, int outputIndex, int metric) {
        static Unicast of(Route r) {
            return new Unicast(AF_INET, r.destination().prefixLength(), Ip4.toBytes(r.destination().address()),
                    r.gateway().isPresent() ? Ip4.toBytes(r.gateway().getAsInt()) : null, r.table(), r.protocol(),
                    r.scope(), r.onlink(), r.outputIndex(), r.metric());
        }

        static Unicast of(Route6 r) {
            return new Unicast(AF_INET6, r.destination().prefixLength(), r.destination().address().toBytes(),
                    r.gateway().map(Ip6::toBytes).orElse(null), r.table(), r.protocol(), r.scope(), r.onlink(),
                    r.outputIndex(), r.metric());
        }
    }

    static ByteBuffer add(MessageWriter w, Route r, boolean replace) {
        return add(w, Unicast.of(r), replace);
    }

    /**
     * Deletes the route matching destination, table, gateway and device. Scope RT_SCOPE_NOWHERE, protocol 0 and type
     * 0 are the kernel's wildcards (as `ip route del` sends), so a route is found whatever installed it.
     */
    static ByteBuffer delete(MessageWriter w, Route r) {
        return delete(w, Unicast.of(r));
    }

    static ByteBuffer dump(MessageWriter w) {
        return dump(w, AF_INET);
    }

    private static ByteBuffer add(MessageWriter w, Unicast r, boolean replace) {
        int flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | (replace ? NLM_F_REPLACE : NLM_F_EXCL);
        w.begin(RTM_NEWROUTE, flags);
        rtmsg(w, r, r.protocol(), r.scope(), RTN_UNICAST);
        return attributes(w, r);
    }

    private static ByteBuffer delete(MessageWriter w, Unicast r) {
        w.begin(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK);
        rtmsg(w, r, 0, RT_SCOPE_NOWHERE, 0);
        return attributes(w, r);
    }

    private static ByteBuffer dump(MessageWriter w, int family) {
        w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP).u8(family).u8(0).u8(0).u8(0)
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
        return lookup(w, AF_INET, Ip4.toBytes(destination));
    }

    /** A lookup of one address: rtm_dst_len is the address's bit length (32 or 128). */
    private static ByteBuffer lookup(MessageWriter w, int family, byte[] destination) {
        w.begin(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_ACK).u8(family).u8(destination.length * 8).u8(0).u8(0)
                .u8(0).u8(0).u8(0).u8(0).u32(0);
        w.attr(RTA_DST, destination);
        return w.finish();
    }

    private static void rtmsg(MessageWriter w, Unicast r, int protocol, int scope, int type) {
        // rtm_table is a u8; tables above 255 are carried only in RTA_TABLE (RT_TABLE_COMPAT would be 252).
        int tableByte = r.table() < 256 ? r.table() : 252;
        w.u8(r.family()).u8(r.dstLength()).u8(0).u8(0)
                .u8(tableByte).u8(protocol).u8(scope).u8(type)
                .u32(r.onlink() ? RTNH_F_ONLINK : 0);
    }

    private static ByteBuffer attributes(MessageWriter w, Unicast r) {
        w.attrU32(RTA_TABLE, r.table());
        w.attr(RTA_DST, r.destination());
        if (r.gateway() != null) {
            w.attr(RTA_GATEWAY, r.gateway());
        }
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
        return add(w, Unicast.of(r), replace);
    }

    /** As {@link #delete}: scope, protocol and type are wildcards; a metric of 0 matches any metric. */
    static ByteBuffer delete6(MessageWriter w, Route6 r) {
        return delete(w, Unicast.of(r));
    }

    static ByteBuffer dump6(MessageWriter w) {
        return dump(w, AF_INET6);
    }

    /** As {@link #lookup}, for one IPv6 address (a /128 RTA_DST): `ip -6 route get DST`. */
    static ByteBuffer lookup6(MessageWriter w, Ip6 destination) {
        return lookup(w, AF_INET6, destination.toBytes());
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

    /**
     * "blackhole DST" for IPv6 in the main table, as `ip -6 route add blackhole DST` sends it (the kernel hangs it on
     * lo with metric {@link #IPV6_USER_METRIC}), with NLM_F_EXCL: EEXIST if a route for DST with that metric is there.
     */
    static ByteBuffer addBlackhole6(MessageWriter w, Ip6Net destination) {
        w.begin(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        w.u8(AF_INET6).u8(destination.prefixLength()).u8(0).u8(0)
                .u8(Route.TABLE_MAIN).u8(Route.PROTOCOL_BOOT).u8(Route.SCOPE_UNIVERSE).u8(RTN_BLACKHOLE).u32(0);
        w.attrU32(RTA_TABLE, Route.TABLE_MAIN);
        w.attr(RTA_DST, destination.address().toBytes());
        return w.finish();
    }

    /**
     * Deletes the main table's IPv6 blackhole route for DST, and only it. Unlike IPv4, the kernel's IPv6 deletion does
     * not match on the route's type: "del blackhole DST" alone removes a unicast route for DST (a bridge's) just as
     * well. Naming the device (lo, where the kernel puts every IPv6 blackhole route) and the metric confines it to the
     * blackhole route; ESRCH when there is none.
     */
    static ByteBuffer deleteBlackhole6(MessageWriter w, Ip6Net destination) {
        w.begin(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK);
        w.u8(AF_INET6).u8(destination.prefixLength()).u8(0).u8(0)
                .u8(Route.TABLE_MAIN).u8(0).u8(Route.SCOPE_UNIVERSE).u8(RTN_BLACKHOLE).u32(0);
        w.attrU32(RTA_TABLE, Route.TABLE_MAIN);
        w.attr(RTA_DST, destination.address().toBytes());
        w.attrU32(RTA_PRIORITY, IPV6_USER_METRIC);
        w.attrU32(RTA_OIF, LOOPBACK_INDEX);
        return w.finish();
    }

    /**
     * The destination of an IPv6 blackhole route in {@code table} with the metric {@link #addBlackhole6} gives (the
     * one `ip -6 route add blackhole` gives too); empty for any other route.
     */
    static Optional<Ip6Net> decodeBlackhole6(NetlinkMessage message, int table) {
        try {
            ByteBuffer b = requireRoute(message);
            if (Byte.toUnsignedInt(b.get(0)) != AF_INET6 || Byte.toUnsignedInt(b.get(7)) != RTN_BLACKHOLE) {
                return Optional.empty();
            }
            Attributes attrs = message.attributesAfter("rtmsg", RTMSG_LEN);
            if (attrs.u32(RTA_TABLE).orElse(Byte.toUnsignedInt(b.get(4))) != table
                    || attrs.u32(RTA_PRIORITY).orElse(0) != IPV6_USER_METRIC) {
                return Optional.empty();
            }
            return Optional.of(destination6(attrs, b));
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    /** The metric the kernel gives an IPv6 route added without one (IP6_RT_PRIO_USER). */
    static final int IPV6_USER_METRIC = 1024;
    /** The loopback device's index, the same in every network namespace (LOOPBACK_IFINDEX). */
    static final int LOOPBACK_INDEX = 1;

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
