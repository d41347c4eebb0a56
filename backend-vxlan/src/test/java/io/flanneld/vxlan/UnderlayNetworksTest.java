package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.net.Ipv4Prefix;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The direct-routing L2 check: is a peer's PublicIP on one of the underlay interface's networks? */
class UnderlayNetworksTest {

    @Test
    void peerInTheInterfacesNetworkIsOnTheSameL2() {
        UnderlayNetworks u = UnderlayNetworks.of(List.of(Ipv4Prefix.parse("198.18.0.1/16")));
        assertEquals(List.of(Ip4Net.parse("198.18.0.0/16")), u.networks());
        assertTrue(u.onSameSubnet(Ip4.parse("198.18.0.2")));
        assertTrue(u.onSameSubnet(Ip4.parse("198.18.255.254")));
        assertFalse(u.onSameSubnet(Ip4.parse("198.19.0.2")));
    }

    @Test
    void anyOfSeveralAddressesCounts() {
        UnderlayNetworks u = UnderlayNetworks.of(List.of(Ipv4Prefix.parse("198.18.0.1/24"),
                Ipv4Prefix.parse("198.18.7.1/24")));
        assertTrue(u.onSameSubnet(Ip4.parse("198.18.7.9")));
        assertFalse(u.onSameSubnet(Ip4.parse("198.18.1.9")));
    }

    @Test
    void aHostRouteSaysNothingAboutNeighbours() {
        UnderlayNetworks u = UnderlayNetworks.of(List.of(Ipv4Prefix.parse("198.18.0.1/32")));
        assertFalse(u.onSameSubnet(Ip4.parse("198.18.0.1")));
        assertFalse(UnderlayNetworks.of(List.of()).onSameSubnet(Ip4.parse("198.18.0.1")));
    }

    @Test
    void pointToPointSlash31PeerIsOnLink() {
        assertTrue(UnderlayNetworks.of(List.of(Ipv4Prefix.parse("198.18.0.0/31"))).onSameSubnet(Ip4.parse("198.18.0.1")));
    }
}
