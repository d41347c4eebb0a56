package io.flanneld.vxlan;

import io.flanneld.net.FdbEntry;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Neighbour;
import io.flanneld.net.Route;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4Net;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * What the kernel holds on one VXLAN device against what the peers' leases ask of it, computed without touching the
 * kernel: for each wanted peer the entries that are missing or different ({@link #missing}), and every entry no
 * wanted peer accounts for ({@link #stale}). {@link PeerProgrammer#repair()} puts back the missing ones,
 * {@link PeerProgrammer#reconcile} deletes the stale ones, and {@link VxlanInspection} reports both without changing
 * anything; all three read the kernel the same way ({@link Have#read}) and decide here.
 */
final class VxlanPeerDiff {
    private final int vtepIndex;
    private final int underlayIndex;
    private final Have have;
    private final Map<Integer, MacAddress> arp = new HashMap<>();
    private final Set<FdbKey> fdb = new HashSet<>();
    private final Set<RouteKey> routes = new HashSet<>();

    /**
     * What the kernel holds, read once: the device's neighbour and FDB entries and the main table's routes.
     *
     * @param neighbours the VXLAN device's neighbour entries that have a MAC
     * @param fdb        the VXLAN device's own FDB entries with an IPv4 destination
     * @param routes     the main table's unicast routes, of every device
     */
    record Have(List<Neighbour> neighbours, List<FdbEntry> fdb, List<Route> routes) {
        Have {
            neighbours = List.copyOf(neighbours);
            fdb = List.copyOf(fdb);
            routes = List.copyOf(routes);
        }

        /** One dump each of the device's neighbours, its FDB and the routes. */
        static Have read(Rtnetlink nl, int vtepIndex) {
            return new Have(nl.neighbours().list(vtepIndex), nl.fdb().list(vtepIndex), nl.routes().list());
        }

        /** Nothing: what a device that does not exist holds. */
        static Have nothing(List<Route> routes) {
            return new Have(List.of(), List.of(), routes);
        }
    }

    /**
     * Entries no wanted peer accounts for, in the order {@link PeerProgrammer#reconcile} deletes them: neighbours,
     * FDB entries, routes.
     */
    record Stale(List<Neighbour> neighbours, List<FdbEntry> fdb, List<Route> routes) {
        Stale {
            neighbours = List.copyOf(neighbours);
            fdb = List.copyOf(fdb);
            routes = List.copyOf(routes);
        }

        boolean isEmpty() {
            return neighbours.isEmpty() && fdb.isEmpty() && routes.isEmpty();
        }
    }

    VxlanPeerDiff(int vtepIndex, int underlayIndex, Have have) {
        this.vtepIndex = vtepIndex;
        this.underlayIndex = underlayIndex;
        this.have = have;
        for (Neighbour n : have.neighbours()) {
            arp.put(n.address(), n.mac());
        }
        for (FdbEntry e : have.fdb()) {
            fdb.add(new FdbKey(e.mac(), e.destination()));
        }
        for (Route r : have.routes()) {
            routes.add(RouteKey.of(r));
        }
    }

    /**
     * The peer's entries that are missing or differ from its lease (an ARP entry with another MAC, an FDB entry to
     * another destination), as labels in programming order: {@code arp}, {@code fdb}, {@code route}. A directly
     * routed peer needs only its route.
     */
    List<String> missing(PeerEntries p) {
        List<String> missing = new ArrayList<>(3);
        if (!p.direct()) {
            if (!p.vtepMac().equals(arp.get(p.gateway()))) {
                missing.add("arp");
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

    /** The MAC the device's ARP entry for {@code address} holds, if it has one. */
    Optional<MacAddress> arpEntry(int address) {
        return Optional.ofNullable(arp.get(address));
    }

    /**
     * Every ARP entry, FDB entry and route on the VXLAN device that none of {@code want} accounts for, and with
     * direct routing every gateway route into {@code network} through the underlay that none accounts for (never
     * the local subnet's). Routes the kernel made itself (protocol kernel) are never stale.
     */
    Stale stale(Collection<PeerEntries> want, Ip4Net localSubnet, Ip4Net network, boolean directRouting) {
        Set<NeighKey> wantNeigh = new HashSet<>();
        Set<FdbKey> wantFdb = new HashSet<>();
        Set<RouteKey> wantRoutes = new HashSet<>();
        for (PeerEntries p : want) {
            if (!p.direct()) {
                wantNeigh.add(new NeighKey(p.gateway(), p.vtepMac()));
                wantFdb.add(new FdbKey(p.vtepMac(), p.publicIp()));
            }
            wantRoutes.add(RouteKey.of(p.route(vtepIndex, underlayIndex)));
        }
        List<Neighbour> neighbours = have.neighbours().stream()
                .filter(n -> !wantNeigh.contains(new NeighKey(n.address(), n.mac()))).toList();
        List<FdbEntry> fdbEntries = have.fdb().stream()
                .filter(e -> !wantFdb.contains(new FdbKey(e.mac(), e.destination()))).toList();
        List<Route> staleRoutes = new ArrayList<>();
        for (Route r : have.routes()) {
            boolean ours = r.outputIndex() == vtepIndex && r.protocol() != Route.PROTOCOL_KERNEL;
            boolean direct = directRouting && r.outputIndex() == underlayIndex && r.gateway().isPresent()
                    && !r.destination().equals(localSubnet) && network.contains(r.destination());
            if ((ours || direct) && !wantRoutes.contains(RouteKey.of(r))) {
                staleRoutes.add(r);
            }
        }
        return new Stale(neighbours, fdbEntries, staleRoutes);
    }

    private record NeighKey(int address, MacAddress mac) {
    }

    private record FdbKey(MacAddress mac, int destination) {
    }

    /** A route's identity for comparing: destination, gateway and device (protocol and flags do not matter). */
    private record RouteKey(Ip4Net destination, OptionalInt gateway, int outputIndex) {
        static RouteKey of(Route r) {
            return new RouteKey(r.destination(), r.gateway(), r.outputIndex());
        }
    }
}
