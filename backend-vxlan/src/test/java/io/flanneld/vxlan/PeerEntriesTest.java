package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.MacAddress;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.SubnetKey;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Reading a peer's lease, for its IPv4 half and its IPv6 half alike. */
class PeerEntriesTest {
    private static final String DATA = "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:02\"}";

    /**
     * One family's view of the same leases: {@code lease(n, h, ...)} is a dual-stack lease of overlay subnet n
     * (198.19.n.0/24 and 2001:2:19:n::/64) and host address h (198.18.0.h and 2001:2::h), whose BackendData and
     * BackendV6Data are both {@code data}; {@code far} is an underlay address off the L2 network.
     */
    record Fixture<A, N, R>(String name, Family<A, N, R> family, Family.Underlay<A> l2, String farHost,
                            String subnetText, String gatewayText, String onlinkRoute, String directRoute) {
        Lease lease(int n, String host, String type, String data) {
            String v4Host = host.startsWith("far") ? "198.19.200.3" : "198.18.0." + host;
            Ip6 v6Host = Ip6.parse(host.startsWith("far") ? "2001:2:ff::3" : "2001:2::" + host);
            LeaseAttrs attrs = new LeaseAttrs(Ip4.parse(v4Host), type, data, v6Host, data);
            return Lease.of(SubnetKey.of(Ip4Net.parse("198.19." + n + ".0/24"), Ip6Net.parse("2001:2:19:" + n + "::/64")),
                    attrs, 7, 1);
        }

        PeerEntries<A, N, R> read(Lease lease, boolean directRouting) {
            return PeerEntries.fromLease(family, lease, directRouting ? l2 : null);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Fixture<?, ?, ?>> families() {
        return Stream.of(
                new Fixture<>("IPv4", Family.IPV4, Family.V4.underlay(
                        UnderlayNetworks.of(List.of(Ip4Net.parse("198.18.0.0/16")))), "198.19.200.3",
                        "198.19.%d.0/24", "198.19.2.0", "198.19.2.0/24 via 198.19.2.0 dev #5 onlink",
                        "198.19.2.0/24 via 198.18.0.2 dev #2"),
                new Fixture<>("IPv6", Family.IPV6, new Family.Underlay<>("2001:2::/64",
                        ip -> Ip6Net.parse("2001:2::/64").contains(ip)), "2001:2:ff::3",
                        "2001:2:19:%d::/64", "2001:2:19:2::", "2001:2:19:2::/64 via 2001:2:19:2:: dev #5 onlink",
                        "2001:2:19:2::/64 via 2001:2::2 dev #2"));
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void tunnelledPeerNeedsNeighbourFdbAndOnlinkRoute(Fixture<A, N, R> f) {
        PeerEntries<A, N, R> p = f.read(f.lease(2, "2", "vxlan", DATA), false);
        assertFalse(p.direct());
        assertEquals(MacAddress.parse("02:00:00:00:00:02"), p.vtepMac());
        assertEquals(f.gatewayText(), f.family().format(p.gateway()));
        assertEquals(f.onlinkRoute(), f.family().describe(p.route(5, 2)));
        assertEquals(f.family().onlinkVia(p.subnet(), p.gateway(), 5), p.route(5, 2));
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void directRoutingAppliesOnlyToPeersOnTheSameL2(Fixture<A, N, R> f) {
        PeerEntries<A, N, R> near = f.read(f.lease(2, "2", "vxlan", DATA), true);
        assertTrue(near.direct());
        assertEquals(f.directRoute(), f.family().describe(near.route(5, 2)));
        PeerEntries<A, N, R> far = f.read(f.lease(3, "far", "vxlan", DATA), true);
        assertFalse(far.direct());
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void otherBackendTypesAndBadBackendDataAreUnusableAndNameTheSubnet(Fixture<A, N, R> f) {
        var e1 = assertThrows(PeerEntries.UnusableLeaseException.class,
                () -> f.read(f.lease(4, "4", "udp", null), false));
        String subnet4 = String.format(f.subnetText(), 4);
        assertTrue(e1.getMessage().contains(subnet4) && e1.getMessage().contains("udp"), e1.getMessage());
        var e2 = assertThrows(PeerEntries.UnusableLeaseException.class,
                () -> f.read(f.lease(5, "5", "vxlan", "{\"VNI\":1}"), false));
        String subnet5 = String.format(f.subnetText(), 5);
        assertTrue(e2.getMessage().contains(subnet5) && e2.getMessage().contains("VtepMAC"), e2.getMessage());
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void twoLeasesOfOneHostShareTheirVtep(Fixture<A, N, R> f) {
        PeerEntries<A, N, R> a = f.read(f.lease(2, "2", "vxlan", DATA), false);
        PeerEntries<A, N, R> b = f.read(f.lease(9, "2", "vxlan", DATA), false);
        PeerEntries<A, N, R> c = f.read(f.lease(9, "3", "vxlan", DATA), false);
        assertTrue(a.sameVtep(b));
        assertFalse(a.sameVtep(c));
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void aLeaseWithoutTheFamilysHalfIsUnusable(Fixture<A, N, R> f) {
        Lease v4Only = new Lease(Ip4Net.parse("198.19.6.0/24"), new LeaseAttrs(Ip4.parse("198.18.0.6"), "vxlan", DATA),
                7, 1);
        Lease v6Only = Lease.of(SubnetKey.of(null, Ip6Net.parse("2001:2:19:6::/64")),
                new LeaseAttrs(0, "vxlan", null, Ip6.parse("2001:2::6"), DATA), 7, 1);
        Lease without = f.family() == Family.IPV4 ? v6Only : v4Only;
        var e = assertThrows(PeerEntries.UnusableLeaseException.class, () -> f.read(without, false));
        assertTrue(e.getMessage().contains("has no " + f.family().prefix() + "subnet"), e.getMessage());
    }
}
