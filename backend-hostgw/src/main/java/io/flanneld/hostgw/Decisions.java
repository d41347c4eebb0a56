package io.flanneld.hostgw;

import io.flanneld.net.Route;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Lease;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The backend's decisions, apart from the kernel: what a lease asks for, which routes in the kernel no lease backs,
 * which peers' routes are missing. Pure functions over value types, one set for both address families ({@link
 * Family} supplies the types); the edge ({@link RouteProgrammer}) reads and writes the kernel.
 */
final class Decisions {
    private Decisions() {
    }

    /** What to do with one peer lease's half of one family. */
    sealed interface ForLease<A, N, R> permits Routed, OtherBackend, OffLink, NoAddress {
    }

    /** A host-gw peer on this host's L2 network: route its subnet via its public address. */
    record Routed<A, N, R>(PeerRoute<A, N, R> route) implements ForLease<A, N, R> {
    }

    /** A peer running another backend (its lease's BackendType; empty means udp): nothing host-gw can do with it. */
    record OtherBackend<A, N, R>(String backend) implements ForLease<A, N, R> {
    }

    /**
     * A host-gw peer whose public address lies in none of the external interface's networks of the family: the kernel
     * could only reach it through a router, which host-gw's "via PublicIP" route cannot use.
     */
    record OffLink<A, N, R>(PeerRoute<A, N, R> wanted, Family.OnLink<A> onLink) implements ForLease<A, N, R> {
    }

    /** The lease has no subnet or no public address of this family (an IPv6 half without PublicIPv6). */
    record NoAddress<A, N, R>() implements ForLease<A, N, R> {
    }

    static <A, N, R> ForLease<A, N, R> forLease(Family<A, N, R> family, Lease lease, Family.OnLink<A> onLink) {
        String backend = lease.attrs().backend();
        if (!BackendConfig.HOST_GW.equals(backend)) {
            return new OtherBackend<>(backend);
        }
        N subnet = family.subnet(lease);
        A publicIp = family.publicIp(lease);
        if (subnet == null || publicIp == null) {
            return new NoAddress<>();
        }
        PeerRoute<A, N, R> route = new PeerRoute<>(family, subnet, publicIp);
        return onLink.onSameSubnet().test(publicIp) ? new Routed<>(route) : new OffLink<>(route, onLink);
    }

    /**
     * A route's identity: destination, gateway, device and (IPv4) metric; protocol, scope and flags do not matter. Two
     * routes with one key are the same route to the kernel's lookup.
     */
    private record RouteKey<A, N>(N destination, Optional<A> gateway, int outputIndex, int metric) {
        static <A, N, R> RouteKey<A, N> of(Family<A, N, R> family, R r) {
            return new RouteKey<>(family.destination(r), family.gateway(r), family.outputIndex(r),
                    family.identityMetric(r));
        }
    }

    /**
     * The routes start() removes: main-table gateway routes through the external interface {@code ifindex} to a
     * subnet strictly inside {@code network}, not the local subnet, that are not one of {@code wanted}. Everything
     * else is left alone: routes through other devices (flannel.1's, a bridge's), routes outside the Network, the
     * kernel's own routes, device routes without a gateway, and a route for the whole Network (an operator's way
     * to a router).
     */
    static <A, N, R> List<R> stale(Family<A, N, R> family, List<R> kernel, Collection<PeerRoute<A, N, R>> wanted,
                                   int ifindex, N network, N local) {
        Set<RouteKey<A, N>> want = new HashSet<>();
        for (PeerRoute<A, N, R> p : wanted) {
            want.add(RouteKey.of(family, p.route(ifindex)));
        }
        List<R> out = new ArrayList<>();
        for (R r : kernel) {
            if (family.outputIndex(r) != ifindex || family.gateway(r).isEmpty()
                    || family.protocol(r) == Route.PROTOCOL_KERNEL || family.table(r) != Route.TABLE_MAIN) {
                continue;
            }
            N dst = family.destination(r);
            if (family.prefixLength(dst) <= family.prefixLength(network) || !family.contains(network, dst)
                    || dst.equals(local)) {
                continue;
            }
            if (!want.contains(RouteKey.of(family, r))) {
                out.add(r);
            }
        }
        return out;
    }

    /** The peers whose route is not in {@code kernel} exactly as it should be (gone, or another gateway or device). */
    static <A, N, R> List<PeerRoute<A, N, R>> missing(Family<A, N, R> family, List<R> kernel,
                                                      Collection<PeerRoute<A, N, R>> peers, int ifindex) {
        Set<RouteKey<A, N>> present = new HashSet<>();
        for (R r : kernel) {
            present.add(RouteKey.of(family, r));
        }
        List<PeerRoute<A, N, R>> out = new ArrayList<>();
        for (PeerRoute<A, N, R> p : peers) {
            if (!present.contains(RouteKey.of(family, p.route(ifindex)))) {
                out.add(p);
            }
        }
        return out;
    }
}
