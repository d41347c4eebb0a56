package io.flanneld.daemon;

import io.flanneld.net.Errno;
import io.flanneld.net.ErrnoException;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Routes;
import io.flanneld.schema.Ip4Net;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --ip-blackhole-route}: "blackhole SUBNET" in the main table for this node's own subnet, so that traffic to
 * addresses of the subnet that no pod holds is dropped on the node instead of following the default route out of it
 * (flannel adds it for set-ups where no bridge route covers the subnet, e.g. Canal). More specific routes (a
 * bridge's, a pod's /32) still win.
 *
 * <p>As in flannel, a route that cannot be added is a warning, not a reason to stop: the data path works without it.
 * The route is added only if no route holds the subnet already: a bridge's route for the same subnet is never
 * replaced. Like flannel, the daemon's keeper puts it back when someone deleted it ({@link #ensure()}, every
 * {@code --iptables-resync} seconds). {@link #close()} removes it (only a blackhole route, never another route for the
 * subnet).
 */
final class BlackholeRoute implements PacketFilter {
    private static final Logger LOG = LoggerFactory.getLogger("flanneld");

    private final Routes routes;
    private final Ip4Net subnet;
    private final boolean added;

    private BlackholeRoute(Routes routes, Ip4Net subnet, boolean added) {
        this.routes = routes;
        this.subnet = subnet;
        this.added = added;
    }

    /** Adds the route (or adopts one a previous run left), logging a warning instead of failing. */
    static BlackholeRoute add(Routes routes, Ip4Net subnet) {
        try {
            if (!routes.blackholes().contains(subnet)) {
                routes.addBlackhole(subnet);
            }
            LOG.info("--ip-blackhole-route: blackhole route for {} in the main table", subnet);
            return new BlackholeRoute(routes, subnet, true);
        } catch (ErrnoException e) {
            String why = e.errno() == Errno.EEXIST
                    ? "; another route for the subnet is in the main table and is left as it is" : "";
            LOG.warn("--ip-blackhole-route: no blackhole route for {}: {} ({}){}; going on without it", subnet,
                    e.errnoName(), e.errnoMessage(), why);
        } catch (RuntimeException e) {
            LOG.warn("--ip-blackhole-route: no blackhole route for {}: {}; going on without it", subnet,
                    e.getMessage());
        }
        return new BlackholeRoute(routes, subnet, false);
    }

    @Override
    public String what() {
        return "blackhole_route";
    }

    @Override
    public String where() {
        return "the main routing table (blackhole " + subnet + ")";
    }

    /**
     * Puts the route back if it was added at start and is gone now; a route that could not be added at start (another
     * route held the subnet) stays the operator's business.
     */
    @Override
    public boolean ensure() {
        if (!added || routes.blackholes().contains(subnet)) {
            return false;
        }
        try {
            routes.addBlackhole(subnet);
            return true;
        } catch (ErrnoException e) {
            if (e.errno() == Errno.EEXIST) {
                // Another route for the subnet took its place: leave it, as at start.
                return false;
            }
            throw e;
        }
    }

    /** Whether the route was added (or found) and is removed by {@link #close()}. */
    boolean added() {
        return added;
    }

    @Override
    public void close() {
        if (!added) {
            return;
        }
        try {
            routes.deleteBlackhole(subnet);
            LOG.info("--ip-blackhole-route: removed the blackhole route for {}", subnet);
        } catch (NetlinkException e) {
            if (!e.notFound()) {
                throw e;
            }
        }
    }
}
