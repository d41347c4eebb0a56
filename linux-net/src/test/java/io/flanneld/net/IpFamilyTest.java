package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Each family's routes are the records' own: the same values the IPv4 and IPv6 factories make. */
class IpFamilyTest {
    private static final Ip4Net NET4 = Ip4Net.parse("198.19.2.0/24");
    private static final Ip6Net NET6 = Ip6Net.parse("2001:2:19:2::/64");

    @Test
    void ipv4RoutesAreRouteValues() {
        IpFamily<Integer, Ip4Net, Route> f = IpFamily.IPV4;
        int gw = Ip4.parse("198.18.0.2");
        assertEquals(Route.onlinkVia(NET4, NET4.address(), 5), f.onlinkVia(NET4, f.firstAddress(NET4), 5));
        Route direct = f.viaDevice(NET4, gw, 2);
        assertEquals(new Route(NET4, OptionalInt.of(gw), 2, false, Route.TABLE_MAIN, Route.PROTOCOL_BOOT,
                Route.SCOPE_UNIVERSE, 0), direct);
        assertEquals(NET4, f.destination(direct));
        assertEquals(Optional.of(gw), f.gateway(direct));
        assertEquals(Optional.empty(), f.gateway(Route.throughDevice(NET4, 2)));
        assertEquals(2, f.outputIndex(direct));
        assertEquals(Route.PROTOCOL_BOOT, f.protocol(direct));
        assertEquals(Route.TABLE_MAIN, f.table(direct));
        assertEquals(0, f.metric(direct));
        assertEquals("198.19.2.0/24 via 198.18.0.2 dev #2", f.describe(direct));
        assertEquals("198.18.0.2", f.format(gw));
        assertEquals(24, f.prefixLength(NET4));
        assertTrue(f.contains(Ip4Net.parse("198.19.0.0/16"), NET4));
        assertFalse(f.contains(NET4, Ip4Net.parse("198.19.0.0/16")));
    }

    @Test
    void ipv6RoutesAreRoute6Values() {
        IpFamily<Ip6, Ip6Net, Route6> f = IpFamily.IPV6;
        Ip6 gw = Ip6.parse("2001:2::2");
        assertEquals(Route6.onlinkVia(NET6, NET6.address(), 5), f.onlinkVia(NET6, f.firstAddress(NET6), 5));
        Route6 direct = f.viaDevice(NET6, gw, 2);
        assertEquals(Route6.viaDevice(NET6, gw, 2), direct);
        assertEquals(NET6, f.destination(direct));
        assertEquals(Optional.of(gw), f.gateway(direct));
        assertEquals(2, f.outputIndex(direct));
        assertEquals(Route.PROTOCOL_BOOT, f.protocol(direct));
        assertEquals(Route.TABLE_MAIN, f.table(direct));
        assertEquals(0, f.metric(direct));
        assertEquals("2001:2:19:2::/64 via 2001:2::2 dev #2", f.describe(direct));
        assertEquals("2001:2::2", f.format(gw));
        assertEquals(64, f.prefixLength(NET6));
        assertTrue(f.contains(Ip6Net.parse("2001:2:19::/48"), NET6));
        assertFalse(f.contains(NET6, Ip6Net.parse("2001:2:19::/48")));
    }
}
