package io.flanneld.hostgw;

import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip6Net;
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
 * {@link RouteProgrammer} for IPv6: keeps the routes to the peers' IPv6 subnets via their PublicIPv6 on the external
 * interface in line with the leases, with the same replace, removal, reconcile and repair behaviour.
 */
final class RouteProgrammer6 {
    private static final Logger log = LoggerFactory.getLogger(RouteProgrammer6.class);

    private final Rtnetlink nl;
    private final int ifindex;
    private final String ifname;
    /** What was last asked for each peer subnet, whether or not the kernel accepted it. */
    private final Map<Ip6Net, PeerRoute6> peers = new LinkedHashMap<>();
    /** Subnets whose last programming the kernel refused; not counted as programmed, retried by {@link #repair}. */
    private final Set<Ip6Net> failed = new HashSet<>();
    /** The last refusal logged for each subnet whose repair fails, so a peer the kernel keeps refusing is logged once. */
    private final Map<Ip6Net, String> lastRefusal = new HashMap<>();

    RouteProgrammer6(Rtnetlink nl, int ifindex, String ifname) {
        this.nl = nl;
        this.ifindex = ifindex;
        this.ifname = ifname;
    }

    /** Peers whose route is in place. */
    int programmedCount() {
        return peers.size() - failed.size();
    }

    Optional<PeerRoute6> known(Ip6Net subnet) {
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
    void program(PeerRoute6 want) {
        // Remember the intent before touching the kernel, so a later removal also covers a refused peer.
        PeerRoute6 old = peers.put(want.subnet(), want);
        failed.add(want.subnet());
        nl.routes().replace(want.route(ifindex));
        failed.remove(want.subnet());
        lastRefusal.remove(want.subnet());
        if (old == null) {
            log.info("Programmed peer {} dev {}", want, ifname);
        } else if (!old.equals(want)) {
            log.info("Changed peer {} dev {} (was via {})", want, ifname, old.publicIp());
        } else {
            log.debug("Re-applied peer {} dev {}", want, ifname);
        }
    }

    /**
     * Removes a peer's route. {@code fromLease} describes it when this process never programmed the subnet; what was
     * programmed takes precedence. Only the exact route (destination, gateway, device) is deleted, so a route someone
     * else put there for the subnet stays; a route already gone is fine.
     */
    void remove(Ip6Net subnet, Optional<PeerRoute6> fromLease) {
        PeerRoute6 had = peers.remove(subnet);
        failed.remove(subnet);
        lastRefusal.remove(subnet);
        PeerRoute6 gone = had != null ? had : fromLease.orElse(null);
        if (gone == null) {
            log.debug("Removed lease {} had no route", subnet);
            return;
        }
        Route6 route = gone.route(ifindex);
        try {
            nl.routes().delete(route);
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
    int reconcile(Ip6Net localSubnet, Ip6Net network, List<PeersNotProgrammedException.Failure> failures) {
        int removed = 0;
        for (Route6 r : Decisions6.stale(nl.routes().list6(), peers.values(), ifindex, network, localSubnet)) {
            String what = describe(r);
            try {
                nl.routes().delete(r);
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
        List<PeerRoute6> due = new ArrayList<>(Decisions6.missing(nl.routes().list6(), peers.values(), ifindex));
        for (Ip6Net subnet : failed) {
            PeerRoute6 p = peers.get(subnet);
            if (p != null && !due.contains(p)) {
                due.add(p);
            }
        }
        List<String> repaired = new ArrayList<>();
        for (PeerRoute6 p : due) {
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
    private String describe(Route6 r) {
        return r.describe().replace(" dev #" + ifindex, " dev " + ifname);
    }
}
