package io.flanneld.net;

/** Numbers from linux/netlink.h, rtnetlink.h, if_link.h, if_addr.h and neighbour.h that the codec uses. */
final class NetlinkConstants {
    private NetlinkConstants() {
    }

    static final int NETLINK_ROUTE = 0;

    // struct nlmsghdr: u32 len, u16 type, u16 flags, u32 seq, u32 pid
    static final int NLMSG_HDRLEN = 16;
    static final int NLA_HDRLEN = 4;
    /** The two high bits of nla_type are flags (NLA_F_NESTED, NLA_F_NET_BYTEORDER), not part of the type. */
    static final int NLA_TYPE_MASK = 0x3fff;
    static final int NLA_F_NESTED = 0x8000;

    static final int NLMSG_NOOP = 1;
    static final int NLMSG_ERROR = 2;
    static final int NLMSG_DONE = 3;
    static final int NLMSG_OVERRUN = 4;

    static final int NLM_F_REQUEST = 0x01;
    static final int NLM_F_MULTI = 0x02;
    static final int NLM_F_ACK = 0x04;
    static final int NLM_F_DUMP_INTR = 0x10;
    static final int NLM_F_DUMP = 0x300;
    static final int NLM_F_REPLACE = 0x100;
    static final int NLM_F_EXCL = 0x200;
    static final int NLM_F_CREATE = 0x400;
    static final int NLM_F_APPEND = 0x800;
    /** In an NLMSG_ERROR: the echoed request was cut to its header (NETLINK_CAP_ACK). */
    static final int NLM_F_CAPPED = 0x100;
    /** In an NLMSG_ERROR: extended-ack attributes follow the echoed request (NETLINK_EXT_ACK). */
    static final int NLM_F_ACK_TLVS = 0x200;
    static final int NLMSGERR_ATTR_MSG = 1;

    static final int RTM_NEWLINK = 16;
    static final int RTM_DELLINK = 17;
    static final int RTM_GETLINK = 18;
    static final int RTM_NEWADDR = 20;
    static final int RTM_DELADDR = 21;
    static final int RTM_GETADDR = 22;
    static final int RTM_NEWROUTE = 24;
    static final int RTM_DELROUTE = 25;
    static final int RTM_GETROUTE = 26;
    static final int RTM_NEWNEIGH = 28;
    static final int RTM_DELNEIGH = 29;
    static final int RTM_GETNEIGH = 30;

    // struct ifinfomsg: u8 family, u8 pad, u16 type, s32 index, u32 flags, u32 change
    static final int IFINFOMSG_LEN = 16;
    static final int IFLA_ADDRESS = 1;
    static final int IFLA_IFNAME = 3;
    static final int IFLA_MTU = 4;
    static final int IFLA_LINK = 5;
    static final int IFLA_LINKINFO = 18;
    static final int IFLA_INFO_KIND = 1;
    static final int IFLA_INFO_DATA = 2;
    // IFLA_INFO_DATA of kind "tun" (if_link.h, IFLA_TUN_*), all u8.
    static final int IFLA_TUN_TYPE = 3;
    static final int IFLA_TUN_PI = 4;
    static final int IFLA_TUN_VNET_HDR = 5;
    static final int IFLA_TUN_PERSIST = 6;
    static final int IFLA_TUN_MULTI_QUEUE = 7;

    static final int IFLA_VXLAN_ID = 1;
    static final int IFLA_VXLAN_LINK = 3;
    static final int IFLA_VXLAN_LOCAL = 4;
    static final int IFLA_VXLAN_LEARNING = 7;
    static final int IFLA_VXLAN_PORT = 15;
    static final int IFLA_VXLAN_LOCAL6 = 17;

    // struct ifaddrmsg: u8 family, u8 prefixlen, u8 flags, u8 scope, u32 index
    static final int IFADDRMSG_LEN = 8;
    static final int IFA_ADDRESS = 1;
    static final int IFA_LOCAL = 2;
    /** u32 flags, the full set (ifa_flags holds only the low 8 bits). */
    static final int IFA_FLAGS = 8;

    // struct ndmsg: u8 family, u8 pad1, u16 pad2, s32 ifindex, u16 state, u8 flags, u8 type
    static final int NDMSG_LEN = 12;
    static final int NDA_DST = 1;
    static final int NDA_LLADDR = 2;
    static final int NTF_SELF = 0x02;

    // struct rtmsg: u8 family, dst_len, src_len, tos, table, protocol, scope, type; u32 flags
    static final int RTMSG_LEN = 12;
    static final int RTA_DST = 1;
    static final int RTA_OIF = 4;
    static final int RTA_GATEWAY = 5;
    static final int RTA_PRIORITY = 6;
    static final int RTA_PREFSRC = 7;
    static final int RTA_TABLE = 15;
    static final int RTN_UNICAST = 1;
    static final int RTN_BLACKHOLE = 6;
    static final int RTNH_F_ONLINK = 4;
    static final int RT_SCOPE_NOWHERE = 255;

    static int align(int length) {
        return (length + 3) & ~3;
    }

    static String messageTypeName(int type) {
        switch (type) {
            case NLMSG_NOOP: return "NLMSG_NOOP";
            case NLMSG_ERROR: return "NLMSG_ERROR";
            case NLMSG_DONE: return "NLMSG_DONE";
            case NLMSG_OVERRUN: return "NLMSG_OVERRUN";
            case RTM_NEWLINK: return "RTM_NEWLINK";
            case RTM_DELLINK: return "RTM_DELLINK";
            case RTM_GETLINK: return "RTM_GETLINK";
            case RTM_NEWADDR: return "RTM_NEWADDR";
            case RTM_DELADDR: return "RTM_DELADDR";
            case RTM_GETADDR: return "RTM_GETADDR";
            case RTM_NEWROUTE: return "RTM_NEWROUTE";
            case RTM_DELROUTE: return "RTM_DELROUTE";
            case RTM_GETROUTE: return "RTM_GETROUTE";
            case RTM_NEWNEIGH: return "RTM_NEWNEIGH";
            case RTM_DELNEIGH: return "RTM_DELNEIGH";
            case RTM_GETNEIGH: return "RTM_GETNEIGH";
            default: return "type " + type;
        }
    }
}
