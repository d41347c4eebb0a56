package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two "hosts" (namespaces A and B) joined by a veth pair on 198.18.0.0/24. Their VXLAN overlay (198.19.0.0/16) is
 * programmed only through the module, exactly as flannel's VXLAN backend does it; then A pings B's overlay address.
 */
class OverlayEndToEndTest {
    private ScratchNamespace a;
    private ScratchNamespace b;

    @BeforeEach
    void createHosts() {
        a = ScratchNamespace.create("a");
        try {
            b = ScratchNamespace.create("b");
            ScratchNamespace.run("ip", "link", "add", "eth0", "netns", a.name, "type", "veth",
                    "peer", "name", "eth0", "netns", b.name);
            a.ip("addr", "add", "198.18.0.1/24", "dev", "eth0");
            b.ip("addr", "add", "198.18.0.2/24", "dev", "eth0");
            a.ip("link", "set", "eth0", "up");
            b.ip("link", "set", "eth0", "up");
        } catch (RuntimeException | AssertionError e) {
            removeHosts();
            throw e;
        }
    }

    @AfterEach
    void removeHosts() {
        try {
            if (b != null) {
                b.close();
            }
        } finally {
            a.close();
        }
    }

    /** One host's side of flannel's VXLAN setup; returns its VTEP MAC, which would go into its lease. */
    private static Link setUpVtep(Rtnetlink rtnl, int publicIp, Ip4Net ownOverlayAddress) {
        Link underlay = rtnl.defaultRouteLink()
                .orElseGet(() -> rtnl.links().byName("eth0").orElseThrow());
        Link vtep = rtnl.links().createVxlan(VxlanSpec.flannel("flannel.1", 1, publicIp, underlay.index(), 8472));
        rtnl.links().setMtu(vtep.index(), underlay.mtu() - 50);
        rtnl.addresses().replace(new LinkAddress(vtep.index(), ownOverlayAddress.address(),
                ownOverlayAddress.prefixLength()));
        rtnl.links().setUp(vtep.index());
        return rtnl.links().byIndex(vtep.index()).orElseThrow();
    }

    /** What the backend does when a peer's lease appears: ARP, FDB, route. */
    private static void addPeer(Rtnetlink rtnl, Link vtep, Ip4Net peerSubnet, MacAddress peerMac, int peerPublicIp) {
        int peerGateway = peerSubnet.address();
        rtnl.neighbours().replace(Neighbour.permanent(vtep.index(), peerGateway, peerMac));
        rtnl.fdb().replace(FdbEntry.permanent(vtep.index(), peerMac, peerPublicIp));
        rtnl.routes().replace(Route.onlinkVia(peerSubnet, peerGateway, vtep.index()));
    }

    @Test
    void hostsReachEachOthersOverlayThroughVxlanProgrammedByTheModule() {
        try (Rtnetlink hostA = Rtnetlink.openInNamespace(a.name);
             Rtnetlink hostB = Rtnetlink.openInNamespace(b.name)) {
            Link vtepA = setUpVtep(hostA, Ip4.parse("198.18.0.1"), Ip4Net.parse("198.19.1.0/32"));
            Link vtepB = setUpVtep(hostB, Ip4.parse("198.18.0.2"), Ip4Net.parse("198.19.2.0/32"));
            assertEquals(1450, vtepA.mtu());

            addPeer(hostA, vtepA, Ip4Net.parse("198.19.2.0/24"), vtepB.mac().orElseThrow(), Ip4.parse("198.18.0.2"));
            addPeer(hostB, vtepB, Ip4Net.parse("198.19.1.0/24"), vtepA.mac().orElseThrow(), Ip4.parse("198.18.0.1"));

            assertEquals(0, a.exec("ping", "-c", "2", "-W", "1", "198.19.2.0"), "A reaches B over the overlay");
            assertEquals(0, b.exec("ping", "-c", "1", "-W", "1", "198.19.1.0"), "B reaches A over the overlay");

            // Removing the peer's route cuts A off again: the path really was the one programmed.
            hostA.routes().delete(Route.onlinkVia(Ip4Net.parse("198.19.2.0/24"), Ip4.parse("198.19.2.0"),
                    vtepA.index()));
            assertEquals(false, a.exec("ping", "-c", "1", "-W", "1", "198.19.2.0") == 0);
        }
    }
}
