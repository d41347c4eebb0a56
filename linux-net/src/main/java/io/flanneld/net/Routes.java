package io.flanneld.net;

import java.util.List;
import java.util.Optional;

/** IPv4 unicast routes. */
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
}
