package io.flanneld.vxlan;

import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Route;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * What one peer's lease asks of this host. Through the tunnel: an ARP entry (subnet .0 → VtepMAC) on the VXLAN
 * device, an FDB entry (VtepMAC → PublicIP) and a route (subnet via subnet .0, onlink). With direct routing (the peer
 * is on this host's L2 segment): only a route, subnet via PublicIP on the underlay.
 *
 * @param direct true for a plain route through the underlay instead of the tunnel entries
 */
record PeerEntries(Ip4Net subnet, int publicIp, MacAddress vtepMac, boolean direct) {

    PeerEntries {
        Objects.requireNonNull(subnet, "subnet");
        Objects.requireNonNull(vtepMac, "vtepMac");
    }

    /**
     * Reads a peer's lease.
     *
     * @param directRouting the underlay's networks when Backend.DirectRouting is on, else null
     * @throws UnusableLeaseException when the lease is not a vxlan lease or its BackendData cannot be read
     */
    static PeerEntries fromLease(Lease lease, UnderlayNetworks directRouting) {
        String type = lease.attrs().backendType();
        if (!VxlanBackend.TYPE.equals(type)) {
            throw new UnusableLeaseException("lease " + lease.subnet() + " has BackendType \"" + type
                    + "\", not \"vxlan\"");
        }
        VtepData data;
        try {
            data = VtepData.parse(lease.attrs().backendData());
        } catch (IllegalArgumentException e) {
            throw new UnusableLeaseException("lease " + lease.subnet() + ": " + e.getMessage());
        }
        int publicIp = lease.attrs().publicIp();
        boolean direct = directRouting != null && directRouting.onSameSubnet(publicIp);
        return new PeerEntries(lease.subnet(), publicIp, data.vtepMac(), direct);
    }

    /** The subnet's first address, the peer's VTEP address and the tunnel route's gateway. */
    int gateway() {
        return subnet.address();
    }

    /** The route this peer needs: through the VXLAN device, or straight to its PublicIP on the underlay. */
    Route route(int vtepIndex, int underlayIndex) {
        if (direct) {
            return new Route(subnet, OptionalInt.of(publicIp), underlayIndex, false,
                    Route.TABLE_MAIN, Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0);
        }
        return Route.onlinkVia(subnet, gateway(), vtepIndex);
    }

    /** The FDB entry's identity: two leases of one host (old and new subnet) can share it. */
    boolean sameVtep(PeerEntries other) {
        return !direct && !other.direct && vtepMac.equals(other.vtepMac) && publicIp == other.publicIp;
    }

    @Override
    public String toString() {
        return subnet + (direct ? " via " + Ip4.format(publicIp) + " (direct)"
                : " at " + vtepMac + " behind " + Ip4.format(publicIp));
    }

    /** A lease this backend cannot program: another backend type, or BackendData without a usable VtepMAC. */
    static final class UnusableLeaseException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        UnusableLeaseException(String message) {
            super(message);
        }
    }
}
