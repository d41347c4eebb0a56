package io.flanneld.backend;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip6;

/**
 * The underlay interface a host sends overlay traffic through.
 *
 * @param address the interface's own IPv4 address (the VXLAN local address, the UDP bind address)
 * @param publicIp the address other hosts send to; differs from {@code address} behind 1:1 NAT
 * @param address6 the interface's own IPv6 address (the IPv6 VXLAN device's local address), or null when the node
 *     carries no IPv6
 * @param publicIpv6 the IPv6 address other hosts send to ({@code --public-ipv6}, else {@code address6}), or null
 */
public record ExternalInterface(String name, int index, int address, int publicIp, int mtu, Ip6 address6,
        Ip6 publicIpv6) {

    public ExternalInterface {
        if ((address6 == null) != (publicIpv6 == null)) {
            throw new IllegalArgumentException("an interface has both IPv6 addresses or neither: " + address6 + ", "
                    + publicIpv6);
        }
    }

    /** An interface of a node that carries IPv4 only. */
    public ExternalInterface(String name, int index, int address, int publicIp, int mtu) {
        this(name, index, address, publicIp, mtu, null, null);
    }

    /** Whether the node carries IPv6 through this interface. */
    public boolean hasIpv6() {
        return address6 != null;
    }

    @Override
    public String toString() {
        String v6 = address6 == null ? ""
                : ", " + address6 + (publicIpv6.equals(address6) ? "" : ", public " + publicIpv6);
        return name + " (index " + index + ", " + Ip4.format(address) + ", public " + Ip4.format(publicIp) + v6
                + ", mtu " + mtu + ")";
    }
}
