package io.flanneld.net;

import java.util.Objects;

/** An IPv4 address assigned to a link (RTM_NEWADDR), e.g. 198.19.1.0/32 on flannel.1. */
public record LinkAddress(int linkIndex, Ipv4Prefix address) {
    public LinkAddress {
        Objects.requireNonNull(address, "address");
    }
}
