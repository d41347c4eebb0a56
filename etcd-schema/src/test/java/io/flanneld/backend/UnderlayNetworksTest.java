package io.flanneld.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The L2 check of direct routing and host-gw: is a peer's PublicIP on one of the underlay interface's networks? */
class UnderlayNetworksTest {

    /** What a backend makes of an interface address such as 198.18.0.1/16. */
    private static Ip4Net of(String address, int length) {
        return Ip4Net.containing(Ip4.parse(address), length);
    }

    @Test
    void peerInTheInterfacesNetworkIsOnTheSameL2() {
        UnderlayNetworks u = UnderlayNetworks.of(List.of(of("198.18.0.1", 16)));
        assertEquals(List.of(Ip4Net.parse("198.18.0.0/16")), u.networks());
        assertTrue(u.onSameSubnet(Ip4.parse("198.18.0.2")));
        assertTrue(u.onSameSubnet(Ip4.parse("198.18.255.254")));
        assertFalse(u.onSameSubnet(Ip4.parse("198.19.0.2")));
        assertEquals("198.18.0.0/16", u.toString());
    }

    @Test
    void anyOfSeveralAddressesCounts() {
        UnderlayNetworks u = UnderlayNetworks.of(List.of(of("198.18.0.1", 24), of("198.18.7.1", 24), of("198.18.7.2", 24)));
        assertEquals(2, u.networks().size(), "two addresses in one network count once");
        assertTrue(u.onSameSubnet(Ip4.parse("198.18.7.9")));
        assertFalse(u.onSameSubnet(Ip4.parse("198.18.1.9")));
        assertEquals("198.18.0.0/24, 198.18.7.0/24", u.toString());
    }

    @Test
    void aHostRouteSaysNothingAboutNeighbours() {
        UnderlayNetworks u = UnderlayNetworks.of(List.of(of("198.18.0.1", 32)));
        assertFalse(u.onSameSubnet(Ip4.parse("198.18.0.1")));
        assertFalse(UnderlayNetworks.of(List.of()).onSameSubnet(Ip4.parse("198.18.0.1")));
        assertEquals("none", UnderlayNetworks.of(List.of()).toString());
    }

    @Test
    void pointToPointSlash31PeerIsOnLink() {
        assertTrue(UnderlayNetworks.of(List.of(of("198.18.0.0", 31))).onSameSubnet(Ip4.parse("198.18.0.1")));
    }
}
