package io.flanneld.net;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;

/**
 * An IPv4 address assigned to a link (RTM_NEWADDR), e.g. 198.19.1.0/32 on flannel.1. The address keeps its host bits
 * (198.18.0.1/16 on eth0), which an {@link Ip4Net} would not; {@link #network()} clears them.
 *
 * @param address the IPv4 address, as an {@link Ip4} int
 * @param prefixLength the length of the network the address is on, 0..32
 */
public record LinkAddress(int linkIndex, int address, int prefixLength) {
    public LinkAddress {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("IPv4 prefix length must be 0..32, got " + prefixLength);
        }
    }

    /** The network the address is on (198.18.0.1/16 gives 198.18.0.0/16). */
    public Ip4Net network() {
        return Ip4Net.containing(address, prefixLength);
    }

    /** "198.18.0.1/16", as `ip addr` shows it. */
    @Override
    public String toString() {
        return Ip4.format(address) + "/" + prefixLength;
    }
}
