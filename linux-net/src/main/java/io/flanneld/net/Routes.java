package io.flanneld.net;

import io.flanneld.schema.Ip4Net;
import java.util.List;
import java.util.Optional;

/** IPv4 unicast routes, blackhole routes of the main table, and the kernel's route lookup. */
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
}
