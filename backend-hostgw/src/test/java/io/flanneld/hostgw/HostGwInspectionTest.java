package io.flanneld.hostgw;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.net.Route;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** What doctor reports for a host-gw node, from the backend's own decisions. */
class HostGwInspectionTest {
    private static final int ETH0 = 2;
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final Lease LOCAL = lease("198.19.1.0/24", "198.18.0.1", "host-gw");
    private static final List<Ip4Net> ON_LINK = List.of(Ip4Net.parse("198.18.0.0/16"));

    private static Lease lease(String subnet, String publicIp, String type) {
        return new Lease(Ip4Net.parse(subnet), new LeaseAttrs(Ip4.parse(publicIp), type, null), 1, 1);
    }

    private static Route route(String dst, String via) {
        return new Route(Ip4Net.parse(dst), OptionalInt.of(Ip4.parse(via)), ETH0, false, Route.TABLE_MAIN, Route.PROTOCOL_BOOT,
                Route.SCOPE_UNIVERSE, 0);
    }

    @Test
    void namesMissingStaleOffLinkAndForeignPeers() {
        List<Lease> peers = List.of(LOCAL, lease("198.19.2.0/24", "198.18.0.2", "host-gw"), lease("198.19.3.0/24", "198.18.0.3", "host-gw"),
                lease("198.19.4.0/24", "198.20.0.4", "host-gw"), lease("198.19.5.0/24", "198.18.0.5", "vxlan"));
        List<Route> kernel = List.of(route("198.19.2.0/24", "198.18.0.2"), route("198.19.9.0/24", "198.18.0.9"));
        HostGwInspection.Findings f = HostGwInspection.diagnose(kernel, ON_LINK, ETH0, "eth0", NETWORK, LOCAL, peers);
        assertEquals(List.of("198.19.3.0/24 via 198.18.0.3 dev eth0"), f.missing());
        assertEquals(1, f.stale().size(), f.stale().toString());
        assertEquals(true, f.stale().get(0).startsWith("198.19.9.0/24 via 198.18.0.9 dev eth0"), f.stale().toString());
        assertEquals(List.of("198.19.4.0/24 via 198.20.0.4: 198.20.0.4 is on none of eth0's networks 198.18.0.0/16"), f.offLink());
        assertEquals(List.of("198.19.5.0/24 (198.18.0.5) runs vxlan"), f.otherTypes());
        assertEquals(1, f.routed());
    }

    @Test
    void aWholeNodeHasNothingToReport() {
        List<Lease> peers = List.of(LOCAL, lease("198.19.2.0/24", "198.18.0.2", "host-gw"));
        HostGwInspection.Findings f = HostGwInspection.diagnose(List.of(route("198.19.2.0/24", "198.18.0.2")), ON_LINK, ETH0, "eth0",
                NETWORK, LOCAL, peers);
        assertEquals(new HostGwInspection.Findings(List.of(), List.of(), List.of(), List.of(), 1), f);
    }
}
