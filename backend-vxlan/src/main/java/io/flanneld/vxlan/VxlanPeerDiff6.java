package io.flanneld.vxlan;

import io.flanneld.net.FdbEntry6;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Neighbour6;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@link VxlanPeerDiff} for the IPv6 device flannel-v6.&lt;VNI&gt;: its NDP and FDB entries (IPv6 remotes) and the main
 * table's IPv6 routes against what the peers' IPv6 lease halves ask ({@link PeerEntries6}). Labels: {@code ndp},
 * {@code fdb}, {@code route}.
 */
final class VxlanPeerDiff6 {
    private final int vtepIndex;
    private final int underlayIndex;
    private final Have have;
    private final Map<Ip6, MacAddress> ndp = new HashMap<>();
    private final Set<FdbKey> fdb = new HashSet<>();
    private final Set<RouteKey> routes = new HashSet<>();

    /**
     * What the kernel holds, read once: the device's neighbour and FDB entries and the main table's routes.
     *
     * @param neighbours the VXLAN device's neighbour entries that have a MAC
     * @param fdb        the VXLAN device's own FDB entries with an IPv4 destination
     * @param routes     the main table's unicast routes, of every device
     */
    record Have(List<Neighbour6> neighbours, List<FdbEntry6> fdb, List<Route6> routes) {
        Have {
            neighbours = List.copyOf(neighbours);
            fdb = List.copyOf(fdb);
            routes = List.copyOf(routes);
        }

        /** One dump each of the device's neighbours, its FDB and the routes. */
        static Have read(Rtnetlink nl, int vtepIndex) {
            return new Have(nl.neighbours().list6(vtepIndex), nl.fdb().list6(vtepIndex), nl.routes().list6());
        }

        /** Nothing: what a device that does not exist holds. */
        static Have nothing(List<Route6> routes) {
            return new Have(List.of(), List.of(), routes);
        }
    }

    /**
     * Entries no wanted peer accounts for, in the order {@link PeerProgrammer6#reconcile} deletes them: neighbours,
     * FDB entries, routes.
     */
    record Stale(List<Neighbour6> neighbours, List<FdbEntry6> fdb, List<Route6> routes) {
        Stale {
            neighbours = List.copyOf(neighbours);
            fdb = List.copyOf(fdb);
            routes = List.copyOf(routes);
        }

        boolean isEmpty() {
            return neighbours.isEmpty() && fdb.isEmpty() && routes.isEmpty();
        }
    }

    VxlanPeerDiff6(int vtepIndex, int underlayIndex, Have have) {
        this.vtepIndex = vtepIndex;
        this.underlayIndex = underlayIndex;
        this.have = have;
        for (Neighbour6 n : have.neighbours()) {
            ndp.put(n.address(), n.mac());
        }
        for (FdbEntry6 e : have.fdb()) {
            fdb.add(new FdbKey(e.mac(), e.destination()));
        }
        for (Route6 r : have.routes()) {
            routes.add(RouteKey.of(r));
        }
    }

    /**
     * The peer's entries that are missing or differ from its lease (an NDP entry with another MAC, an FDB entry to
     * another destination), as labels in programming order: {@code ndp}, {@code fdb}, {@code route}. A directly
     * routed peer needs only its route.
     */
    List<String> missing(PeerEntries6 p) {
        List<String> missing = new ArrayList<>(3);
        if (!p.direct()) {
            if (!p.vtepMac().equals(ndp.get(p.gateway()))) {
                missing.add("ndp");
            }
            if (!fdb.contains(new FdbKey(p.vtepMac(), p.publicIp()))) {
                missing.add("fdb");
            }
        }
        if (!routes.contains(RouteKey.of(p.route(vtepIndex, underlayIndex)))) {
            missing.add("route");
        }
        return missing;
    }

    /** The MAC the device's NDP entry for {@code address} holds, if it has one. */
    Optional<MacAddress> ndpEntry(Ip6 address) {
        return Optional.ofNullable(ndp.get(address));
    }

    /**
     * Every NDP entry, FDB entry and route on the VXLAN device that none of {@code want} accounts for, and with
     * direct routing every gateway route into {@code network} through the underlay that none accounts for (never
     * the local subnet's). Routes the kernel made itself (protocol kernel) are never stale.
     */
    Stale stale(Collection<PeerEntries6> want, Ip6Net localSubnet, Ip6Net network, boolean directRouting) {
        Set<NeighKey> wantNeigh = new HashSet<>();
        Set<FdbKey> wantFdb = new HashSet<>();
        Set<RouteKey> wantRoutes = new HashSet<>();
        for (PeerEntries6 p : want) {
            if (!p.direct()) {
                wantNeigh.add(new NeighKey(p.gateway(), p.vtepMac()));
                wantFdb.add(new FdbKey(p.vtepMac(), p.publicIp()));
            }
            wantRoutes.add(RouteKey.of(p.route(vtepIndex, underlayIndex)));
        }
        List<Neighbour6> neighbours = have.neighbours().stream()
                .filter(n -> !wantNeigh.contains(new NeighKey(n.address(), n.mac()))).toList();
        List<FdbEntry6> fdbEntries = have.fdb().stream()
                .filter(e -> !wantFdb.contains(new FdbKey(e.mac(), e.destination()))).toList();
        List<Route6> staleRoutes = new ArrayList<>();
        for (Route6 r : have.routes()) {
            boolean ours = r.outputIndex() == vtepIndex && r.protocol() != Route.PROTOCOL_KERNEL;
            boolean direct = directRouting && r.outputIndex() == underlayIndex && r.gateway().isPresent()
                    && !r.destination().equals(localSubnet) && network.contains(r.destination());
            if ((ours || direct) && !wantRoutes.contains(RouteKey.of(r))) {
                staleRoutes.add(r);
            }
        }
        return new Stale(neighbours, fdbEntries, staleRoutes);
    }

    private record NeighKey(Ip6 address, MacAddress mac) {
    }

    private record FdbKey(MacAddress mac, Ip6 destination) {
    }

    /** A route's identity for comparing: destination, gateway and device (protocol and flags do not matter). */
    private record RouteKey(Ip6Net destination, Optional<Ip6> gateway, int outputIndex) {
        static RouteKey of(Route6 r) {
            return new RouteKey(r.destination(), r.gateway(), r.outputIndex());
        }
    }
}
