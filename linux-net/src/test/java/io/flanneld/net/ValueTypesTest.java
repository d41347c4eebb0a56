package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
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
    void linkAddressesKeepTheirHostBitsAndNameTheirNetwork() {
        LinkAddress a = new LinkAddress(3, Ip4.parse("198.19.2.7"), 24);
        assertEquals("198.19.2.7/24", a.toString());
        assertEquals(Ip4Net.parse("198.19.2.0/24"), a.network());
        assertEquals(Ip4Net.ALL, new LinkAddress(3, Ip4.parse("198.19.2.7"), 0).network());
        assertThrows(IllegalArgumentException.class, () -> new LinkAddress(3, Ip4.parse("198.19.2.0"), 33));
        assertThrows(IllegalArgumentException.class, () -> new LinkAddress(3, Ip4.parse("198.19.2.0"), -1));
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
                Ip4.parse("198.18.0.1"), 0, 8472));
        assertThrows(IllegalArgumentException.class, () -> VxlanSpec.flannel("a/b", 1, Ip4.parse("198.18.0.1"), 0,
                8472));
        assertThrows(IllegalArgumentException.class, () -> VxlanSpec.flannel("f", 1 << 24, Ip4.parse("198.18.0.1"), 0,
                8472));
        assertThrows(IllegalArgumentException.class, () -> NetworkNamespaces.path("../etc"));
        assertEquals("198.19.2.0/24 via 198.19.2.0 dev #5 onlink",
                Route.onlinkVia(Ip4Net.parse("198.19.2.0/24"), Ip4.parse("198.19.2.0"), 5).describe());
    }
}
