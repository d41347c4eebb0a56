package io.flanneld.hostgw;

import io.flanneld.net.Route6;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.Objects;

/**
 * What one peer's host-gw lease asks of this host for IPv6: {@code ip -6 route replace <IPv6 subnet> via <PublicIPv6>
 * dev <external interface>}, main table, protocol boot, the kernel's default metric: flannel's host-gw IPv6 route
 * (pkg/backend/hostgw/hostgw.go, GetV6Route).
 */
record PeerRoute6(Ip6Net subnet, Ip6 publicIp) {

    PeerRoute6 {
        Objects.requireNonNull(subnet, "subnet");
        Objects.requireNonNull(publicIp, "publicIp");
    }

    /** The route through the external interface {@code ifindex}. */
    Route6 route(int ifindex) {
        return Route6.viaDevice(subnet, publicIp, ifindex);
    }

    @Override
    public String toString() {
        return subnet + " via " + publicIp;
    }
}
