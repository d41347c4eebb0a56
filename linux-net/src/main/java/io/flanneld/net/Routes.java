package io.flanneld.net;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.util.List;
import java.util.Optional;

/** IPv4 and IPv6 unicast routes, blackhole routes of the main table, and the kernel's route lookup. */
public interface Routes {
    /** Adds the route; fails with EEXIST if one for the same destination, table and metric exists. */
    void add(Route route);

    /** Adds the route or replaces the one for the same destination, table and metric. */
    void replace(Route route);

    /** Deletes the route matching destination, table, gateway and device (whatever protocol and scope). */
    void delete(Route route);

    /** Unicast routes of the main table. */
    List<Route> list();

    List<Route> list(int table);

    /** The main table's default route with the lowest metric, if there is one. */
    Optional<Route> defaultRoute();

    /**
     * The route the kernel would use to send to {@code destination}: what `ip route get` shows. Empty when no route
     * reaches it (ENETUNREACH); a blackhole, unreachable or prohibit route covering it is an error (EINVAL,
     * EHOSTUNREACH, EACCES), as the kernel reports it.
     */
    Optional<RouteLookup> lookup(int destination);

    /**
     * Adds "blackhole DST" to the main table. Fails with EEXIST if a route of any type for the same destination and
     * metric 0 is there (it is never replaced).
     */
    void addBlackhole(Ip4Net destination);

    /** Deletes the main table's blackhole route for DST (only a blackhole route); ESRCH if there is none. */
    void deleteBlackhole(Ip4Net destination);

    /** Destinations of the main table's blackhole routes. */
    List<Ip4Net> blackholes();

    /** Adds the IPv6 route; fails with EEXIST if one for the same destination, table and metric exists. */
    void add(Route6 route);

    /** Adds the IPv6 route or replaces the one for the same destination, table and metric. */
    void replace(Route6 route);

    /** Deletes the IPv6 route matching destination, table, gateway and device (metric 0: any metric). */
    void delete(Route6 route);

    /** IPv6 unicast routes of the main table. */
    List<Route6> list6();

    List<Route6> list6(int table);

    /** The main table's IPv6 default route with the lowest metric, if there is one. */
    Optional<Route6> defaultRoute6();

    /**
     * Adds "blackhole DST" (IPv6) to the main table, as `ip -6 route add blackhole DST` does: on lo, metric 1024.
     * Fails with EEXIST if a route for DST with metric 1024 is there; a route for DST with another metric (a bridge's
     * prefix route, 256) stays and keeps winning.
     */
    void addBlackhole6(Ip6Net destination);

    /** Deletes the IPv6 blackhole route {@link #addBlackhole6} adds, and never another route for DST; ESRCH if none. */
    void deleteBlackhole6(Ip6Net destination);

    /** Destinations of the main table's IPv6 blackhole routes of metric 1024. */
    List<Ip6Net> blackholes6();

    /** What `ip -6 route get` shows; empty when no route reaches it (ENETUNREACH). */
    Optional<RouteLookup6> lookup6(io.flanneld.schema.Ip6 destination);
}
