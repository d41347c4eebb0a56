package io.flanneld.backend;

import io.flanneld.schema.Ip4;

/**
 * The underlay interface a host sends overlay traffic through.
 *
 * @param address the interface's own IPv4 address (the VXLAN local address, the UDP bind address)
 * @param publicIp the address other hosts send to; differs from {@code address} behind 1:1 NAT
 */
public record ExternalInterface(String name, int index, int address, int publicIp, int mtu) {

    @Override
    public String toString() {
        return name + " (index " + index + ", " + Ip4.format(address) + ", public " + Ip4.format(publicIp) + ", mtu " + mtu + ")";
    }
}
