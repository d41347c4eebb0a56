package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class ValueTypesTest {
    @Test
    void macAddressRoundTripsAndComparesByValue() {
        MacAddress mac = MacAddress.parse("8E:1f:00:aa:bb:cc");
        assertEquals("8e:1f:00:aa:bb:cc", mac.toString());
        assertEquals(mac, MacAddress.fromBytes(mac.toBytes()));
        assertEquals(MacAddress.parse("8e:1f:00:aa:bb:cc"), mac);
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("8e:1f:00:aa:bb"));
        assertThrows(IllegalArgumentException.class, () -> MacAddress.parse("8e:1f:00:aa:bb:zz"));
        assertThrows(IllegalArgumentException.class, () -> MacAddress.fromBytes(new byte[5]));
    }

    @Test
    void ipv4ParsingIsStrictAndNeverResolves() {
        assertEquals("198.19.1.0", Ipv4.format(Ipv4.parse("198.19.1.0")));
        assertEquals(0xC6130100, Ipv4.toInt(Ipv4.parse("198.19.1.0")));
        assertEquals(Ipv4.parse("198.19.1.0"), Ipv4.fromInt(0xC6130100));
        for (String bad : new String[] {"localhost", "198.19.1", "198.19.1.256", "1.2.3.4.5", "::1", "1..2.3", " 1.2.3.4"}) {
            assertThrows(IllegalArgumentException.class, () -> Ipv4.parse(bad), bad);
        }
    }

    @Test
    void prefixes() {
        Ipv4Prefix p = Ipv4Prefix.parse("198.19.2.7/24");
        assertEquals("198.19.2.7/24", p.toString());
        assertEquals(Ipv4Prefix.parse("198.19.2.0/24"), p.network());
        assertEquals(Ipv4Prefix.parse("198.19.2.7/32"), Ipv4Prefix.parse("198.19.2.7"));
        assertEquals("0.0.0.0/0", Ipv4Prefix.DEFAULT_ROUTE.network().toString());
        assertThrows(IllegalArgumentException.class, () -> Ipv4Prefix.parse("198.19.2.0/33"));
        assertThrows(IllegalArgumentException.class, () -> Ipv4Prefix.parse("198.19.2.0/"));
    }

    @Test
    void errnoNamesAndMessages() {
        assertEquals("EEXIST", Errno.name(17));
        assertEquals("File exists", Errno.message(-17));
        assertEquals("ENODEV", Errno.name(Errno.ENODEV));
        assertEquals("E<4000>", Errno.name(4000));
        NetlinkException e = new NetlinkException("RTM_NEWNEIGH add 198.19.2.0", -17, "");
        assertEquals("RTM_NEWNEIGH add 198.19.2.0: EEXIST (File exists)", e.getMessage());
        assertTrue(e.alreadyExists());
    }

    @Test
    void invalidLinkNamesAndRoutesAreRejectedBeforeReachingTheKernel() {
        assertThrows(IllegalArgumentException.class, () -> VxlanSpec.flannel("a-name-that-is-too-long", 1,
                Ipv4.parse("198.18.0.1"), 0, 8472));
        assertThrows(IllegalArgumentException.class, () -> VxlanSpec.flannel("a/b", 1, Ipv4.parse("198.18.0.1"), 0,
                8472));
        assertThrows(IllegalArgumentException.class, () -> VxlanSpec.flannel("f", 1 << 24, Ipv4.parse("198.18.0.1"), 0,
                8472));
        assertThrows(IllegalArgumentException.class, () -> NetworkNamespaces.path("../etc"));
        assertEquals("198.19.2.0/24 via 198.19.2.0 dev #5 onlink",
                Route.onlinkVia(Ipv4Prefix.parse("198.19.2.0/24"), Ipv4.parse("198.19.2.0"), 5).describe());
    }
}
