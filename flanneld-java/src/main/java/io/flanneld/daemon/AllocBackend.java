package io.flanneld.daemon;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Lease;
import java.util.List;

/**
 * flannel's {@code alloc} backend: leases a subnet and programs no data path, for clusters whose
 * routing is done by something else. Pods use the interface MTU.
 */
final class AllocBackend implements Backend {
    private final ExternalInterface iface;

    AllocBackend(ExternalInterface iface) {
        this.iface = iface;
    }

    @Override
    public String type() {
        return BackendConfig.ALLOC;
    }

    @Override
    public String backendData() {
        return null;
    }

    /** Leases only: with EnableIPv6 the node leases an IPv6 subnet too, and there is no data path to refuse it. */
    @Override
    public boolean carriesIpv6() {
        return true;
    }

    @Override
    public int mtu() {
        return iface.mtu();
    }

    @Override
    public void start(Lease local, List<Lease> peers) {
        // Nothing to program.
    }

    @Override
    public void apply(List<LeaseEvent> events) {
        // Nothing to program.
    }

    @Override
    public int peerCount() {
        return 0;
    }

    @Override
    public void close() {
    }
}
