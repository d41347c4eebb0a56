package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Route;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import java.util.List;
import org.junit.jupiter.api.Test;

class PeerEntriesTest {
    private static final String DATA = "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:02\"}";
    private static final UnderlayNetworks L2 = UnderlayNetworks.of(List.of(Ip4Net.parse("198.18.0.0/16")));

    private static Lease lease(String subnet, String publicIp, String type, String data) {
        return new Lease(Ip4Net.parse(subnet), new LeaseAttrs(Ip4.parse(publicIp), type, data), 7, 1);
    }

    @Test
    void tunnelledPeerNeedsArpFdbAndOnlinkRoute() {
        PeerEntries p = PeerEntries.fromLease(lease("198.19.2.0/24", "198.18.0.2", "vxlan", DATA), null);
        assertFalse(p.direct());
        assertEquals(MacAddress.parse("02:00:00:00:00:02"), p.vtepMac());
        assertEquals("198.19.2.0", Ip4.format(p.gateway()));
        assertEquals(Route.onlinkVia(Ip4Net.parse("198.19.2.0/24"), p.gateway(), 5), p.route(5, 2));
    }

    @Test
    void directRoutingAppliesOnlyToPeersOnTheSameL2() {
        PeerEntries near = PeerEntries.fromLease(lease("198.19.2.0/24", "198.18.0.2", "vxlan", DATA), L2);
        assertTrue(near.direct());
        Route r = near.route(5, 2);
        assertEquals("198.19.2.0/24 via 198.18.0.2 dev #2", r.describe());
        PeerEntries far = PeerEntries.fromLease(lease("198.19.3.0/24", "198.19.200.3", "vxlan", DATA), L2);
        assertFalse(far.direct());
    }

    @Test
    void otherBackendTypesAndBadBackendDataAreUnusableAndNameTheSubnet() {
        var e1 = assertThrows(PeerEntries.UnusableLeaseException.class,
                () -> PeerEntries.fromLease(lease("198.19.4.0/24", "198.18.0.4", "udp", null), null));
        assertTrue(e1.getMessage().contains("198.19.4.0/24") && e1.getMessage().contains("udp"), e1.getMessage());
        var e2 = assertThrows(PeerEntries.UnusableLeaseException.class,
                () -> PeerEntries.fromLease(lease("198.19.5.0/24", "198.18.0.5", "vxlan", "{\"VNI\":1}"), null));
        assertTrue(e2.getMessage().contains("198.19.5.0/24") && e2.getMessage().contains("VtepMAC"), e2.getMessage());
    }

    @Test
    void twoLeasesOfOneHostShareTheirVtep() {
        PeerEntries a = PeerEntries.fromLease(lease("198.19.2.0/24", "198.18.0.2", "vxlan", DATA), null);
        PeerEntries b = PeerEntries.fromLease(lease("198.19.9.0/24", "198.18.0.2", "vxlan", DATA), null);
        PeerEntries c = PeerEntries.fromLease(lease("198.19.9.0/24", "198.18.0.3", "vxlan", DATA), null);
        assertTrue(a.sameVtep(b));
        assertFalse(a.sameVtep(c));
    }
}
