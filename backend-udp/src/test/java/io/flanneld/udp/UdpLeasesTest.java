package io.flanneld.udp;

import static io.flanneld.udp.Packets.lease;
import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.Ip4Net;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which leases the udp backend forwards to, without sockets or devices. */
class UdpLeasesTest {
    private final Lease udp = lease("198.19.2.0/24", "198.18.0.2");
    private final Lease vxlan = lease("198.19.3.0/24", "198.18.0.3", "vxlan");
    private final Lease hostGw = lease("198.19.4.0/24", "198.18.0.4", "host-gw");
    /** flannel's own udp backend writes no BackendType. */
    private final Lease flannels = new Lease(Ip4Net.parse("198.19.5.0/24"),
            new LeaseAttrs(Ip4.parse("198.18.0.5"), "", null), 1, 2);

    @Test
    void udpAndUntypedLeasesArePeersOthersAreNot() {
        assertTrue(UdpLeases.isPeer(udp));
        assertTrue(UdpLeases.isPeer(flannels));
        assertFalse(UdpLeases.isPeer(vxlan));
        assertFalse(UdpLeases.isPeer(hostGw));
        assertEquals(List.of(udp, flannels), UdpLeases.peers(List.of(udp, vxlan, flannels, hostGw)));
        assertEquals(List.of(vxlan, hostGw), UdpLeases.ignored(List.of(udp, vxlan, flannels, hostGw)));
    }

    @Test
    void anAddedLeaseOfAnotherTypeBecomesItsRemovalInOrder() {
        List<LeaseEvent> events = List.of(new LeaseEvent.Added(udp), new LeaseEvent.Added(vxlan),
                new LeaseEvent.Removed(hostGw), new LeaseEvent.Added(flannels));
        assertEquals(List.of(new LeaseEvent.Added(udp), new LeaseEvent.Removed(vxlan), new LeaseEvent.Removed(hostGw),
                new LeaseEvent.Added(flannels)), UdpLeases.effective(events));
    }

    /** The forwarding table built from the filtered events holds no entry for the other backend's subnet. */
    @Test
    void aHostThatSwitchesToVxlanIsNoLongerForwardedTo() {
        ForwardingTable table = ForwardingTable.of(UdpLeases.peers(List.of(udp)));
        assertTrue(table.find(Ip4.parse("198.19.2.1")) >= 0);
        Lease switched = lease("198.19.2.0/24", "198.18.0.2", "vxlan");
        table = table.apply(UdpLeases.effective(List.of(new LeaseEvent.Added(switched))));
        assertEquals(-1, table.find(Ip4.parse("198.19.2.1")));
        assertEquals(0, table.size());
        ForwardingTable fresh = ForwardingTable.of(UdpLeases.peers(List.of(vxlan)));
        assertEquals(-1, fresh.find(Ip4.parse("198.19.3.1")));
    }
}
