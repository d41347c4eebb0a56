package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.AF_UNSPEC;
import static io.flanneld.net.NetlinkConstants.*;

import io.flanneld.schema.Ip4;
import java.nio.ByteBuffer;
import java.util.Optional;

/** Encodes RTM_{NEW,DEL,GET}LINK requests and decodes RTM_NEWLINK replies into {@link Link}. */
final class LinkCodec {
    private LinkCodec() {
    }

    /** `ip link add NAME type vxlan id VNI local LOCAL dev UNDERLAY dstport PORT [no]learning`, failing if it exists. */
    static ByteBuffer createVxlan(MessageWriter w, VxlanSpec spec) {
        ifinfomsg(w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL), 0, 0, 0);
        w.attrString(IFLA_IFNAME, spec.name());
        spec.mac().ifPresent(mac -> w.attr(IFLA_ADDRESS, mac.toBytes()));
        if (spec.mtu() > 0) {
            w.attrU32(IFLA_MTU, spec.mtu());
        }
        int linkInfo = w.beginNested(IFLA_LINKINFO);
        w.attrString(IFLA_INFO_KIND, "vxlan");
        int data = w.beginNested(IFLA_INFO_DATA);
        w.attrU32(IFLA_VXLAN_ID, spec.vni());
        if (spec.underlayIndex() > 0) {
            w.attrU32(IFLA_VXLAN_LINK, spec.underlayIndex());
        }
        spec.local().ifPresent(local -> w.attr(IFLA_VXLAN_LOCAL, Ip4.toBytes(local)));
        spec.local6().ifPresent(local -> w.attr(IFLA_VXLAN_LOCAL6, local.toBytes()));
        w.attrU16BigEndian(IFLA_VXLAN_PORT, spec.port());
        w.attrU8(IFLA_VXLAN_LEARNING, spec.learning() ? 1 : 0);
        w.endNested(data);
        w.endNested(linkInfo);
        return w.finish();
    }

    static ByteBuffer setMtu(MessageWriter w, int index, int mtu) {
        ifinfomsg(w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK), index, 0, 0);
        w.attrU32(IFLA_MTU, mtu);
        return w.finish();
    }

    /** Sets or clears IFF_UP; ifi_change limits the change to that one flag. */
    static ByteBuffer setUp(MessageWriter w, int index, boolean up) {
        ifinfomsg(w.begin(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK), index, up ? Link.IFF_UP : 0, Link.IFF_UP);
        return w.finish();
    }

    static ByteBuffer delete(MessageWriter w, int index) {
        ifinfomsg(w.begin(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK), index, 0, 0);
        return w.finish();
    }

    static ByteBuffer getByIndex(MessageWriter w, int index) {
        ifinfomsg(w.begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK), index, 0, 0);
        return w.finish();
    }

    static ByteBuffer getByName(MessageWriter w, String name) {
        ifinfomsg(w.begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK), 0, 0, 0);
        w.attrString(IFLA_IFNAME, name);
        return w.finish();
    }

    static ByteBuffer dump(MessageWriter w) {
        ifinfomsg(w.begin(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP), 0, 0, 0);
        return w.finish();
    }

    private static void ifinfomsg(MessageWriter w, int index, int flags, int change) {
        w.u8(AF_UNSPEC).u8(0).u16(0).u32(index).u32(flags).u32(change);
    }

    static Link decode(NetlinkMessage message) {
        try {
            return decodeFields(message);
        } catch (IllegalArgumentException e) {
            // a field outside the range its record allows (a VNI above 2^24, a negative metric): garbage, not a bug
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    private static Link decodeFields(NetlinkMessage message) {
        if (message.type() != RTM_NEWLINK) {
            throw new MalformedMessageException("expected RTM_NEWLINK, got " + message.typeName());
        }
        ByteBuffer header = message.requireStruct("ifinfomsg", IFINFOMSG_LEN);
        int index = header.getInt(4);
        int flags = header.getInt(8);
        Attributes attrs = message.attributesAfter("ifinfomsg", IFINFOMSG_LEN);
        String name = attrs.string(IFLA_IFNAME)
                .orElseThrow(() -> new MalformedMessageException("RTM_NEWLINK for ifindex " + index + " has no IFLA_IFNAME"));
        int mtu = attrs.u32(IFLA_MTU).orElse(0);
        Optional<MacAddress> mac = attrs.bytes(IFLA_ADDRESS).filter(b -> b.length == 6).map(MacAddress::fromBytes);
        Optional<Attributes> linkInfo = attrs.nested(IFLA_LINKINFO, "IFLA_LINKINFO");
        Optional<String> kind = linkInfo.flatMap(li -> li.string(IFLA_INFO_KIND));
        Optional<VxlanAttributes> vxlan = Optional.empty();
        if (kind.filter("vxlan"::equals).isPresent()) {
            vxlan = linkInfo.flatMap(li -> li.nested(IFLA_INFO_DATA, "IFLA_INFO_DATA")).map(LinkCodec::decodeVxlan);
        }
        Optional<TunAttributes> tun = Optional.empty();
        if (kind.filter("tun"::equals).isPresent()) {
            tun = linkInfo.flatMap(li -> li.nested(IFLA_INFO_DATA, "IFLA_INFO_DATA"))
                    .filter(data -> data.u8(IFLA_TUN_TYPE).isPresent())
                    .map(LinkCodec::decodeTun);
        }
        return new Link(index, name, flags, mtu, mac, kind, vxlan, tun);
    }

    private static VxlanAttributes decodeVxlan(Attributes data) {
        return new VxlanAttributes(
                data.u32(IFLA_VXLAN_ID).orElse(0),
                data.ipv4(IFLA_VXLAN_LOCAL),
                data.u32(IFLA_VXLAN_LINK).orElse(0),
                data.u16BigEndian(IFLA_VXLAN_PORT).orElse(0),
                data.u8(IFLA_VXLAN_LEARNING).orElse(0) != 0,
                data.length(IFLA_VXLAN_LOCAL6) == 16 ? data.ipv6(IFLA_VXLAN_LOCAL6) : Optional.empty());
    }

    private static TunAttributes decodeTun(Attributes data) {
        return new TunAttributes(
                data.u8(IFLA_TUN_TYPE).orElse(0),
                data.u8(IFLA_TUN_PI).orElse(0) != 0,
                data.u8(IFLA_TUN_VNET_HDR).orElse(0) != 0,
                data.u8(IFLA_TUN_PERSIST).orElse(0) != 0,
                data.u8(IFLA_TUN_MULTI_QUEUE).orElse(0) != 0);
    }
}
