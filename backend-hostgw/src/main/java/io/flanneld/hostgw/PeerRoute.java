package io.flanneld.hostgw;

import java.util.Objects;

/**
 * What one peer's host-gw lease asks of this host in one address family: {@code ip route replace <subnet> via
 * <PublicIP> dev <external interface>} (IPv4: main table, protocol boot, metric 0: the route flannel's host-gw backend
 * installs), or {@code ip -6 route replace <IPv6 subnet> via <PublicIPv6> dev <external interface>} (the kernel's
 * default metric: flannel's GetV6Route).
 */
record PeerRoute<A, N, R>(Family<A, N, R> family, N subnet, A publicIp) {

    PeerRoute {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(subnet, "subnet");
        Objects.requireNonNull(publicIp, "publicIp");
    }

    /** The route through the external interface {@code ifindex}. */
    R route(int ifindex) {
        return family.viaDevice(subnet, publicIp, ifindex);
    }

    @Override
    public String toString() {
        return subnet + " via " + family.format(publicIp);
    }
}
