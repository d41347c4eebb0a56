package io.flanneld.hostgw;

import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Rtnetlink;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the kernel's routes to the peers' subnets on the external interface in line with the peers' leases. Every
 * write is a replace, so programming a peer twice changes nothing and a peer's new PublicIP replaces its old route
 * in one step; {@link #reconcile} removes what no lease backs, which is how a start after a crash cleans up. Not
 * thread-safe: the backend serializes calls. One class for both address families: {@link Family} makes the routes and
 * talks to linux-net.
 */
final class RouteProgrammer<A, N, R> {
    private static final Logger log = LoggerFactory.getLogger(RouteProgrammer.class);

    private final Family<A, N, R> family;
    private final Rtnetlink nl;
    private final int ifindex;
    private final String ifname;
    /** What was last asked for each peer subnet, whether or not the kernel accepted it. */
    private final Map<N, PeerRoute<A, N, R>> peers = new LinkedHashMap<>();
    /** Subnets whose last programming the kernel refused; not counted as programmed, retried by {@link #repair}. */
    private final Set<N> failed = new HashSet<>();
    /** The last refusal logged for each subnet whose repair fails, so a peer the kernel keeps refusing is logged once. */
    private final Map<N, String> lastRefusal = new HashMap<>();

    RouteProgrammer(Family<A, N, R> family, Rtnetlink nl, int ifindex, String ifname) {
        this.family = family;
        this.nl = nl;
        this.ifindex = ifindex;
        this.ifname = ifname;
    }

    /** Peers whose route is in place. */
    int programmedCount() {
        return peers.size() - failed.size();
    }

    Optional<PeerRoute<A, N, R>> known(N subnet) {
        return Optional.ofNullable(peers.get(subnet));
    }

    /** Forgets every peer (not the kernel's routes): start() rebuilds the picture from the leases it is given. */
    void forgetAll() {
        peers.clear();
        failed.clear();
        lastRefusal.clear();
    }

    /**
     * Installs a peer's route, or replaces it when the peer's PublicIP changed (same destination, table and metric,
     * so the kernel swaps the gateway in one step: no moment without a route).
     *
     * @throws NetlinkException when the kernel refuses; the peer is remembered and {@link #repair} retries it
     */
    void program(PeerRoute<A, N, R> want) {
        // Remember the intent before touching the kernel, so a later removal also covers a refused peer.
        PeerRoute<A, N, R> old = peers.put(want.subnet(), want);
        failed.add(want.subnet());
        family.replaceRoute(nl, want.route(ifindex));
        failed.remove(want.subnet());
        lastRefusal.remove(want.subnet());
        if (old == null) {
            log.info("Programmed peer {} dev {}", want, ifname);
        } else if (!old.equals(want)) {
            log.info("Changed peer {} dev {} (was via {})", want, ifname, family.format(old.publicIp()));
        } else {
            log.debug("Re-applied peer {} dev {}", want, ifname);
        }
    }

    /**
     * Removes a peer's route. {@code fromLease} describes it when this process never programmed the subnet; what was
     * programmed takes precedence. Only the exact route (destination, gateway, device) is deleted, so a route someone
     * else put there for the subnet stays; a route already gone is fine.
     */
    void remove(N subnet, Optional<PeerRoute<A, N, R>> fromLease) {
        PeerRoute<A, N, R> had = peers.remove(subnet);
        failed.remove(subnet);
        lastRefusal.remove(subnet);
        PeerRoute<A, N, R> gone = had != null ? had : fromLease.orElse(null);
        if (gone == null) {
            log.debug("Removed lease {} had no route", subnet);
            return;
        }
        R route = gone.route(ifindex);
        try {
            family.deleteRoute(nl, route);
            log.info("Removed peer {} dev {}", gone, ifname);
        } catch (NetlinkException e) {
            if (!e.notFound()) {
                throw e;
            }
            log.debug("Route {} dev {} was already gone", gone, ifname);
        }
    }

    /**
     * Deletes every route {@link Decisions#stale} names: gateway routes through the interface into the Network that no
     * known peer accounts for. Each deletion that fails is recorded and the rest still run.
     *
     * @return how many routes were removed
     */
    int reconcile(N localSubnet, N network, List<PeersNotProgrammedException.Failure> failures) {
        int removed = 0;
        for (R r : Decisions.stale(family, family.routes(nl), peers.values(), ifindex, network, localSubnet)) {
            String what = describe(r);
            try {
                family.deleteRoute(nl, r);
                log.info("Removed stale route {} (no current lease backs it)", what);
                removed++;
            } catch (NetlinkException e) {
                if (e.notFound()) {
                    continue;
                }
                log.error("Could not remove stale route {}: {}", what, e.getMessage());
                failures.add(new PeersNotProgrammedException.Failure("stale route " + what, e));
            }
        }
        return removed;
    }

    /**
     * Puts back every known peer's route that is missing from the kernel or differs from what its lease says, and
     * programs again the peers the kernel refused before. Reads the main table once; writes only what is wrong. A peer
     * the kernel still refuses is logged (once per distinct refusal) and tried again on the next call.
     *
     * @return one {@code route} per route put back
     */
    List<String> repair() {
        List<PeerRoute<A, N, R>> due = new ArrayList<>(Decisions.missing(family, family.routes(nl), peers.values(),
                ifindex));
        for (N subnet : failed) {
            PeerRoute<A, N, R> p = peers.get(subnet);
            if (p != null && !due.contains(p)) {
                due.add(p);
            }
        }
        List<String> repaired = new ArrayList<>();
        for (PeerRoute<A, N, R> p : due) {
            boolean wasRefused = failed.contains(p.subnet());
            try {
                program(p);
                log.info("Repaired peer {}: put back its route dev {}{}", p, ifname,
                        wasRefused ? " (the kernel refused it before)" : "");
                repaired.add("route");
            } catch (NetlinkException e) {
                if (!e.getMessage().equals(lastRefusal.put(p.subnet(), e.getMessage()))) {
                    log.warn("Could not repair peer {}: {}; trying again at the next check", p, e.getMessage());
                }
            }
        }
        return repaired;
    }

    /** A route as `ip route` prints it, with the interface named. */
    private String describe(R r) {
        return family.describe(r).replace(" dev #" + ifindex, " dev " + ifname);
    }
}
