package io.flanneld.hostgw;

import io.flanneld.net.Route;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * What one peer's host-gw lease asks of this host: {@code ip route replace <subnet> via <PublicIP> dev <external
 * interface>}, in the main table, protocol boot, metric 0: the route flannel's host-gw backend installs.
 */
record PeerRoute(Ip4Net subnet, int publicIp) {

    PeerRoute {
        Objects.requireNonNull(subnet, "subnet");
    }

    /** The route through the external interface {@code ifindex}. */
    Route route(int ifindex) {
        return new Route(subnet, OptionalInt.of(publicIp), ifindex, false, Route.TABLE_MAIN,
                Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0);
    }

    @Override
    public String toString() {
        return subnet + " via " + Ip4.format(publicIp);
    }
}
