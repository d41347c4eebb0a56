package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.net.MacAddress;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.vxlan.Family.Fdb;
import io.flanneld.vxlan.Family.Neigh;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The comparison repair, reconcile and the doctor share, on hand-made kernel state, for IPv4 and IPv6 alike. */
class VxlanPeerDiffTest {
    private static final int VTEP = 7;
    private static final int UNDERLAY = 2;
    private static final MacAddress MAC2 = MacAddress.parse("02:00:00:00:00:02");
    private static final MacAddress MAC3 = MacAddress.parse("02:00:00:00:00:03");

    /**
     * One family's addresses for the same picture: the overlay's subnet {@code n} (198.19.n.0/24, 2001:2:19:n::/64),
     * a host's underlay address {@code h} (198.18.0.h, 2001:2::h), and the kernel's own routes.
     */
    record Fixture<A, N, R>(String name, Family<A, N, R> family, Function<Integer, N> subnet, Function<Integer, A> host,
                            N underlay, N network, KernelRoutes<A, N, R> kernel) {
        N local() {
            return subnet.apply(1);
        }

        A subnetAddress(int n) {
            return family.firstAddress(subnet.apply(n));
        }

        PeerEntries<A, N, R> peer(int n, int h, MacAddress mac, boolean direct) {
            return new PeerEntries<>(family, subnet.apply(n), host.apply(h), mac, direct);
        }

        Neigh<A> neighbour(PeerEntries<A, N, R> p) {
            return new Neigh<>(VTEP, p.gateway(), p.vtepMac(), io.flanneld.net.Neighbour.NUD_PERMANENT);
        }

        Fdb<A> fdb(PeerEntries<A, N, R> p) {
            return Fdb.permanent(VTEP, p.vtepMac(), p.publicIp());
        }

        R route(PeerEntries<A, N, R> p) {
            return p.route(VTEP, UNDERLAY);
        }

        VxlanPeerDiff<A, N, R> diff(List<Neigh<A>> n, List<Fdb<A>> f, List<R> r) {
            return new VxlanPeerDiff<>(family, VTEP, UNDERLAY, new VxlanPeerDiff.Have<>(n, f, r));
        }

        @Override
        public String toString() {
            return name;
        }
    }

    /** Routes made by hand as the kernel reports them. */
    interface KernelRoutes<A, N, R> {
        /** A device route the kernel made itself (protocol kernel). */
        R kernelDeviceRoute(N destination, int outputIndex);

        /** What the kernel reports for a route the daemon adds: the same identity, another protocol. */
        R asListed(R route);

        /** "dst via gateway", device chosen by the kernel. */
        R via(N destination, A gateway);
    }

    static Stream<Fixture<?, ?, ?>> families() {
        return Stream.of(
                new Fixture<>("IPv4", Family.IPV4, n -> Ip4Net.parse("198.19." + n + ".0/24"),
                        h -> Ip4.parse("198.18.0." + h), Ip4Net.parse("198.18.0.0/16"), Ip4Net.parse("198.19.0.0/16"),
                        new KernelRoutes<Integer, Ip4Net, Route>() {
                            public Route kernelDeviceRoute(Ip4Net destination, int outputIndex) {
                                return new Route(destination, OptionalInt.empty(), outputIndex, false, Route.TABLE_MAIN,
                                        Route.PROTOCOL_KERNEL, Route.SCOPE_LINK, 0);
                            }

                            public Route asListed(Route route) {
                                return route.withProtocol(Route.PROTOCOL_STATIC);
                            }

                            public Route via(Ip4Net destination, Integer gateway) {
                                return Route.via(destination, gateway);
                            }
                        }),
                new Fixture<>("IPv6", Family.IPV6, n -> Ip6Net.parse("2001:2:19:" + n + "::/64"),
                        h -> Ip6.parse("2001:2::" + h), Ip6Net.parse("2001:2::/64"), Ip6Net.parse("2001:2:19::/48"),
                        new KernelRoutes<Ip6, Ip6Net, Route6>() {
                            public Route6 kernelDeviceRoute(Ip6Net destination, int outputIndex) {
                                return Route6.throughDevice(destination, outputIndex).withProtocol(Route.PROTOCOL_KERNEL)
                                        .withMetric(Route6.DEFAULT_METRIC);
                            }

                            public Route6 asListed(Route6 route) {
                                return route.withProtocol(Route.PROTOCOL_STATIC).withMetric(Route6.DEFAULT_METRIC);
                            }

                            public Route6 via(Ip6Net destination, Ip6 gateway) {
                                return Route6.via(destination, gateway);
                            }
                        }));
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void nothingMissingAndNothingStaleWhenTheKernelMatchesTheLeases(Fixture<A, N, R> f) {
        PeerEntries<A, N, R> p2 = f.peer(2, 2, MAC2, false);
        PeerEntries<A, N, R> p3 = f.peer(3, 3, MAC3, false);
        R connected = f.kernel().kernelDeviceRoute(f.underlay(), UNDERLAY);
        VxlanPeerDiff<A, N, R> d = f.diff(List.of(f.neighbour(p2), f.neighbour(p3)), List.of(f.fdb(p2), f.fdb(p3)),
                List.of(f.kernel().asListed(f.route(p2)), f.kernel().asListed(f.route(p3)), connected));
        assertEquals(List.of(), d.missing(p2));
        assertEquals(List.of(), d.missing(p3));
        assertTrue(d.stale(List.of(p2, p3), f.local(), f.network(), false).isEmpty());
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void eachMissingEntryIsNamedInProgrammingOrder(Fixture<A, N, R> f) {
        PeerEntries<A, N, R> p2 = f.peer(2, 2, MAC2, false);
        PeerEntries<A, N, R> p3 = f.peer(3, 3, MAC3, false);
        String neighbour = f.family().neighbourLabel();
        VxlanPeerDiff<A, N, R> d = f.diff(List.of(f.neighbour(p3)), List.of(f.fdb(p2)), List.of(f.route(p3)));
        assertEquals(List.of(neighbour, "route"), d.missing(p2));
        assertEquals(List.of("fdb"), d.missing(p3));
        assertEquals(List.of(neighbour, "fdb", "route"), f.diff(List.of(), List.of(), List.of()).missing(p2));
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void aNeighbourEntryWithAnotherMacIsMissingAndStale(Fixture<A, N, R> f) {
        PeerEntries<A, N, R> p2 = f.peer(2, 2, MAC2, false);
        Neigh<A> wrong = new Neigh<>(VTEP, p2.gateway(), MAC3, io.flanneld.net.Neighbour.NUD_PERMANENT);
        VxlanPeerDiff<A, N, R> d = f.diff(List.of(wrong), List.of(f.fdb(p2)), List.of(f.route(p2)));
        assertEquals(List.of(f.family().neighbourLabel()), d.missing(p2));
        assertEquals(Optional.of(MAC3), d.neighbourEntry(p2.gateway()));
        assertEquals(List.of(wrong), d.stale(List.of(p2), f.local(), f.network(), false).neighbours());
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void anFdbEntryToAnotherHostIsMissingAndStale(Fixture<A, N, R> f) {
        PeerEntries<A, N, R> p2 = f.peer(2, 2, MAC2, false);
        Fdb<A> moved = Fdb.permanent(VTEP, MAC2, f.host().apply(9));
        VxlanPeerDiff<A, N, R> d = f.diff(List.of(f.neighbour(p2)), List.of(moved), List.of(f.route(p2)));
        assertEquals(List.of("fdb"), d.missing(p2));
        assertEquals(List.of(moved), d.stale(List.of(p2), f.local(), f.network(), false).fdb());
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void aVanishedPeersEntriesAreAllStale(Fixture<A, N, R> f) {
        PeerEntries<A, N, R> p2 = f.peer(2, 2, MAC2, false);
        PeerEntries<A, N, R> p3 = f.peer(3, 3, MAC3, false);
        VxlanPeerDiff<A, N, R> d = f.diff(List.of(f.neighbour(p2), f.neighbour(p3)), List.of(f.fdb(p2), f.fdb(p3)),
                List.of(f.route(p2), f.route(p3)));
        VxlanPeerDiff.Stale<A, R> stale = d.stale(List.of(p2), f.local(), f.network(), false);
        assertEquals(List.of(f.neighbour(p3)), stale.neighbours());
        assertEquals(List.of(f.fdb(p3)), stale.fdb());
        assertEquals(List.of(f.route(p3)), stale.routes());
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void onlyTheDevicesOwnNonKernelRoutesCanBeStaleWithoutDirectRouting(Fixture<A, N, R> f) {
        R kernelOnDevice = f.kernel().kernelDeviceRoute(f.subnet().apply(9), VTEP);
        R elsewhere = f.family().onlinkVia(f.subnet().apply(8), f.subnetAddress(8), 3);
        R viaUnderlay = f.kernel().via(f.subnet().apply(4), f.host().apply(4));
        R viaUnderlayDev = f.family().viaDevice(f.subnet().apply(4), f.host().apply(4), UNDERLAY);
        VxlanPeerDiff<A, N, R> d = f.diff(List.of(), List.of(), List.of(kernelOnDevice, elsewhere, viaUnderlay,
                viaUnderlayDev));
        assertTrue(d.stale(List.of(), f.local(), f.network(), false).isEmpty());
        assertEquals(List.of(viaUnderlayDev), d.stale(List.of(), f.local(), f.network(), true).routes(),
                "with direct routing, a gateway route into the Network through the underlay is the daemon's");
    }

    @ParameterizedTest
    @MethodSource("families")
    <A, N, R> void aDirectlyRoutedPeerNeedsOnlyItsRouteAndTheLocalSubnetsRouteIsNeverStale(Fixture<A, N, R> f) {
        PeerEntries<A, N, R> near = f.peer(4, 4, MAC2, true);
        R own = f.family().viaDevice(f.local(), f.host().apply(1), UNDERLAY);
        VxlanPeerDiff<A, N, R> d = f.diff(List.of(), List.of(), List.of(near.route(VTEP, UNDERLAY), own));
        assertEquals(List.of(), d.missing(near));
        assertTrue(d.stale(List.of(near), f.local(), f.network(), true).isEmpty());
        assertEquals(List.of("route"), f.diff(List.of(), List.of(), List.of()).missing(near));
    }
}
