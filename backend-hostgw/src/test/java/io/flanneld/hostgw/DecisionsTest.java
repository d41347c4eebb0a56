package io.flanneld.hostgw;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.Route;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The backend's decisions without a kernel: what a lease asks for, what start() removes, what repair() puts back. */
class DecisionsTest {
    private static final int ETH0 = 2;
    private static final int CNI0 = 5;
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final Ip4Net LOCAL = Ip4Net.parse("198.19.1.0/24");
    private static final UnderlayNetworks L2 = UnderlayNetworks.of(List.of(Ip4Net.parse("198.18.0.0/16")));

    private static Lease lease(String subnet, String publicIp, String type) {
        return new Lease(Ip4Net.parse(subnet), new LeaseAttrs(Ip4.parse(publicIp), type, null), 1, 1);
    }

    private static PeerRoute peer(String subnet, String publicIp) {
        return new PeerRoute(Ip4Net.parse(subnet), Ip4.parse(publicIp));
    }

    /** A route as `ip route add` would make it: main table, protocol boot. */
    private static Route route(String dst, String via, int dev) {
        OptionalInt gateway = via == null ? OptionalInt.empty() : OptionalInt.of(Ip4.parse(via));
        return new Route(Ip4Net.parse(dst), gateway, dev, false, Route.TABLE_MAIN, Route.PROTOCOL_BOOT,
                via == null ? Route.SCOPE_LINK : Route.SCOPE_UNIVERSE, 0);
    }

    @Test
    void aHostGwLeaseOnThisL2NetworkIsRoutedViaItsPublicIp() {
        Decisions.ForLease d = Decisions.forLease(lease("198.19.2.0/24", "198.18.0.2", "host-gw"), L2);
        assertEquals(new Decisions.Routed(peer("198.19.2.0/24", "198.18.0.2")), d);
        assertEquals(route("198.19.2.0/24", "198.18.0.2", ETH0), peer("198.19.2.0/24", "198.18.0.2").route(ETH0));
        assertEquals("198.19.2.0/24 via 198.18.0.2", peer("198.19.2.0/24", "198.18.0.2").toString());
    }

    @Test
    void leasesOfOtherBackendsAreNamedByTheirBackend() {
        assertEquals(new Decisions.OtherBackend("vxlan"),
                Decisions.forLease(lease("198.19.2.0/24", "198.18.0.2", "vxlan"), L2));
        // flannel's udp backend writes no BackendType at all.
        assertEquals(new Decisions.OtherBackend("udp"), Decisions.forLease(lease("198.19.2.0/24", "198.18.0.2", ""), L2));
    }

    @Test
    void aPeerOffThisL2NetworkIsRefusedWithTheNetworksItMissed() {
        Decisions.ForLease d = Decisions.forLease(lease("198.19.50.0/24", "198.19.200.1", "host-gw"), L2);
        assertEquals(new Decisions.OffLink(peer("198.19.50.0/24", "198.19.200.1"), L2), d);
        assertEquals(new Decisions.OffLink(peer("198.19.2.0/24", "198.18.0.2"), UnderlayNetworks.of(List.of())),
                Decisions.forLease(lease("198.19.2.0/24", "198.18.0.2", "host-gw"), UnderlayNetworks.of(List.of())),
                "an interface without an IPv4 network reaches no one");
    }

    @Test
    void staleRoutesAreGatewayRoutesThroughTheInterfaceIntoTheNetworkThatNoLeaseAsksFor() {
        List<PeerRoute> wanted = List.of(peer("198.19.2.0/24", "198.18.0.2"), peer("198.19.3.0/24", "198.18.0.3"));
        Route goneHost = route("198.19.9.0/24", "198.18.0.9", ETH0);
        Route movedHost = route("198.19.3.0/24", "198.18.0.33", ETH0);
        Route otherMetric = route("198.19.2.0/24", "198.18.0.2", ETH0).withMetric(100);
        List<Route> kernel = List.of(
                route("198.19.2.0/24", "198.18.0.2", ETH0),
                route("198.19.3.0/24", "198.18.0.3", ETH0),
                goneHost, movedHost, otherMetric,
                route("198.18.200.0/24", "198.18.0.9", ETH0),               // outside the Network
                route("198.19.0.0/16", "198.18.0.254", ETH0),               // the whole Network: an operator's router
                route("198.19.1.0/24", "198.18.0.9", ETH0),                 // the local subnet
                route("198.19.1.0/24", null, CNI0).withProtocol(Route.PROTOCOL_KERNEL),
                route("198.19.8.0/24", null, ETH0),                         // a device route, no gateway
                route("198.19.7.0/24", "198.19.7.0", 3),                    // another device (flannel.1)
                route("198.19.6.0/24", "198.18.0.6", ETH0).withProtocol(Route.PROTOCOL_KERNEL),
                route("198.19.5.0/24", "198.18.0.5", ETH0).withTable(100)); // another table
        assertEquals(List.of(goneHost, movedHost, otherMetric), Decisions.stale(kernel, wanted, ETH0, NETWORK, LOCAL));
        assertEquals(List.of(), Decisions.stale(List.of(route("198.19.2.0/24", "198.18.0.2", ETH0)), wanted, ETH0, NETWORK, LOCAL));
    }

    @Test
    void missingRoutesAreThoseAbsentOrWithAnotherGatewayOrDevice() {
        PeerRoute two = peer("198.19.2.0/24", "198.18.0.2");
        PeerRoute three = peer("198.19.3.0/24", "198.18.0.3");
        PeerRoute four = peer("198.19.4.0/24", "198.18.0.4");
        List<Route> kernel = List.of(
                route("198.19.2.0/24", "198.18.0.2", ETH0).withProtocol(Route.PROTOCOL_STATIC), // protocol does not matter
                route("198.19.3.0/24", "198.18.0.99", ETH0),
                route("198.19.4.0/24", "198.19.4.0", 3));
        assertEquals(List.of(three, four), Decisions.missing(kernel, List.of(two, three, four), ETH0));
        assertEquals(List.of(two), Decisions.missing(List.of(), List.of(two), ETH0));
    }
}
