package io.flanneld.daemon;

import io.flanneld.net.Errno;
import io.flanneld.net.ErrnoException;
import io.flanneld.net.IpFamily;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Rtnetlink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code --ip-blackhole-route}: "blackhole SUBNET" in the main table for this node's own subnet, one per address family
 * the node has a subnet of (as flannel does), so that traffic to addresses of the subnet that no pod holds is dropped
 * on the node instead of following the default route out of it (flannel adds it for set-ups where no bridge route
 * covers the subnet, e.g. Canal). More specific routes (a bridge's, a pod's /32) still win, and so does, for IPv6, a
 * route for the subnet with a lower metric (the kernel gives a blackhole route 1024, a bridge's prefix route 256).
 *
 * <p>As in flannel, a route that cannot be added is a warning, not a reason to stop: the data path works without it.
 * The route is added only if no route holds the subnet already: a bridge's route for the same subnet is never
 * replaced. Like flannel, the daemon's keeper puts it back when someone deleted it ({@link #ensure()}, every
 * {@code --iptables-resync} seconds). {@link #close()} removes it (only a blackhole route, never another route for the
 * subnet).
 */
final class BlackholeRoute<N> implements PacketFilter {
    private static final Logger LOG = LoggerFactory.getLogger("flanneld");

    private final Rtnetlink nl;
    private final IpFamily<?, N, ?> family;
    private final N subnet;
    private final boolean added;

    private BlackholeRoute(Rtnetlink nl, IpFamily<?, N, ?> family, N subnet, boolean added) {
        this.nl = nl;
        this.family = family;
        this.subnet = subnet;
        this.added = added;
    }

    /** Adds the route (or adopts one a previous run left), logging a warning instead of failing. */
    static <N> BlackholeRoute<N> add(Rtnetlink nl, IpFamily<?, N, ?> family, N subnet) {
        try {
            if (!family.blackholes(nl).contains(subnet)) {
                family.addBlackhole(nl, subnet);
            }
            LOG.info("--ip-blackhole-route: blackhole route for {} in the main table", subnet);
            return new BlackholeRoute<>(nl, family, subnet, true);
        } catch (ErrnoException e) {
            String why = e.errno() == Errno.EEXIST
                    ? "; another route for the subnet is in the main table and is left as it is" : "";
            LOG.warn("--ip-blackhole-route: no blackhole route for {}: {} ({}){}; going on without it", subnet,
                    e.errnoName(), e.errnoMessage(), why);
        } catch (RuntimeException e) {
            LOG.warn("--ip-blackhole-route: no blackhole route for {}: {}; going on without it", subnet,
                    e.getMessage());
        }
        return new BlackholeRoute<>(nl, family, subnet, false);
    }

    @Override
    public String what() {
        return family == IpFamily.IPV6 ? "blackhole_route_v6" : "blackhole_route";
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
        if (!added || family.blackholes(nl).contains(subnet)) {
            return false;
        }
        try {
            family.addBlackhole(nl, subnet);
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
            family.deleteBlackhole(nl, subnet);
            LOG.info("--ip-blackhole-route: removed the blackhole route for {}", subnet);
        } catch (NetlinkException e) {
            if (!e.notFound()) {
                throw e;
            }
        }
    }
}
