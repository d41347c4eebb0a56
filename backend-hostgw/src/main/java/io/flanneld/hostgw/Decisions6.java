package io.flanneld.hostgw;

import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * {@link Decisions} for the IPv6 half of the leases: pure functions over value types. A metric of 0 in a wanted route
 * is the kernel's default (1024), which is how the kernel reports it, so route identity compares destination, gateway
 * and device.
 */
final class Decisions6 {
    private Decisions6() {
    }

    /** What to do with the IPv6 half of one peer lease. */
    sealed interface ForLease permits Routed, OtherBackend, OffLink, NoIpv6 {
    }

    record Routed(PeerRoute6 route) implements ForLease {
    }

    record OtherBackend(String backend) implements ForLease {
    }

    /** PublicIPv6 on none of the external interface's global IPv6 networks. */
    record OffLink(PeerRoute6 wanted, List<Ip6Net> onLink) implements ForLease {
    }

    /** The lease has no IPv6 subnet or no PublicIPv6: nothing to route in IPv6. */
    record NoIpv6() implements ForLease {
    }

    static ForLease forLease(Lease lease, List<Ip6Net> onLink) {
        String backend = lease.attrs().backend();
        if (!BackendConfig.HOST_GW.equals(backend)) {
            return new OtherBackend(backend);
        }
        Ip6 publicIp = lease.attrs().publicIpv6();
        if (lease.ipv6Subnet() == null || publicIp == null) {
            return new NoIpv6();
        }
        PeerRoute6 route = new PeerRoute6(lease.ipv6Subnet(), publicIp);
        return onLink.stream().anyMatch(n -> n.contains(publicIp)) ? new Routed(route) : new OffLink(route, onLink);
    }

    record RouteKey(Ip6Net destination, Optional<Ip6> gateway, int outputIndex) {
        static RouteKey of(Route6 r) {
            return new RouteKey(r.destination(), r.gateway(), r.outputIndex());
        }
    }

    /** As {@link Decisions#stale}: gateway routes through {@code ifindex} strictly inside the IPv6 Network. */
    static List<Route6> stale(List<Route6> kernel, Collection<PeerRoute6> wanted, int ifindex, Ip6Net network,
                              Ip6Net local) {
        Set<RouteKey> want = new HashSet<>();
        for (PeerRoute6 p : wanted) {
            want.add(RouteKey.of(p.route(ifindex)));
        }
        List<Route6> out = new ArrayList<>();
        for (Route6 r : kernel) {
            if (r.outputIndex() != ifindex || r.gateway().isEmpty() || r.protocol() == Route.PROTOCOL_KERNEL
                    || r.table() != Route.TABLE_MAIN) {
                continue;
            }
            Ip6Net dst = r.destination();
            if (dst.prefixLength() <= network.prefixLength() || !network.contains(dst) || dst.equals(local)) {
                continue;
            }
            if (!want.contains(RouteKey.of(r))) {
                out.add(r);
            }
        }
        return out;
    }

    static List<PeerRoute6> missing(List<Route6> kernel, Collection<PeerRoute6> peers, int ifindex) {
        Set<RouteKey> present = new HashSet<>();
        for (Route6 r : kernel) {
            present.add(RouteKey.of(r));
        }
        List<PeerRoute6> out = new ArrayList<>();
        for (PeerRoute6 p : peers) {
            if (!present.contains(RouteKey.of(p.route(ifindex)))) {
                out.add(p);
            }
        }
        return out;
    }
}
