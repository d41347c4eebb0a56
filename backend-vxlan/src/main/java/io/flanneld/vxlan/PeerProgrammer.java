package io.flanneld.vxlan;

import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.net.FdbEntry;
import io.flanneld.net.Neighbour;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Route;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the kernel's per-peer state on one VXLAN device in line with the peers' leases: ARP, FDB and route for each
 * tunnelled peer, a plain underlay route for each directly routed one. Every write uses replace semantics, so
 * programming a peer twice changes nothing; {@link #reconcile} removes whatever no current peer accounts for, which
 * is how a restart after a crash cleans up. Not thread-safe: the backend serializes calls.
 */
final class PeerProgrammer {
    private static final Logger log = LoggerFactory.getLogger(PeerProgrammer.class);

    private final Rtnetlink nl;
    private final int vtepIndex;
    private final int underlayIndex;
    private final String vtepName;
    private final String underlayName;
    /** What was last asked for each peer subnet, whether or not the kernel accepted all of it. */
    private final Map<Ip4Net, PeerEntries> peers = new HashMap<>();
    /** Subnets whose last programming failed part-way; not counted as programmed. */
    private final Set<Ip4Net> failed = new HashSet<>();
    /** The last refusal logged for each subnet whose repair fails, so a peer the kernel keeps refusing is logged once. */
    private final Map<Ip4Net, String> lastRefusal = new HashMap<>();

    PeerProgrammer(Rtnetlink nl, int vtepIndex, String vtepName, int underlayIndex, String underlayName) {
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

    Optional<PeerEntries> known(Ip4Net subnet) {
        return Optional.ofNullable(peers.get(subnet));
    }

    /**
     * The same peers on a re-created device: nothing of theirs is in the kernel any more, so every one is due for
     * {@link #repair}.
     */
    PeerProgrammer movedTo(int newVtepIndex) {
        PeerProgrammer moved = new PeerProgrammer(nl, newVtepIndex, vtepName, underlayIndex, underlayName);
        moved.peers.putAll(peers);
        moved.failed.addAll(peers.keySet());
        return moved;
    }

    /**
     * Puts back every known peer's entries that are missing from the kernel or differ from what its lease says (an
     * ARP entry with another MAC, an FDB entry gone, a flushed route), and programs again the peers whose last
     * programming failed. Reads the device's neighbours, FDB and the routes once each; writes only for what is wrong.
     * A peer the kernel still refuses is logged (once per distinct refusal) and tried again on the next call.
     *
     * @return one label per entry put back: {@code arp}, {@code fdb}, {@code route}
     */
    List<String> repair() {
        VxlanPeerDiff diff = new VxlanPeerDiff(vtepIndex, underlayIndex, VxlanPeerDiff.Have.read(nl, vtepIndex));
        List<String> repaired = new java.util.ArrayList<>();
        for (PeerEntries p : List.copyOf(peers.values())) {
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
    void program(PeerEntries want) {
        Ip4Net subnet = want.subnet();
        // Remember the intent before touching the kernel, so a later removal also clears a half-made peer.
        PeerEntries old = peers.put(subnet, want);
        failed.add(subnet);
        if (!want.direct()) {
            // L2 first, route last: traffic is only steered into the tunnel once it can be encapsulated.
            nl.neighbours().replace(Neighbour.permanent(vtepIndex, want.gateway(), want.vtepMac()));
            nl.fdb().replace(FdbEntry.permanent(vtepIndex, want.vtepMac(), want.publicIp()));
        }
        // Same destination, table and metric either way, so a tunnel route and a direct one replace each other.
        nl.routes().replace(want.route(vtepIndex, underlayIndex));
        if (old != null && !old.direct()) {
            if (want.direct()) {
                deleteIgnoringMissing(() -> nl.neighbours().delete(vtepIndex, old.gateway()),
                        "ARP entry " + Ip4.format(old.gateway()));
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
    void remove(Ip4Net subnet, Optional<PeerEntries> fromLease) {
        PeerEntries had = peers.remove(subnet);
        failed.remove(subnet);
        lastRefusal.remove(subnet);
        PeerEntries gone = had != null ? had : fromLease.orElse(null);
        if (gone == null) {
            log.debug("Removed lease {} had nothing programmed", subnet);
            return;
        }
        // Route first, so nothing is steered at a tunnel endpoint that is being taken apart.
        Route route = gone.route(vtepIndex, underlayIndex);
        deleteIgnoringMissing(() -> nl.routes().delete(route), "route " + describe(route));
        if (!gone.direct()) {
            deleteIgnoringMissing(() -> nl.neighbours().delete(vtepIndex, gone.gateway()),
                    "ARP entry " + Ip4.format(gone.gateway()));
            deleteFdbUnlessShared(gone);
        }
        log.info("Removed peer {}", gone);
    }

    /**
     * Deletes every ARP entry, FDB entry and route on the VXLAN device that no known peer accounts for, and with
     * direct routing every gateway route into {@code network} through the underlay that none accounts for (never
     * the local subnet's). Each deletion that fails is recorded and the rest still run.
     *
     * @return how many entries were removed
     */
    int reconcile(Ip4Net localSubnet, Ip4Net network, boolean directRouting, List<PeersNotProgrammedException.Failure> failures) {
        VxlanPeerDiff.Stale stale = new VxlanPeerDiff(vtepIndex, underlayIndex, VxlanPeerDiff.Have.read(nl, vtepIndex))
                .stale(peers.values(), localSubnet, network, directRouting);
        int removed = 0;
        for (Neighbour n : stale.neighbours()) {
            removed += stale(() -> nl.neighbours().delete(vtepIndex, n.address()),
                    "ARP entry " + Ip4.format(n.address()) + " lladdr " + n.mac(), failures);
        }
        for (FdbEntry e : stale.fdb()) {
            removed += stale(() -> nl.fdb().delete(e),
                    "FDB entry " + e.mac() + " dst " + Ip4.format(e.destination()), failures);
        }
        for (Route r : stale.routes()) {
            removed += stale(() -> nl.routes().delete(r), "route " + describe(r), failures);
        }
        return removed;
    }

    /** A route as `ip route` prints it, with our devices named. */
    private String describe(Route r) {
        return r.describe().replace(" dev #" + vtepIndex, " dev " + vtepName)
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
    private void deleteFdbUnlessShared(PeerEntries gone) {
        boolean shared = peers.values().stream().anyMatch(p -> p.sameVtep(gone));
        if (shared) {
            log.debug("FDB entry {} dst {} still used by another lease; kept", gone.vtepMac(),
                    Ip4.format(gone.publicIp()));
            return;
        }
        deleteIgnoringMissing(() -> nl.fdb().delete(FdbEntry.permanent(vtepIndex, gone.vtepMac(), gone.publicIp())),
                "FDB entry " + gone.vtepMac() + " dst " + Ip4.format(gone.publicIp()));
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
