package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Decoding of handcrafted kernel messages, and rejection of truncated or garbled ones with a clear exception. */
class CodecDecodingTest {
    /** RTM_NEWLINK for flannel.1 (ifindex 5, UP, mtu 1450) with a vxlan IFLA_LINKINFO, as the kernel sends it. */
    static final String VXLAN_LINK =
            "9c000000 1000 0200 07000000 00000000"                    // RTM_NEWLINK, NLM_F_MULTI, seq 7
            + "00 00 0100 05000000 43100100 00000000"                 // ARPHRD_ETHER, index 5, flags UP|RUNNING...
            + "0e00 0300 666c616e6e656c2e3100 0000"                   // IFLA_IFNAME
            + "0800 0400 aa050000"                                    // IFLA_MTU 1450
            + "0a00 0100 8e1f00aabbcc 0000"                           // IFLA_ADDRESS
            + "0a00 0200 ffffffffffff 0000"                           // IFLA_BROADCAST (ignored)
            + "4c00 1280"                                             // IFLA_LINKINFO (nested flag set)
            + "  0a00 0100 76786c616e00 0000"                         // IFLA_INFO_KIND "vxlan"
            + "  3c00 0280"                                           // IFLA_INFO_DATA
            + "    0800 0100 01000000"                                // VNI 1
            + "    0800 0300 02000000"                                // LINK 2
            + "    0800 0400 c6120001"                                // LOCAL 198.18.0.1
            + "    0600 0f00 2118 0000"                               // PORT 8472
            + "    0500 0700 00 000000"                               // LEARNING 0
            + "    0500 0500 00 000000"                               // TTL (ignored)
            + "    0800 0800 2c010000";                               // AGEING (ignored)

    /**
     * The kernel's answer to `ip route get 198.18.64.9` with "198.18.64.0/24 via 198.18.200.254 dev veth0 src
     * 198.18.200.2" (captured from a 6.x kernel through this codec's request).
     */
    static final String LOOKUP_REPLY =
            "70000000 1800 0000 00000000 00000000"                    // RTM_NEWROUTE, a single reply
            + "02 20 00 00 fe 00 00 01 00020000"                      // /32, main, unicast, RTM_F_CLONED
            + "0800 0f00 fe000000"                                    // RTA_TABLE 254
            + "0800 0100 c6124009"                                    // RTA_DST 198.18.64.9
            + "0800 0400 03000000"                                    // RTA_OIF 3
            + "0800 0700 c612c802"                                    // RTA_PREFSRC 198.18.200.2
            + "0800 0500 c612c8fe"                                    // RTA_GATEWAY 198.18.200.254
            + "0800 1900 00000000"                                    // RTA_UID (ignored)
            + "2400 0c00 02000000 00000000 00000000 00000000"         // RTA_CACHEINFO (ignored)
            + "          00000000 00000000 00000000 00000000";

    /** "blackhole 198.19.5.0/24" in a route dump, as `ip route add blackhole 198.19.5.0/24` left it. */
    static final String BLACKHOLE_ROUTE =
            "2c000000 1800 0200 00000000 00000000 02 18 00 00 fe 03 00 06 00000000"
            + "0800 0f00 fe000000 0800 0100 c6130500";

    @BeforeAll
    static void littleEndianOnly() {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN);
    }

    private static NetlinkMessage single(String hex) {
        List<NetlinkMessage> messages = NetlinkMessage.split(Hex.parse(hex));
        assertEquals(1, messages.size());
        return messages.get(0);
    }

    @Test
    void decodesVxlanLink() {
        NetlinkMessage m = single(VXLAN_LINK);
        assertEquals(7, m.seq());
        Link link = LinkCodec.decode(m);
        assertEquals(new Link(5, "flannel.1", 0x11043, 1450, Optional.of(MacAddress.parse("8e:1f:00:aa:bb:cc")),
                Optional.of("vxlan"), Optional.of(new VxlanAttributes(1, OptionalInt.of(Ip4.parse("198.18.0.1")), 2,
                        8472, false))), link);
        assertTrue(link.isUp());
    }

    @Test
    void decodesLinkWithoutMacOrKind() {
        Link tun = LinkCodec.decode(single("2d000000 1000 0000 00000000 00000000 00 00 fe01 09000000 91100000 00000000"
                + "0d00 0300 666c616e6e656c3000"));                    // "flannel0\0" unpadded at the end
        assertEquals(new Link(9, "flannel0", 0x1091, 0, Optional.empty(), Optional.empty(), Optional.empty()), tun);
    }

    @Test
    void splitsSeveralMessagesOfOneDatagram() {
        String done = "14000000 0300 0200 07000000 00000000 00000000";
        List<NetlinkMessage> messages = NetlinkMessage.split(Hex.parse(VXLAN_LINK + VXLAN_LINK + done));
        assertEquals(List.of(16, 16, 3), messages.stream().map(NetlinkMessage::type).toList());
    }

    @Test
    void decodesAddressNeighbourFdbAndRoute() {
        assertEquals(Optional.of(new LinkAddress(5, Ip4.parse("198.19.1.0"), 32)), AddressCodec.decode(single(
                "28000000 1400 0200 00000000 00000000 02 20 80 00 05000000"
                + "0800 0100 c6130100 0800 0200 c6130100")));
        assertEquals(Optional.empty(), AddressCodec.decode(single(              // an IPv6 address is skipped
                "18000000 1400 0200 00000000 00000000 0a 40 80 00 05000000")));

        assertEquals(Optional.of(Neighbour.permanent(5, Ip4.parse("198.19.2.0"), MacAddress.parse("8e:1f:00:aa:bb:cc"))),
                NeighbourCodec.decodeNeighbour(single("30000000 1c00 0200 00000000 00000000 02 00 0000 05000000 8000 00 01"
                        + "0800 0100 c6130200 0a00 0200 8e1f00aabbcc 0000")));
        assertEquals(Optional.empty(), NeighbourCodec.decodeNeighbour(single(  // INCOMPLETE: no lladdr
                "24000000 1c00 0200 00000000 00000000 02 00 0000 05000000 0100 00 01 0800 0100 c6130200")));

        assertEquals(Optional.of(FdbEntry.permanent(5, MacAddress.parse("8e:1f:00:aa:bb:cc"), Ip4.parse("198.18.0.2"))),
                NeighbourCodec.decodeFdb(single("30000000 1c00 0200 00000000 00000000 07 00 0000 05000000 8000 02 00"
                        + "0a00 0200 8e1f00aabbcc 0000 0800 0100 c6120002")));
        assertEquals(Optional.empty(), NeighbourCodec.decodeFdb(single(        // a bridge port's entry: no NTF_SELF
                "30000000 1c00 0200 00000000 00000000 07 00 0000 05000000 8000 04 00"
                        + "0a00 0200 8e1f00aabbcc 0000 0800 0100 c6120002")));

        assertEquals(Optional.of(new Route(Ip4Net.parse("198.19.2.0/24"), OptionalInt.of(Ip4.parse("198.19.2.0")), 5,
                        true, 254, 3, 0, 0)),
                RouteCodec.decode(single("3c000000 1800 0200 00000000 00000000 02 18 00 00 fe 03 00 01 04000000"
                        + "0800 0f00 fe000000 0800 0100 c6130200 0800 0500 c6130200 0800 0400 05000000")));
        assertEquals(Optional.of(new Route(Ip4Net.ALL, OptionalInt.of(Ip4.parse("198.18.0.254")), 2,
                        false, 254, 4, 0, 100)),                          // default route: no RTA_DST at all
                RouteCodec.decode(single("3c000000 1800 0200 00000000 00000000 02 00 00 00 fe 04 00 01 00000000"
                        + "0800 0f00 fe000000 0800 0600 64000000 0800 0500 c61200fe 0800 0400 02000000")));
        assertEquals(Optional.empty(), RouteCodec.decode(single(              // RTN_LOCAL: not ours to manage
                "34000000 1800 0200 00000000 00000000 02 20 00 00 ff 02 fe 02 00000000"
                        + "0800 0f00 ff000000 0800 0100 7f000001 0800 0400 01000000")));
    }

    @Test
    void decodesRouteLookupReplies() {
        assertEquals(new RouteLookup(Ip4.parse("198.18.64.9"), RouteLookup.TYPE_UNICAST, 254, 3,
                OptionalInt.of(Ip4.parse("198.18.200.254")), OptionalInt.of(Ip4.parse("198.18.200.2"))),
                RouteCodec.decodeLookup(single(LOOKUP_REPLY)));
        assertEquals(new RouteLookup(Ip4.parse("198.18.200.1"), RouteLookup.TYPE_LOCAL, 254, 1,  // an own address: lo
                OptionalInt.empty(), OptionalInt.of(Ip4.parse("198.18.200.1"))),
                RouteCodec.decodeLookup(single("68000000 1800 0000 00000000 00000000 02 20 00 00 fe 00 00 02 00020080"
                        + "0800 0f00 fe000000 0800 0100 c612c801 0800 0400 01000000 0800 0700 c612c801"
                        + "0800 1900 00000000 2400 0c00 01000000 00000000 00000000 00000000"
                        + "00000000 00000000 00000000 00000000")));

        MalformedMessageException e = assertThrows(MalformedMessageException.class, () -> RouteCodec.decodeLookup(
                single("2c000000 1800 0000 00000000 00000000 02 20 00 00 fe 00 00 01 00000000"
                        + "0800 0f00 fe000000 0800 0100 c6124009")));
        assertTrue(e.getMessage().contains("without RTA_OIF"), e.getMessage());
        e = assertThrows(MalformedMessageException.class, () -> RouteCodec.decodeLookup(single(VXLAN_LINK)));
        assertTrue(e.getMessage().contains("expected RTM_NEWROUTE, got RTM_NEWLINK"), e.getMessage());
    }

    @Test
    void aRouteDestinationWithHostBitsIsMalformed() {
        // 198.19.2.7/24: the kernel refuses such routes, so a reply carrying one is garbage, for both decoders
        MalformedMessageException e = assertThrows(MalformedMessageException.class, () -> RouteCodec.decode(single(
                "3c000000 1800 0200 00000000 00000000 02 18 00 00 fe 03 00 01 04000000"
                + "0800 0f00 fe000000 0800 0100 c6130207 0800 0500 c6130200 0800 0400 05000000")));
        assertTrue(e.getMessage().contains("198.19.2.7/24 has host bits set"), e.getMessage());
        assertThrows(MalformedMessageException.class, () -> RouteCodec.decodeBlackhole(single(
                BLACKHOLE_ROUTE.replace("c6130500", "c6130509")), 254));
    }

    /**
     * "blackhole 2001:2:19:5::/64 dev lo metric 1024 pref medium" in an AF_INET6 route dump, as the kernel answers
     * `ip -6 route show type blackhole` after `ip -6 route add blackhole 2001:2:19:5::/64`: RTA_TABLE, RTA_DST,
     * RTA_PRIORITY, RTA_OIF (lo), RTA_CACHEINFO and RTA_PREF.
     */
    static final String BLACKHOLE_ROUTE6 =
            "74000000 1800 2200 00000000 00000000 0a 40 00 00 fe 03 00 06 00000000"
            + "0800 0f00 fe000000"
            + "1400 0100 20010002 00190005 00000000 00000000"
            + "0800 0600 00040000"
            + "0800 0400 01000000"
            + "2400 0c00 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000"
            + "0500 1400 00 000000";

    @Test
    void decodesIpv6BlackholeRoutesOfOneTableAndTheUsualMetricOnly() {
        assertEquals(Optional.of(Ip6Net.parse("2001:2:19:5::/64")), RouteCodec.decodeBlackhole6(single(BLACKHOLE_ROUTE6), 254));
        assertEquals(Optional.empty(), RouteCodec.decodeBlackhole6(single(BLACKHOLE_ROUTE6), 255));
        assertEquals(Optional.empty(), RouteCodec.decodeBlackhole6(single(BLACKHOLE_ROUTE6.replace("0800 0600 00040000", "0800 0600 00020000")), 254),
                "a blackhole route of metric 512 is someone else's");
        assertEquals(Optional.empty(), RouteCodec.decode6(single(BLACKHOLE_ROUTE6)), "never a unicast Route6");
        assertEquals(Optional.empty(), RouteCodec.decodeBlackhole6(single(BLACKHOLE_ROUTE), 254), "nor an IPv4 blackhole");
        assertEquals(Optional.empty(), RouteCodec.decodeBlackhole(single(BLACKHOLE_ROUTE6), 254), "and the other way round");
        assertThrows(MalformedMessageException.class, () -> RouteCodec.decodeBlackhole6(single(
                BLACKHOLE_ROUTE6.replace("20010002 00190005 00000000 00000000", "20010002 00190005 00000000 00000001")), 254),
                "host bits past /64");
    }

    @Test
    void decodesBlackholeRoutesOfOneTableOnly() {
        assertEquals(Optional.of(Ip4Net.parse("198.19.5.0/24")),
                RouteCodec.decodeBlackhole(single(BLACKHOLE_ROUTE), 254));
        assertEquals(Optional.empty(), RouteCodec.decodeBlackhole(single(BLACKHOLE_ROUTE), 255));
        assertEquals(Optional.empty(), RouteCodec.decode(single(BLACKHOLE_ROUTE)),   // never a unicast Route
                "the unicast decoder must skip blackhole routes");
        assertEquals(Optional.empty(), RouteCodec.decodeBlackhole(single(           // a unicast route is no blackhole
                "3c000000 1800 0200 00000000 00000000 02 18 00 00 fe 03 00 01 04000000"
                + "0800 0f00 fe000000 0800 0100 c6130200 0800 0500 c6130200 0800 0400 05000000"), 254));
    }

    @Test
    void errorAckCarriesErrnoAndExtendedAckText() {
        // nlmsgerr: error -19, the capped request header, then NLMSGERR_ATTR_MSG; flags CAPPED | ACK_TLVS
        NetlinkMessage ack = single("38000000 0200 0003 09000000 00000000 edffffff"
                + "3c000000 1800 0506 09000000 00000000"              // the request's header only (capped)
                + "1400 0100 4e6f2073756368206465766963652100");     // "No such device!\0", 20 bytes
        NetlinkException e = assertThrows(NetlinkException.class,
                () -> NetlinkSocket.throwIfError(ack, () -> "RTM_NEWROUTE add x"));
        assertEquals(19, e.errno());
        assertEquals("ENODEV", e.errnoName());
        assertEquals("No such device!", e.kernelMessage());
        assertEquals("RTM_NEWROUTE add x: ENODEV (No such device): " + e.kernelMessage(), e.getMessage());

        NetlinkMessage ok = single("24000000 0200 0001 09000000 00000000 00000000 10000000 1800 0506 09000000 00000000");
        NetlinkSocket.throwIfError(ok, () -> "fine"); // error 0 is the acknowledgement
    }

    @Test
    void truncatedMessagesAreRejectedClearly() {
        MalformedMessageException e = assertThrows(MalformedMessageException.class,
                () -> NetlinkMessage.split(Hex.parse("ff000000 1000 0000 00000000 00000000 00")));
        assertTrue(e.getMessage().contains("nlmsg_len 255"), e.getMessage());

        assertThrows(MalformedMessageException.class, () -> NetlinkMessage.split(Hex.parse("08000000")));
        assertThrows(MalformedMessageException.class,           // nlmsg_len smaller than the header itself
                () -> NetlinkMessage.split(Hex.parse("04000000 1000 0000 00000000 00000000")));

        e = assertThrows(MalformedMessageException.class, () -> LinkCodec.decode(single(
                "18000000 1000 0000 00000000 00000000 00000000 00000000")));
        assertTrue(e.getMessage().contains("shorter than struct ifinfomsg"), e.getMessage());

        e = assertThrows(MalformedMessageException.class, () -> LinkCodec.decode(single(   // nla_len beyond the end
                "28000000 1000 0000 00000000 00000000 00 00 0000 05000000 00000000 00000000 4000 0300 6c6f0000")));
        assertTrue(e.getMessage().contains("nla_len 64"), e.getMessage());

        e = assertThrows(MalformedMessageException.class, () -> LinkCodec.decode(single(   // IFLA_MTU of 2 bytes
                "30000000 1000 0000 00000000 00000000 00 00 0000 05000000 00000000 00000000"
                + "0700 0300 6c6f00 00 0600 0400 aa05 0000")));
        assertTrue(e.getMessage().contains("attribute type 4 has 2 bytes, expected 4"), e.getMessage());

        e = assertThrows(MalformedMessageException.class, () -> LinkCodec.decode(single(   // no IFLA_IFNAME
                "20000000 1000 0000 00000000 00000000 00 00 0000 05000000 00000000 00000000")));
        assertTrue(e.getMessage().contains("no IFLA_IFNAME"), e.getMessage());

        e = assertThrows(MalformedMessageException.class, () -> RouteCodec.decode(single(  // dst_len 40
                "1c000000 1800 0000 00000000 00000000 02 28 00 00 fe 03 00 01 00000000")));
        assertTrue(e.getMessage().contains("destination length 40"), e.getMessage());

        e = assertThrows(MalformedMessageException.class, () -> LinkCodec.decode(single(   // wrong type
                "20000000 1800 0000 00000000 00000000 00 00 0000 05000000 00000000 00000000")));
        assertTrue(e.getMessage().contains("expected RTM_NEWLINK, got RTM_NEWROUTE"), e.getMessage());
    }

    /**
     * Random corruption of valid messages: each decoder must either decode or throw MalformedMessageException; any
     * other exception (an index error, say) would mean an unchecked read.
     */
    @Test
    void corruptedMessagesNeverEscapeAsOtherExceptions() {
        List<String> samples = List.of(VXLAN_LINK,
                "3c000000 1800 0200 00000000 00000000 02 18 00 00 fe 03 00 01 04000000"
                        + "0800 0f00 fe000000 0800 0100 c6130200 0800 0500 c6130200 0800 0400 05000000",
                "30000000 1c00 0200 00000000 00000000 07 00 0000 05000000 8000 02 00"
                        + "0a00 0200 8e1f00aabbcc 0000 0800 0100 c6120002",
                "28000000 1400 0200 00000000 00000000 02 20 80 00 05000000 0800 0100 c6130100 0800 0200 c6130100",
                LOOKUP_REPLY, BLACKHOLE_ROUTE);
        List<Function<NetlinkMessage, ?>> decoders = List.of(LinkCodec::decode, RouteCodec::decode,
                NeighbourCodec::decodeFdb, NeighbourCodec::decodeNeighbour, AddressCodec::decode,
                RouteCodec::decodeLookup, m -> RouteCodec.decodeBlackhole(m, Route.TABLE_MAIN));
        Random random = new Random(42);
        for (int round = 0; round < 5_000; round++) {
            ByteBuffer b = Hex.parse(samples.get(round % samples.size()));
            byte[] bytes = new byte[b.remaining()];
            b.get(bytes);
            int corruptions = 1 + random.nextInt(4);
            for (int i = 0; i < corruptions; i++) {
                bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
            }
            int length = random.nextInt(4) == 0 ? random.nextInt(bytes.length + 1) : bytes.length;
            ByteBuffer input = ByteBuffer.wrap(bytes, 0, length).order(ByteOrder.nativeOrder());
            try {
                for (NetlinkMessage m : NetlinkMessage.split(input)) {
                    for (Function<NetlinkMessage, ?> decoder : decoders) {
                        try {
                            decoder.apply(m);
                        } catch (MalformedMessageException expected) {
                            // fine: the message is broken and said so
                        }
                    }
                }
            } catch (MalformedMessageException expected) {
                // fine
            }
        }
    }

    private static final String OWN6 = "20010002 00000000 00000000 00000001";
    private static final String PEER6 = "20010002 00000000 00000000 00000002";
    private static final String OVERLAY2 = "20010002 00190002 00000000 00000000";

    @Test
    void decodesIpv6AddressesWithScopeAndFlags() {
        // "inet6 2001:2::1/64 scope global tentative": IFA_ADDRESS only, IFA_FLAGS carries the 32-bit flags
        // (TENTATIVE|PERMANENT = 0xc0; ifa_flags holds the same low byte), IFA_CACHEINFO ignored.
        LinkAddress6 tentative = AddressCodec.decode6(single("48000000 1400 0200 00000000 00000000"
                + "0a 40 c0 00 03000000"
                + "1400 0100" + OWN6
                + "1400 0600 ffffffff ffffffff 10000000 10000000"        // IFA_CACHEINFO (ignored)
                + "0800 0800 c0000000")).orElseThrow();                   // IFA_FLAGS
        assertEquals(new LinkAddress6(3, Ip6.parse("2001:2::1"), 64, 0, 0xc0), tentative);
        assertTrue(tentative.isTentative());
        assertFalse(tentative.isDeprecated());
        assertEquals(Ip6Net.parse("2001:2::/64"), tentative.network());
        // IFA_FLAGS wins over ifa_flags (it has all the bits: here MANAGETEMPADDR 0x100 | DEPRECATED 0x20)
        LinkAddress6 wide = AddressCodec.decode6(single("34000000 1400 0200 00000000 00000000 0a 40 00 00 03000000"
                + "1400 0100" + OWN6 + "0800 0800 20010000")).orElseThrow();
        assertEquals(0x120, wide.flags());
        assertTrue(wide.isDeprecated());
        // link-local, no IFA_FLAGS: the flags come from ifa_flags (PERMANENT 0x80 | DADFAILED 0x08)
        LinkAddress6 linkLocal = AddressCodec.decode6(single("2c000000 1400 0200 00000000 00000000"
                + "0a 40 88 fd 03000000 1400 0100 fe800000 00000000 00000000 00000001")).orElseThrow();
        assertEquals(new LinkAddress6(3, Ip6.parse("fe80::1"), 64, LinkAddress6.SCOPE_LINK, 0x88), linkLocal);
        assertTrue(linkLocal.isLinkLocal() && linkLocal.isDadFailed());
        // a point-to-point address: IFA_LOCAL is ours, IFA_ADDRESS the peer's
        assertEquals(Optional.of(new LinkAddress6(3, Ip6.parse("2001:2::1"), 128, 0, 0x80)),
                AddressCodec.decode6(single("40000000 1400 0200 00000000 00000000 0a 80 80 00 03000000"
                        + "1400 0100" + PEER6 + "1400 0200" + OWN6)));
        // an IPv4 address is not an IPv6 one, and vice versa
        assertEquals(Optional.empty(), AddressCodec.decode6(single(
                "28000000 1400 0200 00000000 00000000 02 20 80 00 05000000 0800 0100 c6130100 0800 0200 c6130100")));
        assertEquals(Optional.empty(), AddressCodec.decode(single(
                "2c000000 1400 0200 00000000 00000000 0a 40 80 00 03000000 1400 0100" + OWN6)));
        assertThrows(MalformedMessageException.class, () -> AddressCodec.decode6(single(
                "2c000000 1400 0200 00000000 00000000 0a 81 80 00 03000000 1400 0100" + OWN6)));   // /129
    }

    @Test
    void decodesNdpEntriesAndIpv6FdbEntries() {
        String ndp = "3c000000 1c00 0200 00000000 00000000 0a 00 0000 05000000 8000 00 01"
                + "1400 0100" + OVERLAY2 + "0a00 0200 8e1f00aabbcc 0000";
        assertEquals(Optional.of(Neighbour6.permanent(5, Ip6.parse("2001:2:19:2::"),
                MacAddress.parse("8e:1f:00:aa:bb:cc"))), NeighbourCodec.decodeNeighbour6(single(ndp)));
        assertEquals(Optional.empty(), NeighbourCodec.decodeNeighbour(single(ndp)));  // not an ARP entry
        assertEquals(Optional.empty(), NeighbourCodec.decodeNeighbour6(single(        // a multicast group's entry
                "3c000000 1c00 0200 00000000 00000000 0a 00 0000 05000000 4000 00 01"
                        + "1400 0100 ff020000 00000000 00000000 00000016 0a00 0200 333300000016 0000")));
        assertEquals(Optional.empty(), NeighbourCodec.decodeNeighbour6(single(        // INCOMPLETE: no lladdr
                "30000000 1c00 0200 00000000 00000000 0a 00 0000 05000000 0100 00 01 1400 0100" + OVERLAY2)));

        String fdb6 = "3c000000 1c00 0200 00000000 00000000 07 00 0000 05000000 8000 02 00"
                + "0a00 0200 8e1f00aabbcc 0000 1400 0100" + PEER6;
        assertEquals(Optional.of(FdbEntry6.permanent(5, MacAddress.parse("8e:1f:00:aa:bb:cc"), Ip6.parse("2001:2::2"))),
                NeighbourCodec.decodeFdb6(single(fdb6)));
        assertEquals(Optional.empty(), NeighbourCodec.decodeFdb(single(fdb6)));       // the IPv4 list skips it
        assertEquals(Optional.empty(), NeighbourCodec.decodeFdb6(single(              // and the IPv6 list an IPv4 one
                "30000000 1c00 0200 00000000 00000000 07 00 0000 05000000 8000 02 00"
                        + "0a00 0200 8e1f00aabbcc 0000 0800 0100 c6120002")));
    }

    @Test
    void decodesIpv6RoutesAndLookups() {
        // "2001:2:19:2::/64 via 2001:2:19:2:: dev #5 proto boot metric 1024 onlink pref medium" as a dump shows it
        assertEquals(Optional.of(new Route6(Ip6Net.parse("2001:2:19:2::/64"), Optional.of(Ip6.parse("2001:2:19:2::")),
                        5, true, 254, 3, 0, 1024)),
                RouteCodec.decode6(single("88000000 1800 0200 00000000 00000000 0a 40 00 00 fe 03 00 01 04000000"
                        + "0800 0f00 fe000000 1400 0100" + OVERLAY2 + "0800 0600 00040000"
                        + "1400 0500" + OVERLAY2 + "0800 0400 05000000"
                        + "2400 0c00 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000"
                        + "0500 1400 00 000000")));                           // RTA_PREF (ignored)
        // the default route: no RTA_DST
        assertEquals(Optional.of(new Route6(Ip6Net.parse("::/0"), Optional.of(Ip6.parse("2001:2::2")), 3, false,
                        254, 3, 0, 1024)),
                RouteCodec.decode6(single("48000000 1800 0200 00000000 00000000 0a 00 00 00 fe 03 00 01 00000000"
                        + "0800 0f00 fe000000 0800 0600 00040000 1400 0500" + PEER6 + "0800 0400 03000000")));
        // an IPv4 route is not decoded as an IPv6 one, nor the other way round
        assertEquals(Optional.empty(), RouteCodec.decode6(single("3c000000 1800 0200 00000000 00000000"
                + "02 18 00 00 fe 03 00 01 04000000 0800 0f00 fe000000 0800 0100 c6130200 0800 0500 c6130200"
                + "0800 0400 05000000")));
        assertEquals(Optional.empty(), RouteCodec.decode(single("48000000 1800 0200 00000000 00000000"
                + "0a 00 00 00 fe 03 00 01 00000000 0800 0f00 fe000000 0800 0600 00040000 1400 0500" + PEER6
                + "0800 0400 03000000")));
        // host bits past the length, and a gateway of 4 bytes in an AF_INET6 route, are malformed
        assertThrows(MalformedMessageException.class, () -> RouteCodec.decode6(single(
                "40000000 1800 0200 00000000 00000000 0a 20 00 00 fe 03 00 01 00000000 0800 0f00 fe000000"
                        + "1400 0100" + OVERLAY2 + "0800 0400 03000000")));
        assertThrows(MalformedMessageException.class, () -> RouteCodec.decode6(single(
                "34000000 1800 0200 00000000 00000000 0a 00 00 00 fe 03 00 01 00000000 0800 0f00 fe000000"
                        + "0800 0500 c6120002 0800 0400 03000000")));

        // `ip -6 route get 2001:2::2` on a host with 2001:2::1/64 on ifindex 3
        RouteLookup6 lookup = RouteCodec.decodeLookup6(single("5c000000 1800 0000 00000000 00000000"
                + "0a 80 00 00 fe 02 00 01 00000000 0800 0f00 fe000000"
                + "1400 0100" + PEER6 + "1400 0700" + OWN6 + "0800 0400 03000000 0800 0600 00010000"));
        assertEquals(new RouteLookup6(Ip6.parse("2001:2::2"), 1, 254, 3, Optional.empty(),
                Optional.of(Ip6.parse("2001:2::1"))), lookup);
        assertEquals("2001:2::2 dev #3 src 2001:2::1", lookup.describe());
        assertThrows(MalformedMessageException.class, () -> RouteCodec.decodeLookup6(single(LOOKUP_REPLY)));
    }

    @Test
    void decodesVxlanLinkWithLocal6() {
        Link link = LinkCodec.decode(single("7c000000 1000 0200 07000000 00000000 00 00 0100 06000000 43100100 00000000"
                + "1100 0300 666c616e6e656c2d76362e3100 000000"
                + "4800 1280 0a00 0100 76786c616e00 0000"
                + "  3800 0280 0800 0100 01000000 0800 0300 02000000"
                + "    1400 1100" + OWN6 + "0600 0f00 2118 0000 0500 0700 00 000000"));
        assertEquals(Optional.of(new VxlanAttributes(1, OptionalInt.empty(), 2, 8472, false,
                Optional.of(Ip6.parse("2001:2::1")))), link.vxlan());
    }
}
