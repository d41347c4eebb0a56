package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class Ip4NetTest {

    @Test
    void parsesAndFormats() {
        Ip4Net n = Ip4Net.parse("198.19.7.0/24");
        assertEquals("198.19.7.0/24", n.toString());
        assertEquals(256, n.size());
        assertEquals("198.19.7.1", Ip4.format(n.firstHost()));
        assertEquals("198.19.7.255", Ip4.format(n.lastAddress()));
        assertTrue(Ip4Net.parse("198.19.0.0/16").contains(n));
        assertFalse(n.contains(Ip4Net.parse("198.19.0.0/16")));
        assertTrue(n.overlaps(Ip4Net.parse("198.19.0.0/16")));
        assertEquals("255.255.255.255", Ip4.format(Ip4.parse("255.255.255.255")));
        assertEquals("0.0.0.0/0", Ip4Net.parse("0.0.0.0/0").toString());
    }

    @Test
    void allIsTheDefaultRouteDestinationAndHoldsEveryAddress() {
        assertEquals(Ip4Net.parse("0.0.0.0/0"), Ip4Net.ALL);
        assertEquals(1L << 32, Ip4Net.ALL.size());
        assertTrue(Ip4Net.ALL.contains(Ip4.parse("255.255.255.255")));
        assertTrue(Ip4Net.ALL.contains(Ip4Net.parse("198.19.7.0/24")));
    }

    @Test
    void containingClearsHostBitsAsAnInterfaceAddressIsReadAsItsNetwork() {
        assertEquals(Ip4Net.parse("198.19.2.0/24"), Ip4Net.containing(Ip4.parse("198.19.2.7"), 24));
        assertEquals(Ip4Net.ALL, Ip4Net.containing(Ip4.parse("198.19.2.7"), 0));
        assertEquals(Ip4Net.parse("198.19.2.7/32"), Ip4Net.containing(Ip4.parse("198.19.2.7"), 32));
    }

    @Test
    void refusesHostBitsUnlessAskedToMask() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ip4Net.parse("198.19.7.1/24"));
        assertTrue(e.getMessage().contains("198.19.7.0/24"), e.getMessage());
        assertEquals("198.19.7.0/24", Ip4Net.parse("198.19.7.1/24", true).toString());
    }

    @Test
    void refusesNonAddresses() {
        for (String bad : new String[] {"1.2.3", "1.2.3.4.5", "a.b.c.d", "1.2.3.-4", "1.2.3.256", "01234.1.1.1", "", "1..2.3",
                "localhost", "::1", " 1.2.3.4"}) {
            assertThrows(IllegalArgumentException.class, () -> Ip4.parse(bad), bad);
        }
    }

    @Property
    void formatThenParseIsIdentity(@ForAll int address) {
        assertEquals(address, Ip4.parse(Ip4.format(address)));
        assertEquals(address, Ip4.fromBytes(Ip4.toBytes(address)));
    }

    @Property
    void containingNetworkContainsItsAddress(@ForAll int address, @ForAll @IntRange(min = 0, max = 32) int len) {
        Ip4Net net = Ip4Net.containing(address, len);
        assertTrue(net.contains(address));
        assertEquals(net, Ip4Net.parse(net.toString()));
    }
}
