package io.flanneld.hostgw;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.SubnetKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The backend's decisions without a kernel: what a lease asks for, what start() removes, what repair() puts back; every
 * case for IPv4 and for IPv6.
 */
class DecisionsTest {
    private static final int ETH0 = 2;
    private static final int CNI0 = 5;

    /** Routes made by hand, as `ip route add` makes them: main table, protocol boot. */
    interface Routes<A, N, R> {
        /** "dst via gateway dev dev", or a device route when {@code via} is null. */
        R route(N dst, A via, int dev);

        R withProtocol(R r, int protocol);

        R withTable(R r, int table);

        R withMetric(R r, int metric);
    }

    /**
     * One family's addresses for the same picture: overlay subnet {@code n} (198.19.n.0/24, 2001:2:19:n::/64) in the
     * Network (198.19.0.0/16, 2001:2:19::/48), host {@code h} on eth0's network (198.18.0.h, 2001:2::h), a network
     * outside the Network and a host off eth0's network.
     *
     * @param metricCounts whether a route's metric is part of its identity (IPv4; IPv6 routes compare without it)
     */
    record Fixture<A, N, R>(String name, Family<A, N, R> family, Function<Integer, N> subnet, Function<Integer, A> host,
                            N network, N outside, A offL2, Family.OnLink<A> l2, Family.OnLink<A> none,
                            Function<N, A> firstAddress, Routes<A, N, R> routes,
                            Leases<A, N> leases, Lease withoutThisFamily, boolean metricCounts, String peerText) {
        N local() {
            return subnet.apply(1);
        }

        PeerRoute<A, N, R> peer(int n, int h) {
            return new PeerRoute<>(family, subnet.apply(n), host.apply(h));
        }

        R route(int n, int h, int dev) {
            return routes.route(subnet.apply(n), host.apply(h), dev);
        }

        Lease lease(int n, A publicIp, String type) {
            return leases.lease(subnet.apply(n), publicIp, type);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** A lease of one subnet of the family, with that public address and BackendType. */
    interface Leases<A, N> {
        Lease lease(N subnet, A publicIp, String type);
    }

    static Stream<Fixture<?, ?, ?>> families() {
        return Stream.of(
                new Fixture<Integer, Ip4Net, Route>("IPv4", Family.IPV4, n -> Ip4Net.parse("198.19." + n + ".0/24"),
                        h -> Ip4.parse("198.18.0." + h), Ip4Net.parse("198.19.0.0/16"), Ip4Net.parse("198.18.200.0/24"),
                        Ip4.parse("198.19.200.1"), Family.V4.onLink(List.of(Ip4Net.parse("198.18.0.0/16"))),
                        Family.V4.onLink(List.of()), Ip4Net::address, new Routes<>() {
                            public Route route(Ip4Net dst, Integer via, int dev) {
                                return new Route(dst, via == null ? OptionalInt.empty() : OptionalInt.of(via), dev, false,
                                        Route.TABLE_MAIN, Route.PROTOCOL_BOOT,
                                        via == null ? Route.SCOPE_LINK : Route.SCOPE_UNIVERSE, 0);
                            }

                            public Route withProtocol(Route r, int protocol) {
                                return r.withProtocol(protocol);
                            }

                            public Route withTable(Route r, int table) {
                                return r.withTable(table);
                            }

                            public Route withMetric(Route r, int metric) {
                                return r.withMetric(metric);
                            }
                        }, (subnet, publicIp, type) -> new Lease(subnet,
                                new LeaseAttrs(publicIp, type, null), 1, 1),
                        Lease.of(SubnetKey.of(null, Ip6Net.parse("2001:2:19:6::/64")),
                                new LeaseAttrs(0, "host-gw", null, Ip6.parse("2001:2::6"), null), 1, 1),
                        true, "198.19.2.0/24 via 198.18.0.2"),
                new Fixture<Ip6, Ip6Net, Route6>("IPv6", Family.IPV6, n -> Ip6Net.parse("2001:2:19:" + n + "::/64"),
                        h -> Ip6.parse("2001:2::" + h), Ip6Net.parse("2001:2:19::/48"),
                        Ip6Net.parse("2001:2:18:200::/64"), Ip6.parse("2001:2:ff::1"),
                        Family.V6.onLink(List.of(Ip6Net.parse("2001:2::/64"))), Family.V6.onLink(List.of()),
                        Ip6Net::address, new Routes<>() {
                            public Route6 route(Ip6Net dst, Ip6 via, int dev) {
                                return new Route6(dst, Optional.ofNullable(via), dev, false, Route.TABLE_MAIN,
                                        Route.PROTOCOL_BOOT, via == null ? Route.SCOPE_LINK : Route.SCOPE_UNIVERSE, 0);
                            }

                            public Route6 withProtocol(Route6 r, int protocol) {
                                return r.withProtocol(protocol);
                            }

                            public Route6 withTable(Route6 r, int table) {
                                return r.withTable(table);
                            }

                            public Route6 withMetric(Route6 r, int metric) {
                                return r.withMetric(metric);
                            }
                        }, (subnet, publicIp, type) -> Lease.of(SubnetKey.of(null, subnet),
                                new LeaseAttrs(0, type, null, publicIp, null), 1, 1),
                        Lease.of(SubnetKey.of(Ip4Net.parse("198.19.6.0/24"),
                                Ip6Net.parse("2001:2:19:6::/64")), new LeaseAttrs(Ip4.parse("198.18.0.6"), "host-gw", null),
                                1, 1),
                        false, "2001:2:19:2::/64 via 2001:2::2"));
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void aHostGwLeaseOnThisL2NetworkIsRoutedViaItsPublicIp(Fixture<A, N, R> f) {
        Decisions.ForLease<A, N, R> d = Decisions.forLease(f.family(), f.lease(2, f.host().apply(2), "host-gw"), f.l2());
        assertEquals(new Decisions.Routed<>(f.peer(2, 2)), d);
        assertEquals(f.route(2, 2, ETH0), f.peer(2, 2).route(ETH0));
        assertEquals(f.peerText(), f.peer(2, 2).toString());
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void leasesOfOtherBackendsAreNamedByTheirBackend(Fixture<A, N, R> f) {
        assertEquals(new Decisions.OtherBackend<>("vxlan"),
                Decisions.forLease(f.family(), f.lease(2, f.host().apply(2), "vxlan"), f.l2()));
        // flannel's udp backend writes no BackendType at all.
        assertEquals(new Decisions.OtherBackend<>("udp"),
                Decisions.forLease(f.family(), f.lease(2, f.host().apply(2), ""), f.l2()));
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void aPeerOffThisL2NetworkIsRefusedWithTheNetworksItMissed(Fixture<A, N, R> f) {
        Decisions.ForLease<A, N, R> d = Decisions.forLease(f.family(), f.lease(50, f.offL2(), "host-gw"), f.l2());
        assertEquals(new Decisions.OffLink<>(new PeerRoute<>(f.family(), f.subnet().apply(50), f.offL2()), f.l2()), d);
        assertEquals(new Decisions.OffLink<>(f.peer(2, 2), f.none()),
                Decisions.forLease(f.family(), f.lease(2, f.host().apply(2), "host-gw"), f.none()),
                "an interface without a network of the family reaches no one");
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void aLeaseWithoutTheFamilysHalfAsksForNothing(Fixture<A, N, R> f) {
        assertEquals(new Decisions.NoAddress<>(), Decisions.forLease(f.family(), f.withoutThisFamily(), f.l2()));
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void staleRoutesAreGatewayRoutesThroughTheInterfaceIntoTheNetworkThatNoLeaseAsksFor(Fixture<A, N, R> f) {
        Routes<A, N, R> r = f.routes();
        List<PeerRoute<A, N, R>> wanted = List.of(f.peer(2, 2), f.peer(3, 3));
        R goneHost = f.route(9, 9, ETH0);
        R movedHost = f.route(3, 33, ETH0);
        R otherMetric = r.withMetric(f.route(2, 2, ETH0), 100);
        List<R> kernel = List.of(
                f.route(2, 2, ETH0),
                f.route(3, 3, ETH0),
                goneHost, movedHost, otherMetric,
                r.route(f.outside(), f.host().apply(9), ETH0),                 // outside the Network
                r.route(f.network(), f.host().apply(254), ETH0),               // the whole Network: an operator's router
                f.route(1, 9, ETH0),                                           // the local subnet
                r.withProtocol(r.route(f.local(), null, CNI0), Route.PROTOCOL_KERNEL),
                r.route(f.subnet().apply(8), null, ETH0),                      // a device route, no gateway
                r.route(f.subnet().apply(7), f.firstAddress().apply(f.subnet().apply(7)), 3), // another device (flannel.1)
                r.withProtocol(f.route(6, 6, ETH0), Route.PROTOCOL_KERNEL),
                r.withTable(f.route(5, 5, ETH0), 100));                        // another table
        List<R> stale = new ArrayList<>(List.of(goneHost, movedHost));
        if (f.metricCounts()) {
            stale.add(otherMetric);
        }
        assertEquals(stale, Decisions.stale(f.family(), kernel, wanted, ETH0, f.network(), f.local()));
        assertEquals(List.of(), Decisions.stale(f.family(), List.of(f.route(2, 2, ETH0)), wanted, ETH0, f.network(),
                f.local()));
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void missingRoutesAreThoseAbsentOrWithAnotherGatewayOrDevice(Fixture<A, N, R> f) {
        Routes<A, N, R> r = f.routes();
        PeerRoute<A, N, R> two = f.peer(2, 2);
        PeerRoute<A, N, R> three = f.peer(3, 3);
        PeerRoute<A, N, R> four = f.peer(4, 4);
        List<R> kernel = List.of(
                r.withProtocol(f.route(2, 2, ETH0), Route.PROTOCOL_STATIC), // protocol does not matter
                f.route(3, 99, ETH0),
                r.route(f.subnet().apply(4), f.firstAddress().apply(f.subnet().apply(4)), 3));
        assertEquals(List.of(three, four), Decisions.missing(f.family(), kernel, List.of(two, three, four), ETH0));
        assertEquals(List.of(two), Decisions.missing(f.family(), List.of(), List.of(two), ETH0));
    }
}
