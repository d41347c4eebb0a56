package io.flanneld.vxlan;

import io.flanneld.net.MacAddress;
import io.flanneld.net.Route;
import io.flanneld.net.Rtnetlink;
import io.flanneld.vxlan.Family.Fdb;
import io.flanneld.vxlan.Family.Neigh;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * What the kernel holds on one VXLAN device against what the peers' leases ask of it, computed without touching the
 * kernel: for each wanted peer the entries that are missing or different ({@link #missing}), and every entry no
 * wanted peer accounts for ({@link #stale}). {@link PeerProgrammer#repair()} puts back the missing ones,
 * {@link PeerProgrammer#reconcile} deletes the stale ones, and {@link VxlanInspection} reports both without changing
 * anything; all three read the kernel the same way ({@link Have#read}) and decide here. One class for both families:
 * {@link Family} supplies the address, network and route types.
 */
final class VxlanPeerDiff<A, N, R> {
    private final Family<A, N, R> family;
    private final int vtepIndex;
    private final int underlayIndex;
    private final Have<A, R> have;
    private final Map<A, MacAddress> neighbours = new HashMap<>();
    private final Set<FdbKey<A>> fdb = new HashSet<>();
    private final Set<RouteKey<A, N>> routes = new HashSet<>();

    /**
     * What the kernel holds, read once: the device's neighbour and FDB entries and the main table's routes.
     *
     * @param neighbours the VXLAN device's neighbour entries (ARP or NDP) that have a MAC
     * @param fdb        the VXLAN device's own FDB entries with a destination of the family
     * @param routes     the main table's unicast routes of the family, of every device
     */
    record Have<A, R>(List<Neigh<A>> neighbours, List<Fdb<A>> fdb, List<R> routes) {
        Have {
            neighbours = List.copyOf(neighbours);
            fdb = List.copyOf(fdb);
            routes = List.copyOf(routes);
        }

        /** One dump each of the device's neighbours, its FDB and the routes. */
        static <A, R> Have<A, R> read(Family<A, ?, R> family, Rtnetlink nl, int vtepIndex) {
            return new Have<>(family.neighbours(nl, vtepIndex), family.fdb(nl, vtepIndex), family.routes(nl));
        }
    }

    /**
     * Entries no wanted peer accounts for, in the order {@link PeerProgrammer#reconcile} deletes them: neighbours,
     * FDB entries, routes.
     */
    record Stale<A, R>(List<Neigh<A>> neighbours, List<Fdb<A>> fdb, List<R> routes) {
        Stale {
            neighbours = List.copyOf(neighbours);
            fdb = List.copyOf(fdb);
            routes = List.copyOf(routes);
        }

        boolean isEmpty() {
            return neighbours.isEmpty() && fdb.isEmpty() && routes.isEmpty();
        }
    }

    VxlanPeerDiff(Family<A, N, R> family, int vtepIndex, int underlayIndex, Have<A, R> have) {
        this.family = family;
        this.vtepIndex = vtepIndex;
        this.underlayIndex = underlayIndex;
        this.have = have;
        for (Neigh<A> n : have.neighbours()) {
            neighbours.put(n.address(), n.mac());
        }
        for (Fdb<A> e : have.fdb()) {
            fdb.add(new FdbKey<>(e.mac(), e.destination()));
        }
        for (R r : have.routes()) {
            routes.add(routeKey(r));
        }
    }

    /**
     * The peer's entries that are missing or differ from its lease (a neighbour entry with another MAC, an FDB entry
     * to another destination), as labels in programming order: {@code arp} (IPv4) or {@code ndp} (IPv6), {@code fdb},
     * {@code route}. A directly routed peer needs only its route.
     */
    List<String> missing(PeerEntries<A, N, R> p) {
        List<String> missing = new ArrayList<>(3);
        if (!p.direct()) {
            if (!p.vtepMac().equals(neighbours.get(p.gateway()))) {
                missing.add(family.neighbourLabel());
            }
            if (!fdb.contains(new FdbKey<>(p.vtepMac(), p.publicIp()))) {
                missing.add("fdb");
            }
        }
        if (!routes.contains(routeKey(p.route(vtepIndex, underlayIndex)))) {
            missing.add("route");
        }
        return missing;
    }

    /** The MAC the device's neighbour entry for {@code address} holds, if it has one. */
    Optional<MacAddress> neighbourEntry(A address) {
        return Optional.ofNullable(neighbours.get(address));
    }

    /**
     * Every neighbour entry, FDB entry and route on the VXLAN device that none of {@code want} accounts for, and with
     * direct routing every gateway route into {@code network} through the underlay that none accounts for (never
     * the local subnet's). Routes the kernel made itself (protocol kernel) are never stale.
     */
    Stale<A, R> stale(Collection<PeerEntries<A, N, R>> want, N localSubnet, N network, boolean directRouting) {
        Set<NeighKey<A>> wantNeigh = new HashSet<>();
        Set<FdbKey<A>> wantFdb = new HashSet<>();
        Set<RouteKey<A, N>> wantRoutes = new HashSet<>();
        for (PeerEntries<A, N, R> p : want) {
            if (!p.direct()) {
                wantNeigh.add(new NeighKey<>(p.gateway(), p.vtepMac()));
                wantFdb.add(new FdbKey<>(p.vtepMac(), p.publicIp()));
            }
            wantRoutes.add(routeKey(p.route(vtepIndex, underlayIndex)));
        }
        List<Neigh<A>> staleNeighbours = have.neighbours().stream()
                .filter(n -> !wantNeigh.contains(new NeighKey<>(n.address(), n.mac()))).toList();
        List<Fdb<A>> staleFdb = have.fdb().stream()
                .filter(e -> !wantFdb.contains(new FdbKey<>(e.mac(), e.destination()))).toList();
        List<R> staleRoutes = new ArrayList<>();
        for (R r : have.routes()) {
            int output = family.outputIndex(r);
            N destination = family.destination(r);
            boolean ours = output == vtepIndex && family.protocol(r) != Route.PROTOCOL_KERNEL;
            boolean direct = directRouting && output == underlayIndex && family.gateway(r).isPresent()
                    && !destination.equals(localSubnet) && family.contains(network, destination);
            if ((ours || direct) && !wantRoutes.contains(routeKey(r))) {
                staleRoutes.add(r);
            }
        }
        return new Stale<>(staleNeighbours, staleFdb, staleRoutes);
    }

    /** A route's identity for comparing: destination, gateway and device (protocol and flags do not matter). */
    private RouteKey<A, N> routeKey(R r) {
        return new RouteKey<>(family.destination(r), family.gateway(r), family.outputIndex(r));
    }

    private record NeighKey<A>(A address, MacAddress mac) {
    }

    private record FdbKey<A>(MacAddress mac, A destination) {
    }

    private record RouteKey<A, N>(N destination, Optional<A> gateway, int outputIndex) {
    }
}
