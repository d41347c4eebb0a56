package io.flanneld.udp;

import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.Lease;
import java.util.ArrayList;
import java.util.List;

/**
 * Which leases are udp peers: those whose BackendType is {@code udp} (flannel's udp backend writes none, which
 * reads as udp). As flannel does, a host running another backend cannot be reached this way, and a host that
 * switches from udp to another type must stop being forwarded to. Pure: no I/O, no logging.
 */
final class UdpLeases {
    private UdpLeases() {
    }

    static boolean isPeer(Lease lease) {
        return UdpBackend.TYPE.equals(lease.attrs().backend());
    }

    /** The udp peers among {@code leases}, in their order. */
    static List<Lease> peers(List<Lease> leases) {
        List<Lease> kept = new ArrayList<>(leases.size());
        for (Lease lease : leases) {
            if (isPeer(lease)) {
                kept.add(lease);
            }
        }
        return kept;
    }

    /** The leases of {@code leases} that are not udp peers (to be reported as ignored). */
    static List<Lease> ignored(List<Lease> leases) {
        return leases.stream().filter(l -> !isPeer(l)).toList();
    }

    /**
     * The events as the forwarding table must see them, in the same order: an {@code Added} of a lease of another
     * backend type becomes its {@code Removed} (if that host used to be a udp peer, it is no longer one); every
     * other event is kept.
     */
    static List<LeaseEvent> effective(List<LeaseEvent> events) {
        List<LeaseEvent> effective = new ArrayList<>(events.size());
        for (LeaseEvent event : events) {
            if (event instanceof LeaseEvent.Added added && !isPeer(added.lease())) {
                effective.add(new LeaseEvent.Removed(added.lease()));
            } else {
                effective.add(event);
            }
        }
        return effective;
    }
}
