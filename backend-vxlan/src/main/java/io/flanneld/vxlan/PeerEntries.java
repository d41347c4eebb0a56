package io.flanneld.vxlan;

import io.flanneld.net.MacAddress;
import io.flanneld.schema.Lease;
import java.util.Objects;

/**
 * What one peer's lease asks of this host in one address family. Through the tunnel: a neighbour entry (ARP or NDP:
 * the subnet's first address → VtepMAC) on the family's VXLAN device, an FDB entry (VtepMAC → the public address) and
 * a route (subnet via its first address, onlink). With direct routing (the peer is on this host's L2 segment): only a
 * route, subnet via the public address on the underlay.
 *
 * @param direct true for a plain route through the underlay instead of the tunnel entries
 */
record PeerEntries<A, N, R>(Family<A, N, R> family, N subnet, A publicIp, MacAddress vtepMac, boolean direct) {

    PeerEntries {
        Objects.requireNonNull(family, "family");
        Objects.requireNonNull(subnet, "subnet");
        Objects.requireNonNull(publicIp, "publicIp");
        Objects.requireNonNull(vtepMac, "vtepMac");
    }

    /**
     * Reads the family's half of a peer's lease: its subnet, public address and BackendData (IPv4) or BackendV6Data
     * (IPv6).
     *
     * @param directRouting the underlay's networks when Backend.DirectRouting is on, else null
     * @throws UnusableLeaseException when the lease is not a vxlan lease, lacks the family's subnet or public address,
     *     or its BackendData cannot be read
     */
    static <A, N, R> PeerEntries<A, N, R> fromLease(Family<A, N, R> family, Lease lease,
                                                    Family.Underlay<A> directRouting) {
        N subnet = family.subnet(lease);
        if (subnet == null) {
            throw new UnusableLeaseException("lease " + lease.describe() + " has no " + family.prefix() + "subnet");
        }
        String type = lease.attrs().backendType();
        if (!VxlanBackend.TYPE.equals(type)) {
            throw new UnusableLeaseException("lease " + subnet + " has BackendType \"" + type + "\", not \"vxlan\"");
        }
        A publicIp = family.publicIp(lease);
        if (publicIp == null) {
            throw new UnusableLeaseException("lease " + subnet + " has no " + family.publicIpName());
        }
        VtepData data;
        try {
            data = VtepData.parse(family.backendData(lease));
        } catch (IllegalArgumentException e) {
            throw new UnusableLeaseException("lease " + subnet + family.backendDataSeparator() + e.getMessage());
        }
        boolean direct = directRouting != null && directRouting.onSameSubnet().test(publicIp);
        return new PeerEntries<>(family, subnet, publicIp, data.vtepMac(), direct);
    }

    /** The subnet's first address, the peer's VTEP address and the tunnel route's gateway. */
    A gateway() {
        return family.firstAddress(subnet);
    }

    /** The route this peer needs: through the VXLAN device (onlink), or straight to its public address on the underlay. */
    R route(int vtepIndex, int underlayIndex) {
        if (direct) {
            return family.viaDevice(subnet, publicIp, underlayIndex);
        }
        return family.onlinkVia(subnet, gateway(), vtepIndex);
    }

    /** The FDB entry's identity: two leases of one host (old and new subnet) can share it. */
    boolean sameVtep(PeerEntries<A, N, R> other) {
        return !direct && !other.direct && vtepMac.equals(other.vtepMac) && publicIp.equals(other.publicIp);
    }

    @Override
    public String toString() {
        String at = family.format(publicIp);
        return subnet + (direct ? " via " + at + " (direct)" : " at " + vtepMac + " behind " + at);
    }

    /** A lease this backend cannot program: another backend type, or BackendData without a usable VtepMAC. */
    static final class UnusableLeaseException extends IllegalArgumentException {
        private static final long serialVersionUID = 1L;

        UnusableLeaseException(String message) {
            super(message);
        }
    }
}
