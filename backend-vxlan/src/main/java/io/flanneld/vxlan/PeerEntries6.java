package io.flanneld.vxlan;

import io.flanneld.net.MacAddress;
import io.flanneld.net.Route6;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import java.util.List;
import java.util.Objects;

/**
 * What one peer's lease asks of this host on the IPv6 device flannel-v6.&lt;VNI&gt;, the IPv6 counterpart of
 * {@link PeerEntries}: through the tunnel an NDP entry (the IPv6 subnet's first address → the VtepMAC of
 * BackendV6Data) on the device, an FDB entry (VtepMAC → PublicIPv6) and a route (IPv6 subnet via its first address,
 * onlink); with direct routing (PublicIPv6 on one of this host's IPv6 underlay networks) only a route, the IPv6
 * subnet via PublicIPv6 on the underlay.
 */
record PeerEntries6(Ip6Net subnet, Ip6 publicIp, MacAddress vtepMac, boolean direct) {

    PeerEntries6 {
        Objects.requireNonNull(subnet, "subnet");
        Objects.requireNonNull(publicIp, "publicIp");
        Objects.requireNonNull(vtepMac, "vtepMac");
    }

    /**
     * Reads the IPv6 half of a peer's lease.
     *
     * @param directRouting the underlay's IPv6 networks when Backend.DirectRouting is on, else null
     * @throws PeerEntries.UnusableLeaseException when the lease is not a vxlan lease, has no IPv6 subnet, no
     *     PublicIPv6 or no readable BackendV6Data
     */
    static PeerEntries6 fromLease(Lease lease, List<Ip6Net> directRouting) {
        Ip6Net subnet = lease.ipv6Subnet();
        if (subnet == null) {
            throw new PeerEntries.UnusableLeaseException("lease " + lease.describe() + " has no IPv6 subnet");
        }
        String type = lease.attrs().backendType();
        if (!VxlanBackend.TYPE.equals(type)) {
            throw new PeerEntries.UnusableLeaseException("lease " + subnet + " has BackendType \"" + type
                    + "\", not \"vxlan\"");
        }
        Ip6 publicIp = lease.attrs().publicIpv6();
        if (publicIp == null) {
            throw new PeerEntries.UnusableLeaseException("lease " + subnet + " has no PublicIPv6");
        }
        VtepData data;
        try {
            data = VtepData.parse(lease.attrs().backendV6Data());
        } catch (IllegalArgumentException e) {
            throw new PeerEntries.UnusableLeaseException("lease " + subnet + " BackendV6Data: " + e.getMessage());
        }
        boolean direct = directRouting != null && directRouting.stream().anyMatch(n -> n.contains(publicIp));
        return new PeerEntries6(subnet, publicIp, data.vtepMac(), direct);
    }

    /** The IPv6 subnet's first address: the peer's IPv6 VTEP address and the tunnel route's gateway. */
    Ip6 gateway() {
        return subnet.address();
    }

    /** Through flannel-v6.&lt;VNI&gt; (onlink), or straight to PublicIPv6 on the underlay. */
    Route6 route(int vtepIndex, int underlayIndex) {
        if (direct) {
            return Route6.viaDevice(subnet, publicIp, underlayIndex);
        }
        return Route6.onlinkVia(subnet, gateway(), vtepIndex);
    }

    boolean sameVtep(PeerEntries6 other) {
        return !direct && !other.direct && vtepMac.equals(other.vtepMac) && publicIp.equals(other.publicIp);
    }

    @Override
    public String toString() {
        return subnet + (direct ? " via " + publicIp + " (direct)" : " at " + vtepMac + " behind " + publicIp);
    }
}
