package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Requests compared byte for byte with layouts worked out from the kernel's UAPI headers: struct nlmsghdr (len, type,
 * flags, seq, pid), the family structs (ifinfomsg 16 bytes, ifaddrmsg 8, ndmsg 12, rtmsg 12), and struct nlattr
 * (u16 len incl. its 4-byte header, u16 type, value padded to 4). Host-order fields are written little-endian here,
 * so the test runs only on little-endian machines (x86_64, arm64).
 */
class CodecEncodingTest {
    private final MessageWriter w = MessageWriter.allocate(4096);

    @BeforeAll
    static void littleEndianOnly() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN);
    }

    private static void assertLayout(String expected, ByteBuffer actual) {
        assertEquals(Hex.normalize(expected), Hex.of(actual));
        assertEquals(actual.remaining(), actual.getInt(0), "nlmsg_len must equal the message size");
        assertEquals(0, actual.remaining() % 4, "messages are padded to 4 bytes");
    }

    @Test
    void vxlanLinkNestsInfoDataInLinkInfoWithPortInNetworkOrder() {
        VxlanSpec spec = VxlanSpec.flannel("flannel.1", 1, Ip4.parse("198.18.0.1"), 2, 8472);
        assertLayout(
                "6c000000 1000 0506 00000000 00000000"          // nlmsghdr: 108 bytes, RTM_NEWLINK, REQ|ACK|EXCL|CREATE
                + "00 00 0000 00000000 00000000 00000000"       // ifinfomsg: AF_UNSPEC, index 0
                + "0e00 0300 666c616e6e656c2e3100 0000"         // IFLA_IFNAME "flannel.1\0" + 2 bytes padding
                + "3c00 1280"                                    // IFLA_LINKINFO | NLA_F_NESTED, 60 bytes
                + "  0a00 0100 76786c616e00 0000"                // IFLA_INFO_KIND "vxlan\0" + padding
                + "  2c00 0280"                                  // IFLA_INFO_DATA | NLA_F_NESTED, 44 bytes
                + "    0800 0100 01000000"                       // IFLA_VXLAN_ID 1
                + "    0800 0300 02000000"                       // IFLA_VXLAN_LINK ifindex 2
                + "    0800 0400 c6120001"                       // IFLA_VXLAN_LOCAL 198.18.0.1
                + "    0600 0f00 2118 0000"                      // IFLA_VXLAN_PORT 8472 big-endian + padding
                + "    0500 0700 00 000000",                     // IFLA_VXLAN_LEARNING 0 + padding
                LinkCodec.createVxlan(w, spec));
    }

    @Test
    void vxlanWithMacAndMtu() {
        VxlanSpec spec = new VxlanSpec("v", 0x123456, OptionalInt.empty(), 0, 4789, true,
                Optional.of(MacAddress.parse("0e:00:00:00:00:01")), 1450);
        assertLayout(
                "68000000 1000 0506 00000000 00000000"
                + "00 00 0000 00000000 00000000 00000000"
                + "0600 0300 7600 0000"                          // IFLA_IFNAME "v\0"
                + "0a00 0100 0e0000000001 0000"                  // IFLA_ADDRESS
                + "0800 0400 aa050000"                           // IFLA_MTU 1450
                + "2c00 1280 0a00 0100 76786c616e00 0000"
                + "  1c00 0280 0800 0100 56341200"               // VNI 0x123456, no LINK, no LOCAL
                + "    0600 0f00 12b5 0000"                      // port 4789 = 0x12b5
                + "    0500 0700 01 000000",                     // learning on
                LinkCodec.createVxlan(w, spec));
    }

    @Test
    void linkChangesAndLookups() {
        assertLayout("20000000 1000 0500 00000000 00000000 00 00 0000 05000000 01000000 01000000",
                LinkCodec.setUp(w, 5, true));
        assertLayout("20000000 1000 0500 00000000 00000000 00 00 0000 05000000 00000000 01000000",
                LinkCodec.setUp(w, 5, false));
        assertLayout("28000000 1000 0500 00000000 00000000 00 00 0000 05000000 00000000 00000000 0800 0400 aa050000",
                LinkCodec.setMtu(w, 5, 1450));
        assertLayout("20000000 1100 0500 00000000 00000000 00 00 0000 05000000 00000000 00000000",
                LinkCodec.delete(w, 5));
        assertLayout("20000000 1200 0500 00000000 00000000 00 00 0000 07000000 00000000 00000000",
                LinkCodec.getByIndex(w, 7));
        assertLayout("28000000 1200 0500 00000000 00000000 00 00 0000 00000000 00000000 00000000"
                + "0700 0300 6c6f00 00", LinkCodec.getByName(w, "lo")); // nla_len 7 counts "lo\0", not the padding
        assertLayout("20000000 1200 0103 00000000 00000000 00 00 0000 00000000 00000000 00000000",
                LinkCodec.dump(w));                                  // NLM_F_REQUEST | NLM_F_DUMP, no ACK
    }

    @Test
    void ipv4AddressCarriesLocalAndAddress() {
        LinkAddress a = new LinkAddress(5, Ip4.parse("198.19.1.0"), 32);
        assertLayout("28000000 1400 0506 00000000 00000000"
                + "02 20 00 00 05000000"                               // ifaddrmsg: AF_INET, /32, scope universe
                + "0800 0200 c6130100 0800 0100 c6130100",             // IFA_LOCAL, IFA_ADDRESS
                AddressCodec.add(w, a, false));
        assertLayout("28000000 1400 0505 00000000 00000000 02 20 00 00 05000000"
                + "0800 0200 c6130100 0800 0100 c6130100", AddressCodec.add(w, a, true));
        assertLayout("28000000 1500 0500 00000000 00000000 02 20 00 00 05000000"
                + "0800 0200 c6130100 0800 0100 c6130100", AddressCodec.delete(w, a));
        assertLayout("18000000 1600 0103 00000000 00000000 02 00 00 00 00000000", AddressCodec.dump(w));
    }

    @Test
    void permanentArpEntry() {
        Neighbour n = Neighbour.permanent(5, Ip4.parse("198.19.2.0"), MacAddress.parse("8e:1f:00:aa:bb:cc"));
        assertLayout("30000000 1c00 0505 00000000 00000000"             // RTM_NEWNEIGH, REQ|ACK|REPLACE|CREATE
                + "02 00 0000 05000000 8000 00 00"                     // ndmsg: AF_INET, ifindex 5, NUD_PERMANENT
                + "0800 0100 c6130200"                                 // NDA_DST
                + "0a00 0200 8e1f00aabbcc 0000",                       // NDA_LLADDR + padding
                NeighbourCodec.replaceNeighbour(w, n));
        assertLayout("24000000 1d00 0500 00000000 00000000 02 00 0000 05000000 0000 00 00 0800 0100 c6130200",
                NeighbourCodec.deleteNeighbour(w, 5, Ip4.parse("198.19.2.0")));
        assertLayout("1c000000 1e00 0103 00000000 00000000 02 00 0000 00000000 0000 00 00",
                NeighbourCodec.dumpNeighbours(w));
    }

    @Test
    void fdbEntryIsBridgeFamilySelfPermanent() {
        FdbEntry e = FdbEntry.permanent(5, MacAddress.parse("8e:1f:00:aa:bb:cc"), Ip4.parse("198.18.0.2"));
        String body = "07 00 0000 05000000 8000 02 00"                  // ndmsg: AF_BRIDGE, NUD_PERMANENT, NTF_SELF
                + "0a00 0200 8e1f00aabbcc 0000"                         // NDA_LLADDR
                + "0800 0100 c6120002";                                 // NDA_DST = remote VTEP
        assertLayout("30000000 1c00 0505 00000000 00000000" + body,
                NeighbourCodec.writeFdb(w, e, NeighbourCodec.FdbMode.REPLACE));
        assertLayout("30000000 1c00 0506 00000000 00000000" + body,
                NeighbourCodec.writeFdb(w, e, NeighbourCodec.FdbMode.ADD));
        assertLayout("30000000 1c00 050c 00000000 00000000" + body,       // NLM_F_APPEND 0x800 | CREATE
                NeighbourCodec.writeFdb(w, e, NeighbourCodec.FdbMode.APPEND));
        assertLayout("30000000 1d00 0500 00000000 00000000 07 00 0000 05000000 0000 02 00"
                + "0a00 0200 8e1f00aabbcc 0000 0800 0100 c6120002", NeighbourCodec.deleteFdb(w, e));
        assertLayout("1c000000 1e00 0103 00000000 00000000 07 00 0000 00000000 0000 00 00",
                NeighbourCodec.dumpFdb(w));
    }

    @Test
    void onlinkRouteThroughDevice() {
        Route r = Route.onlinkVia(Ip4Net.parse("198.19.2.0/24"), Ip4.parse("198.19.2.0"), 5);
        assertLayout("3c000000 1800 0506 00000000 00000000"
                + "02 18 00 00 fe 03 00 01 04000000"                    // AF_INET /24 main boot universe unicast ONLINK
                + "0800 0f00 fe000000"                                  // RTA_TABLE 254
                + "0800 0100 c6130200"                                  // RTA_DST
                + "0800 0500 c6130200"                                  // RTA_GATEWAY
                + "0800 0400 05000000",                                 // RTA_OIF
                RouteCodec.add(w, r, false));
        assertLayout("3c000000 1900 0500 00000000 00000000"
                + "02 18 00 00 fe 00 ff 00 04000000"                    // delete: protocol/type 0, scope NOWHERE
                + "0800 0f00 fe000000 0800 0100 c6130200 0800 0500 c6130200 0800 0400 05000000",
                RouteCodec.delete(w, r));
    }

    @Test
    void gatewayRouteWithoutDeviceAndWithMetricAndLargeTable() {
        Route r = Route.via(Ip4Net.parse("198.19.2.7/24", true), Ip4.parse("198.18.0.2")).withMetric(100)
                .withTable(1000);
        assertLayout("3c000000 1800 0505 00000000 00000000"
                + "02 18 00 00 fc 03 00 01 00000000"                    // table 1000 does not fit: RT_TABLE_COMPAT
                + "0800 0f00 e8030000"                                  // RTA_TABLE 1000
                + "0800 0100 c6130200"                                  // host bits cleared by the parse
                + "0800 0500 c6120002"
                + "0800 0600 64000000",                                 // RTA_PRIORITY 100
                RouteCodec.add(w, r, true));
        assertLayout("1c000000 1a00 0103 00000000 00000000 02 00 00 00 00 00 00 00 00000000", RouteCodec.dump(w));
    }

    @Test
    void blackholeRouteIsAddedExclusivelyAndDeletedByType() {
        Ip4Net subnet = Ip4Net.parse("198.19.5.7/24", true);
        assertLayout("2c000000 1800 0506 00000000 00000000"             // RTM_NEWROUTE, REQ|ACK|EXCL|CREATE: no REPLACE
                + "02 18 00 00 fe 03 00 06 00000000"                    // AF_INET /24 main boot universe RTN_BLACKHOLE
                + "0800 0f00 fe000000"                                  // RTA_TABLE 254
                + "0800 0100 c6130500",                                 // RTA_DST; no gateway or device
                RouteCodec.addBlackhole(w, subnet));
        assertLayout("2c000000 1900 0500 00000000 00000000"
                + "02 18 00 00 fe 00 ff 06 00000000"                    // delete: protocol 0, scope NOWHERE, type kept
                + "0800 0f00 fe000000 0800 0100 c6130500",
                RouteCodec.deleteBlackhole(w, subnet));
    }

    @Test
    void ipv6BlackholeRouteIsAddedExclusivelyAndDeletedByDeviceAndMetric() {
        Ip6Net subnet = Ip6Net.parse("2001:2:19:5::/64");
        assertLayout("38000000 1800 0506 00000000 00000000"             // RTM_NEWROUTE, REQ|ACK|EXCL|CREATE: no REPLACE
                + "0a 40 00 00 fe 03 00 06 00000000"                    // AF_INET6 /64 main boot universe RTN_BLACKHOLE
                + "0800 0f00 fe000000"                                  // RTA_TABLE 254
                + "1400 0100 20010002 00190005 00000000 00000000",      // RTA_DST; the kernel picks lo and metric 1024
                RouteCodec.addBlackhole6(w, subnet));
        assertLayout("48000000 1900 0500 00000000 00000000"
                + "0a 40 00 00 fe 00 00 06 00000000"                    // delete: protocol 0; the type alone does not confine it
                + "0800 0f00 fe000000 1400 0100 20010002 00190005 00000000 00000000"
                + "0800 0600 00040000"                                  // RTA_PRIORITY 1024
                + "0800 0400 01000000",                                 // RTA_OIF 1 (lo): never a bridge's route for DST
                RouteCodec.deleteBlackhole6(w, subnet));
    }

    @Test
    void routeLookupAsksForOneDestination() {
        assertLayout("24000000 1a00 0500 00000000 00000000"             // RTM_GETROUTE, REQ|ACK, not a dump
                + "02 20 00 00 00 00 00 00 00000000"                    // AF_INET, dst_len 32, any table, any type
                + "0800 0100 c6124009",                                 // RTA_DST 198.18.64.9
                RouteCodec.lookup(w, Ip4.parse("198.18.64.9")));
    }

    // ---- IPv6. Addresses: 2001:2::1 (own underlay), 2001:2::2 (peer underlay), 2001:2:19:1:: (own overlay subnet),
    // 2001:2:19:2::/64 (peer overlay subnet); struct in6_addr is 16 bytes in network order.
    private static final String OWN6 = "20010002 00000000 00000000 00000001";
    private static final String PEER6 = "20010002 00000000 00000000 00000002";
    private static final String OVERLAY1 = "20010002 00190001 00000000 00000000";
    private static final String OVERLAY2 = "20010002 00190002 00000000 00000000";

    @Test
    void vxlanLinkWithIpv6UnderlayCarriesLocal6() {
        VxlanSpec spec = VxlanSpec.flannel6("flannel-v6.1", 1, Ip6.parse("2001:2::1"), 2, 8472);
        assertLayout(
                "7c000000 1000 0506 00000000 00000000"          // 124 bytes, RTM_NEWLINK, REQ|ACK|EXCL|CREATE
                + "00 00 0000 00000000 00000000 00000000"
                + "1100 0300 666c616e6e656c2d76362e3100 000000"  // IFLA_IFNAME "flannel-v6.1\0" (17) + 3 padding
                + "4800 1280"                                    // IFLA_LINKINFO, 72 bytes
                + "  0a00 0100 76786c616e00 0000"
                + "  3800 0280"                                  // IFLA_INFO_DATA, 56 bytes
                + "    0800 0100 01000000"                       // IFLA_VXLAN_ID 1
                + "    0800 0300 02000000"                       // IFLA_VXLAN_LINK 2
                + "    1400 1100" + OWN6                          // IFLA_VXLAN_LOCAL6 (17), no IFLA_VXLAN_LOCAL
                + "    0600 0f00 2118 0000"
                + "    0500 0700 00 000000",
                LinkCodec.createVxlan(w, spec));
    }

    @Test
    void ipv6AddressCarriesLocalAndAddressAndWideFlagsInIfaFlags() {
        LinkAddress6 a = new LinkAddress6(5, Ip6.parse("2001:2:19:1::"), 128);
        String body = "0a 80 00 00 05000000"                           // ifaddrmsg: AF_INET6, /128, no flags, universe
                + "1400 0200" + OVERLAY1 + "1400 0100" + OVERLAY1;      // IFA_LOCAL, IFA_ADDRESS
        assertLayout("40000000 1400 0506 00000000 00000000" + body, AddressCodec.add6(w, a, false));
        assertLayout("40000000 1400 0505 00000000 00000000" + body, AddressCodec.add6(w, a, true));
        assertLayout("40000000 1500 0500 00000000 00000000" + body, AddressCodec.delete6(w, a));
        LinkAddress6 nodad = new LinkAddress6(5, Ip6.parse("2001:2::1"), 64, 0, LinkAddress6.IFA_F_NODAD);
        assertLayout("40000000 1400 0506 00000000 00000000 0a 40 02 00 05000000"   // NODAD fits in ifa_flags
                + "1400 0200" + OWN6 + "1400 0100" + OWN6, AddressCodec.add6(w, nodad, false));
        LinkAddress6 wide = new LinkAddress6(5, Ip6.parse("2001:2::1"), 64, 0, LinkAddress6.IFA_F_NOPREFIXROUTE);
        assertLayout("48000000 1400 0506 00000000 00000000 0a 40 00 00 05000000"
                + "1400 0200" + OWN6 + "1400 0100" + OWN6
                + "0800 0800 00020000", AddressCodec.add6(w, wide, false));      // IFA_FLAGS 0x200
        assertLayout("18000000 1600 0103 00000000 00000000 0a 00 00 00 00000000", AddressCodec.dump6(w));
    }

    @Test
    void permanentNdpEntry() {
        Neighbour6 n = Neighbour6.permanent(5, Ip6.parse("2001:2:19:2::"), MacAddress.parse("8e:1f:00:aa:bb:cc"));
        assertLayout("3c000000 1c00 0505 00000000 00000000"             // RTM_NEWNEIGH, REQ|ACK|REPLACE|CREATE
                + "0a 00 0000 05000000 8000 00 00"                     // ndmsg: AF_INET6, ifindex 5, NUD_PERMANENT
                + "1400 0100" + OVERLAY2                                // NDA_DST
                + "0a00 0200 8e1f00aabbcc 0000",                       // NDA_LLADDR
                NeighbourCodec.replaceNeighbour6(w, n));
        assertLayout("30000000 1d00 0500 00000000 00000000 0a 00 0000 05000000 0000 00 00 1400 0100" + OVERLAY2,
                NeighbourCodec.deleteNeighbour6(w, 5, Ip6.parse("2001:2:19:2::")));
        assertLayout("1c000000 1e00 0103 00000000 00000000 0a 00 0000 00000000 0000 00 00",
                NeighbourCodec.dumpNeighbours6(w));
    }

    @Test
    void fdbEntryWithIpv6Remote() {
        FdbEntry6 e = FdbEntry6.permanent(5, MacAddress.parse("8e:1f:00:aa:bb:cc"), Ip6.parse("2001:2::2"));
        String body = "07 00 0000 05000000 8000 02 00"                  // AF_BRIDGE, NUD_PERMANENT, NTF_SELF
                + "0a00 0200 8e1f00aabbcc 0000"
                + "1400 0100" + PEER6;                                  // NDA_DST: a 16-byte remote
        assertLayout("3c000000 1c00 0505 00000000 00000000" + body,
                NeighbourCodec.writeFdb6(w, e, NeighbourCodec.FdbMode.REPLACE));
        assertLayout("3c000000 1c00 0506 00000000 00000000" + body,
                NeighbourCodec.writeFdb6(w, e, NeighbourCodec.FdbMode.ADD));
        assertLayout("3c000000 1d00 0500 00000000 00000000 07 00 0000 05000000 0000 02 00"
                + "0a00 0200 8e1f00aabbcc 0000 1400 0100" + PEER6, NeighbourCodec.deleteFdb6(w, e));
    }

    @Test
    void ipv6OnlinkRouteGatewayRouteLookupAndDump() {
        Route6 r = Route6.onlinkVia(Ip6Net.parse("2001:2:19:2::/64"), Ip6.parse("2001:2:19:2::"), 5);
        assertLayout("54000000 1800 0506 00000000 00000000"
                + "0a 40 00 00 fe 03 00 01 04000000"                    // AF_INET6 /64 main boot universe unicast ONLINK
                + "0800 0f00 fe000000"
                + "1400 0100" + OVERLAY2                                // RTA_DST
                + "1400 0500" + OVERLAY2                                // RTA_GATEWAY
                + "0800 0400 05000000",                                 // RTA_OIF
                RouteCodec.add6(w, r, false));
        assertLayout("54000000 1900 0500 00000000 00000000"
                + "0a 40 00 00 fe 00 ff 00 04000000"                    // delete: wildcards as for IPv4
                + "0800 0f00 fe000000 1400 0100" + OVERLAY2 + "1400 0500" + OVERLAY2 + "0800 0400 05000000",
                RouteCodec.delete6(w, r));
        Route6 hostGw = Route6.viaDevice(Ip6Net.parse("2001:2:19:2::/64"), Ip6.parse("2001:2::2"), 3).withMetric(100);
        assertLayout("5c000000 1800 0505 00000000 00000000"
                + "0a 40 00 00 fe 03 00 01 00000000"
                + "0800 0f00 fe000000 1400 0100" + OVERLAY2 + "1400 0500" + PEER6
                + "0800 0400 03000000 0800 0600 64000000",             // RTA_OIF 3, RTA_PRIORITY 100
                RouteCodec.add6(w, hostGw, true));
        assertLayout("30000000 1a00 0500 00000000 00000000"
                + "0a 80 00 00 00 00 00 00 00000000"                    // AF_INET6, dst_len 128
                + "1400 0100" + PEER6, RouteCodec.lookup6(w, Ip6.parse("2001:2::2")));
        assertLayout("1c000000 1a00 0103 00000000 00000000 0a 00 00 00 00 00 00 00 00000000", RouteCodec.dump6(w));
    }
}
