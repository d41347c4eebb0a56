package io.flanneld.hostgw;

import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.Route;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;

/**
 * The backend's decisions, apart from the kernel: what a lease asks for, which routes in the kernel no lease backs,
 * which peers' routes are missing. Pure functions over value types; the edge ({@link RouteProgrammer}) reads and
 * writes the kernel.
 */
final class Decisions {
    private Decisions() {
    }

    /** What to do with one peer lease. */
    sealed interface ForLease permits Routed, OtherBackend, OffLink {
    }

    /** A host-gw peer on this host's L2 network: route its subnet via its PublicIP. */
    record Routed(PeerRoute route) implements ForLease {
    }

    /** A peer running another backend (its lease's BackendType; empty means udp): nothing host-gw can do with it. */
    record OtherBackend(String backend) implements ForLease {
    }

    /**
     * A host-gw peer whose PublicIP lies in none of the external interface's networks: the kernel could only reach it
     * through a router, which host-gw's "via PublicIP" route cannot use.
     */
    record OffLink(PeerRoute wanted, UnderlayNetworks onLink) implements ForLease {
    }

    static ForLease forLease(Lease lease, UnderlayNetworks onLink) {
        String backend = lease.attrs().backend();
        if (!BackendConfig.HOST_GW.equals(backend)) {
            return new OtherBackend(backend);
        }
        PeerRoute route = new PeerRoute(lease.subnet(), lease.attrs().publicIp());
        return onLink.onSameSubnet(route.publicIp()) ? new Routed(route) : new OffLink(route, onLink);
    }

    /**
     * A route's identity: destination, gateway, device and metric (protocol, scope and flags do not matter). Two
     * routes with one key are the same route to the kernel's lookup.
     */
    record RouteKey(Ip4Net destination, OptionalInt gateway, int outputIndex, int metric) {
        static RouteKey of(Route r) {
            return new RouteKey(r.destination(), r.gateway(), r.outputIndex(), r.metric());
        }
    }

    /**
     * The routes start() removes: main-table gateway routes through the external interface {@code ifindex} to a
     * subnet strictly inside {@code network}, not the local subnet, that are not one of {@code wanted}. Everything
     * else is left alone: routes through other devices (flannel.1's, a bridge's), routes outside the Network, the
     * kernel's own routes, device routes without a gateway, and a route for the whole Network (an operator's way
     * to a router).
     */
    static List<Route> stale(List<Route> kernel, Collection<PeerRoute> wanted, int ifindex, Ip4Net network, Ip4Net local) {
        Set<RouteKey> want = new HashSet<>();
        for (PeerRoute p : wanted) {
            want.add(RouteKey.of(p.route(ifindex)));
        }
        List<Route> out = new ArrayList<>();
        for (Route r : kernel) {
            if (r.outputIndex() != ifindex || r.gateway().isEmpty() || r.protocol() == Route.PROTOCOL_KERNEL
                    || r.table() != Route.TABLE_MAIN) {
                continue;
            }
            Ip4Net dst = r.destination();
            if (dst.prefixLength() <= network.prefixLength() || !network.contains(dst) || dst.equals(local)) {
                continue;
            }
            if (!want.contains(RouteKey.of(r))) {
                out.add(r);
            }
        }
        return out;
    }

    /** The peers whose route is not in {@code kernel} exactly as it should be (gone, or another gateway or device). */
    static List<PeerRoute> missing(List<Route> kernel, Collection<PeerRoute> peers, int ifindex) {
        Set<RouteKey> present = new HashSet<>();
        for (Route r : kernel) {
            present.add(RouteKey.of(r));
        }
        List<PeerRoute> out = new ArrayList<>();
        for (PeerRoute p : peers) {
            if (!present.contains(RouteKey.of(p.route(ifindex)))) {
                out.add(p);
            }
        }
        return out;
    }
}
