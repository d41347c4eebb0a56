package io.flanneld.vxlan;

import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.net.FdbEntry6;
import io.flanneld.net.Neighbour6;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip6Net;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link PeerProgrammer} for the IPv6 device flannel-v6.&lt;VNI&gt;: per tunnelled peer an NDP entry, an FDB entry with
 * the peer's PublicIPv6 and an onlink IPv6 route; per directly routed peer an IPv6 route via PublicIPv6 on the
 * underlay. Same replace semantics, removal order, repair and reconcile as for IPv4.
 */
final class PeerProgrammer6 {
    private static final Logger log = LoggerFactory.getLogger(PeerProgrammer6.class);

    private final Rtnetlink nl;
    private final int vtepIndex;
    private final int underlayIndex;
    private final String vtepName;
    private final String underlayName;
    /** What was last asked for each peer subnet, whether or not the kernel accepted all of it. */
    private final Map<Ip6Net, PeerEntries6> peers = new HashMap<>();
    /** Subnets whose last programming failed part-way; not counted as programmed. */
    private final Set<Ip6Net> failed = new HashSet<>();
    /** The last refusal logged for each subnet whose repair fails, so a peer the kernel keeps refusing is logged once. */
    private final Map<Ip6Net, String> lastRefusal = new HashMap<>();

    PeerProgrammer6(Rtnetlink nl, int vtepIndex, String vtepName, int underlayIndex, String underlayName) {
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

    Optional<PeerEntries6> known(Ip6Net subnet) {
        return Optional.ofNullable(peers.get(subnet));
    }

    /**
     * The same peers on a re-created device: nothing of theirs is in the kernel any more, so every one is due for
     * {@link #repair}.
     */
    PeerProgrammer6 movedTo(int newVtepIndex) {
        PeerProgrammer6 moved = new PeerProgrammer6(nl, newVtepIndex, vtepName, underlayIndex, underlayName);
        moved.peers.putAll(peers);
        moved.failed.addAll(peers.keySet());
        return moved;
    }

    /**
     * Puts back every known peer's entries that are missing from the kernel or differ from what its lease says (an
     * NDP entry with another MAC, an FDB entry gone, a flushed route), and programs again the peers whose last
     * programming failed. Reads the device's neighbours, FDB and the routes once each; writes only for what is wrong.
     * A peer the kernel still refuses is logged (once per distinct refusal) and tried again on the next call.
     *
     * @return one label per entry put back: {@code ndp}, {@code fdb}, {@code route}
     */
    List<String> repair() {
        VxlanPeerDiff6 diff = new VxlanPeerDiff6(vtepIndex, underlayIndex, VxlanPeerDiff6.Have.read(nl, vtepIndex));
        List<String> repaired = new java.util.ArrayList<>();
        for (PeerEntries6 p : List.copyOf(peers.values())) {
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
    void program(PeerEntries6 want) {
        Ip6Net subnet = want.subnet();
        // Remember the intent before touching the kernel, so a later removal also clears a half-made peer.
        PeerEntries6 old = peers.put(subnet, want);
        failed.add(subnet);
        if (!want.direct()) {
            // L2 first, route last: traffic is only steered into the tunnel once it can be encapsulated.
            nl.neighbours().replace(Neighbour6.permanent(vtepIndex, want.gateway(), want.vtepMac()));
            nl.fdb().replace(FdbEntry6.permanent(vtepIndex, want.vtepMac(), want.publicIp()));
        }
        // Same destination, table and metric either way, so a tunnel route and a direct one replace each other.
        nl.routes().replace(want.route(vtepIndex, underlayIndex));
        if (old != null && !old.direct()) {
            if (want.direct()) {
                deleteIgnoringMissing(() -> nl.neighbours().delete(vtepIndex, old.gateway()),
                        "NDP entry " + String.valueOf(old.gateway()));
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
    void remove(Ip6Net subnet, Optional<PeerEntries6> fromLease) {
        PeerEntries6 had = peers.remove(subnet);
        failed.remove(subnet);
        lastRefusal.remove(subnet);
        PeerEntries6 gone = had != null ? had : fromLease.orElse(null);
        if (gone == null) {
            log.debug("Removed lease {} had nothing programmed", subnet);
            return;
        }
        // Route first, so nothing is steered at a tunnel endpoint that is being taken apart.
        Route6 route = gone.route(vtepIndex, underlayIndex);
        deleteIgnoringMissing(() -> nl.routes().delete(route), "route " + describe(route));
        if (!gone.direct()) {
            deleteIgnoringMissing(() -> nl.neighbours().delete(vtepIndex, gone.gateway()),
                    "NDP entry " + String.valueOf(gone.gateway()));
            deleteFdbUnlessShared(gone);
        }
        log.info("Removed peer {}", gone);
    }

    /**
     * Deletes every NDP entry, FDB entry and route on the VXLAN device that no known peer accounts for, and with
     * direct routing every gateway route into {@code network} through the underlay that none accounts for (never
     * the local subnet's). Each deletion that fails is recorded and the rest still run.
     *
     * @return how many entries were removed
     */
    int reconcile(Ip6Net localSubnet, Ip6Net network, boolean directRouting, List<PeersNotProgrammedException.Failure> failures) {
        VxlanPeerDiff6.Stale stale = new VxlanPeerDiff6(vtepIndex, underlayIndex, VxlanPeerDiff6.Have.read(nl, vtepIndex))
                .stale(peers.values(), localSubnet, network, directRouting);
        int removed = 0;
        for (Neighbour6 n : stale.neighbours()) {
            removed += stale(() -> nl.neighbours().delete(vtepIndex, n.address()),
                    "NDP entry " + String.valueOf(n.address()) + " lladdr " + n.mac(), failures);
        }
        for (FdbEntry6 e : stale.fdb()) {
            removed += stale(() -> nl.fdb().delete(e),
                    "FDB entry " + e.mac() + " dst " + String.valueOf(e.destination()), failures);
        }
        for (Route6 r : stale.routes()) {
            removed += stale(() -> nl.routes().delete(r), "route " + describe(r), failures);
        }
        return removed;
    }

    /** A route as `ip route` prints it, with our devices named. */
    private String describe(Route6 r) {
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
    private void deleteFdbUnlessShared(PeerEntries6 gone) {
        boolean shared = peers.values().stream().anyMatch(p -> p.sameVtep(gone));
        if (shared) {
            log.debug("FDB entry {} dst {} still used by another lease; kept", gone.vtepMac(),
                    String.valueOf(gone.publicIp()));
            return;
        }
        deleteIgnoringMissing(() -> nl.fdb().delete(FdbEntry6.permanent(vtepIndex, gone.vtepMac(), gone.publicIp())),
                "FDB entry " + gone.vtepMac() + " dst " + String.valueOf(gone.publicIp()));
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
