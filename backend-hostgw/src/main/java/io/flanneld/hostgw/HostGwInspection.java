package io.flanneld.hostgw;

import io.flanneld.net.Route;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import java.util.ArrayList;
import java.util.List;

/**
 * Read-only comparison of the kernel's routes with what the other hosts' leases ask a host-gw node for, for
 * {@code flanneld-java doctor}: the same {@link Decisions} the backend programs and repairs with, so the doctor and
 * the daemon never disagree about what "missing" or "stale" means. Pure.
 */
public final class HostGwInspection {
    private HostGwInspection() {
    }

    /**
     * @param missing    peers' routes the kernel lacks, as {@code ip route} prints them
     * @param stale      gateway routes through the interface into the Network that no lease backs
     * @param offLink    host-gw peers this node cannot route (PublicIP not on the interface's networks)
     * @param otherTypes peers running another backend
     * @param routed     how many peers have their route
     */
    public record Findings(List<String> missing, List<String> stale, List<String> offLink, List<String> otherTypes, int routed) {
    }

    /**
     * @param kernel   the main table's routes
     * @param onLink   the external interface's connected IPv4 networks
     * @param ifindex  the external interface's index, {@code ifname} its name
     */
    public static Findings diagnose(List<Route> kernel, List<Ip4Net> onLink, int ifindex, String ifname, Ip4Net network, Lease local,
                                    List<Lease> peers) {
        Family.OnLink<Integer> l2 = Family.V4.onLink(onLink);
        List<PeerRoute<Integer, Ip4Net, Route>> wanted = new ArrayList<>();
        List<String> offLink = new ArrayList<>();
        List<String> other = new ArrayList<>();
        for (Lease lease : peers) {
            if (lease.subnet().equals(local.subnet())) {
                continue;
            }
            Decisions.ForLease<Integer, Ip4Net, Route> decision = Decisions.forLease(Family.IPV4, lease, l2);
            if (decision instanceof Decisions.Routed<Integer, Ip4Net, Route> r) {
                wanted.add(r.route());
            } else if (decision instanceof Decisions.OffLink<Integer, Ip4Net, Route> o) {
                offLink.add(o.wanted() + ": " + Ip4.format(o.wanted().publicIp()) + " is on none of " + ifname + "'s networks " + o.onLink());
            } else if (decision instanceof Decisions.OtherBackend<Integer, Ip4Net, Route> b) {
                other.add(lease.subnet() + " (" + lease.attrs().publicIpText() + ") runs " + b.backend());
            }
        }
        List<String> missing = new ArrayList<>();
        for (PeerRoute<Integer, Ip4Net, Route> p : Decisions.missing(Family.IPV4, kernel, wanted, ifindex)) {
            missing.add(p.subnet() + " via " + Ip4.format(p.publicIp()) + " dev " + ifname);
        }
        List<String> stale = new ArrayList<>();
        for (Route r : Decisions.stale(Family.IPV4, kernel, wanted, ifindex, network, local.subnet())) {
            stale.add(r.describe().replace(" dev #" + ifindex, " dev " + ifname));
        }
        return new Findings(missing, stale, offLink, other, wanted.size() - missing.size());
    }
}
