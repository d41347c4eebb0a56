package io.flanneld.vxlan;

import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Rtnetlink;
import io.flanneld.vxlan.Family.Fdb;
import io.flanneld.vxlan.Family.Neigh;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the kernel's per-peer state on one VXLAN device in line with the peers' leases: neighbour (ARP or NDP), FDB
 * and route for each tunnelled peer, a plain underlay route for each directly routed one. One class for both
 * families: {@link Family} makes the entries and talks to linux-net. Every write uses replace semantics, so
 * programming a peer twice changes nothing; {@link #reconcile} removes whatever no current peer accounts for, which
 * is how a restart after a crash cleans up. Not thread-safe: the backend serializes calls.
 */
final class PeerProgrammer<A, N, R> {
    private static final Logger log = LoggerFactory.getLogger(PeerProgrammer.class);

    private final Family<A, N, R> family;
    private final Rtnetlink nl;
    private final int vtepIndex;
    private final int underlayIndex;
    private final String vtepName;
    private final String underlayName;
    /** What was last asked for each peer subnet, whether or not the kernel accepted all of it. */
    private final Map<N, PeerEntries<A, N, R>> peers = new HashMap<>();
    /** Subnets whose last programming failed part-way; not counted as programmed. */
    private final Set<N> failed = new HashSet<>();
    /** The last refusal logged for each subnet whose repair fails, so a peer the kernel keeps refusing is logged once. */
    private final Map<N, String> lastRefusal = new HashMap<>();

    PeerProgrammer(Family<A, N, R> family, Rtnetlink nl, int vtepIndex, String vtepName, int underlayIndex,
                   String underlayName) {
        this.family = family;
        this.nl = nl;
        this.vtepIndex = vtepIndex;
        this.underlayIndex = underlayIndex;
        this.vtepName = vtepName;
        this.underlayName = underlayName;
    }

    /** Peers whose entries are all in place. */
    int programmedCount() {
        return peers.size() - failed.size();
    }

    Optional<PeerEntries<A, N, R>> known(N subnet) {
        return Optional.ofNullable(peers.get(subnet));
    }

    /**
     * The same peers on a re-created device: nothing of theirs is in the kernel any more, so every one is due for
     * {@link #repair}.
     */
    PeerProgrammer<A, N, R> movedTo(int newVtepIndex) {
        PeerProgrammer<A, N, R> moved = new PeerProgrammer<>(family, nl, newVtepIndex, vtepName, underlayIndex, underlayName);
        moved.peers.putAll(peers);
        moved.failed.addAll(peers.keySet());
        return moved;
    }

    /**
     * Puts back every known peer's entries that are missing from the kernel or differ from what its lease says (an
     * neighbour entry with another MAC, an FDB entry gone, a flushed route), and programs again the peers whose last
     * programming failed. Reads the device's neighbours, FDB and the routes once each; writes only for what is wrong.
     * A peer the kernel still refuses is logged (once per distinct refusal) and tried again on the next call.
     *
     * @return one label per entry put back: {@code arp} or {@code ndp}, {@code fdb}, {@code route}
     */
    List<String> repair() {
        VxlanPeerDiff<A, N, R> diff = new VxlanPeerDiff<>(family, vtepIndex, underlayIndex,
                VxlanPeerDiff.Have.read(family, nl, vtepIndex));
        List<String> repaired = new java.util.ArrayList<>();
        for (PeerEntries<A, N, R> p : List.copyOf(peers.values())) {
            List<String> missing = diff.missing(p);
            if (missing.isEmpty() && !failed.contains(p.subnet())) {
                continue;
            }
            try {
                program(p);
                lastRefusal.remove(p.subnet());
                log.info("Repaired peer {}: put back its {}", p, missing.isEmpty() ? "entries (the kernel refused them before)"
                        : String.join(", ", missing));
                repaired.addAll(missing);
            } catch (NetlinkException e) {
                if (!e.getMessage().equals(lastRefusal.put(p.subnet(), e.getMessage()))) {
                    log.warn("Could not repair peer {}: {}; trying again at the next check", p.subnet(), e.getMessage());
                }
            }
        }
        return repaired;
    }

    /** Forgets every peer (not the kernel's entries): start() rebuilds the picture from the leases it is given. */
    void forgetAll() {
        peers.clear();
        failed.clear();
    }

    /**
     * Installs a peer's entries, or changes them when the peer's attributes changed, then removes what the previous
     * attributes needed and the new ones do not (the FDB entry of an old VtepMAC or PublicIP, the tunnel entries of a
     * peer that became directly routable).
     */
    void program(PeerEntries<A, N, R> want) {
        N subnet = want.subnet();
        // Remember the intent before touching the kernel, so a later removal also clears a half-made peer.
        PeerEntries<A, N, R> old = peers.put(subnet, want);
        failed.add(subnet);
        if (!want.direct()) {
            // L2 first, route last: traffic is only steered into the tunnel once it can be encapsulated.
            family.replaceNeighbour(nl, vtepIndex, want.gateway(), want.vtepMac());
            family.replaceFdb(nl, Fdb.permanent(vtepIndex, want.vtepMac(), want.publicIp()));
        }
        // Same destination, table and metric either way, so a tunnel route and a direct one replace each other.
        family.replaceRoute(nl, want.route(vtepIndex, underlayIndex));
        if (old != null && !old.direct()) {
            if (want.direct()) {
                deleteIgnoringMissing(() -> family.deleteNeighbour(nl, vtepIndex, old.gateway()),
                        family.neighbourName() + " " + family.format(old.gateway()));
            }
            if (!old.sameVtep(want)) {
                deleteFdbUnlessShared(old);
            }
        }
        failed.remove(subnet);
        if (old == null) {
            log.info("Programmed peer {}", want);
        } else if (!old.equals(want)) {
            log.info("Changed peer {} (was {})", want, old);
        } else {
            log.debug("Re-applied peer {}", want);
        }
    }

    /**
     * Removes a peer's entries. {@code fromLease} describes them when this process never programmed the subnet (e.g.
     * it was skipped); what was programmed takes precedence. Entries already gone are fine.
     */
    void remove(N subnet, Optional<PeerEntries<A, N, R>> fromLease) {
        PeerEntries<A, N, R> had = peers.remove(subnet);
        failed.remove(subnet);
        lastRefusal.remove(subnet);
        PeerEntries<A, N, R> gone = had != null ? had : fromLease.orElse(null);
        if (gone == null) {
            log.debug("Removed lease {} had nothing programmed", subnet);
            return;
        }
        // Route first, so nothing is steered at a tunnel endpoint that is being taken apart.
        R route = gone.route(vtepIndex, underlayIndex);
        deleteIgnoringMissing(() -> family.deleteRoute(nl, route), "route " + describe(route));
        if (!gone.direct()) {
            deleteIgnoringMissing(() -> family.deleteNeighbour(nl, vtepIndex, gone.gateway()),
                    family.neighbourName() + " " + family.format(gone.gateway()));
            deleteFdbUnlessShared(gone);
        }
        log.info("Removed peer {}", gone);
    }

    /**
     * Deletes every neighbour entry, FDB entry and route on the VXLAN device that no known peer accounts for, and with
     * direct routing every gateway route into {@code network} through the underlay that none accounts for (never
     * the local subnet's). Each deletion that fails is recorded and the rest still run.
     *
     * @return how many entries were removed
     */
    int reconcile(N localSubnet, N network, boolean directRouting, List<PeersNotProgrammedException.Failure> failures) {
        VxlanPeerDiff.Stale<A, R> stale = new VxlanPeerDiff<>(family, vtepIndex, underlayIndex,
                VxlanPeerDiff.Have.read(family, nl, vtepIndex)).stale(peers.values(), localSubnet, network, directRouting);
        int removed = 0;
        for (Neigh<A> n : stale.neighbours()) {
            removed += stale(() -> family.deleteNeighbour(nl, vtepIndex, n.address()),
                    family.neighbourName() + " " + family.format(n.address()) + " lladdr " + n.mac(), failures);
        }
        for (Fdb<A> e : stale.fdb()) {
            removed += stale(() -> family.deleteFdb(nl, e),
                    "FDB entry " + e.mac() + " dst " + family.format(e.destination()), failures);
        }
        for (R r : stale.routes()) {
            removed += stale(() -> family.deleteRoute(nl, r), "route " + describe(r), failures);
        }
        return removed;
    }

    /** A route as `ip route` prints it, with our devices named. */
    private String describe(R r) {
        return family.describe(r).replace(" dev #" + vtepIndex, " dev " + vtepName)
                .replace(" dev #" + underlayIndex, " dev " + underlayName);
    }

    private int stale(Runnable delete, String what, List<PeersNotProgrammedException.Failure> failures) {
        try {
            delete.run();
            log.info("Removed stale {} (no current lease backs it)", what);
            return 1;
        } catch (NetlinkException e) {
            if (e.notFound()) {
                log.debug("Stale {} already gone", what);
                return 0;
            }
            log.error("Could not remove stale {}: {}", what, e.getMessage());
            failures.add(new PeersNotProgrammedException.Failure("stale " + what, e));
            return 0;
        }
    }

    /** Two leases of one host (an old and a new subnet) share one FDB entry; it goes only with the last of them. */
    private void deleteFdbUnlessShared(PeerEntries<A, N, R> gone) {
        boolean shared = peers.values().stream().anyMatch(p -> p.sameVtep(gone));
        if (shared) {
            log.debug("FDB entry {} dst {} still used by another lease; kept", gone.vtepMac(),
                    family.format(gone.publicIp()));
            return;
        }
        deleteIgnoringMissing(() -> family.deleteFdb(nl, Fdb.permanent(vtepIndex, gone.vtepMac(), gone.publicIp())),
                "FDB entry " + gone.vtepMac() + " dst " + family.format(gone.publicIp()));
    }

    private static void deleteIgnoringMissing(Runnable delete, String what) {
        try {
            delete.run();
        } catch (NetlinkException e) {
            if (!e.notFound()) {
                throw e;
            }
            log.debug("{} was already gone: {}", what, e.getMessage());
        }
    }
}
