package io.flanneld.net;

import static io.flanneld.net.NetlinkConstants.*;

import java.nio.ByteBuffer;
import java.util.Optional;

/** Encodes RTM_{NEW,DEL,GET}ROUTE for IPv4 and decodes RTM_NEWROUTE replies into {@link Route}. */
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

    private static void rtmsg(MessageWriter w, Route r, int protocol, int scope, int type) {
        // rtm_table is a u8; tables above 255 are carried only in RTA_TABLE (RT_TABLE_COMPAT would be 252).
        int tableByte = r.table() < 256 ? r.table() : 252;
        w.u8(AF_INET).u8(r.destination().length()).u8(0).u8(0)
                .u8(tableByte).u8(protocol).u8(scope).u8(type)
                .u32(r.onlink() ? RTNH_F_ONLINK : 0);
    }

    private static ByteBuffer attributes(MessageWriter w, Route r) {
        w.attrU32(RTA_TABLE, r.table());
        w.attr(RTA_DST, r.destination().network().address().getAddress());
        r.gateway().ifPresent(g -> w.attr(RTA_GATEWAY, g.getAddress()));
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

    private static Optional<Route> decodeFields(NetlinkMessage message) {
        if (message.type() != RTM_NEWROUTE) {
            throw new MalformedMessageException("expected RTM_NEWROUTE, got " + message.typeName());
        }
        ByteBuffer b = message.requireStruct("rtmsg", RTMSG_LEN);
        int family = Byte.toUnsignedInt(b.get(0));
        int type = Byte.toUnsignedInt(b.get(7));
        if (family != AF_INET || type != RTN_UNICAST) {
            return Optional.empty();
        }
        int dstLength = Byte.toUnsignedInt(b.get(1));
        if (dstLength > 32) {
            throw new MalformedMessageException("RTM_NEWROUTE: IPv4 destination length " + dstLength);
        }
        int protocol = Byte.toUnsignedInt(b.get(5));
        int scope = Byte.toUnsignedInt(b.get(6));
        int flags = b.getInt(8);
        Attributes attrs = message.attributesAfter("rtmsg", RTMSG_LEN);
        int table = attrs.u32(RTA_TABLE).orElse(Byte.toUnsignedInt(b.get(4)));
        Ipv4Prefix destination = new Ipv4Prefix(attrs.ipv4(RTA_DST).orElse(Ipv4.fromInt(0)), dstLength);
        Optional<java.net.Inet4Address> gateway = attrs.ipv4(RTA_GATEWAY);
        int oif = attrs.u32(RTA_OIF).orElse(0);
        int metric = attrs.u32(RTA_PRIORITY).orElse(0);
        if (gateway.isEmpty() && oif == 0) {
            return Optional.empty(); // multipath: the next hops are in RTA_MULTIPATH, which nothing here needs
        }
        return Optional.of(new Route(destination, gateway, oif, (flags & RTNH_F_ONLINK) != 0, table, protocol,
                scope, metric));
    }
}
