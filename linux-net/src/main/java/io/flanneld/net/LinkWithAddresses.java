package io.flanneld.net;

import java.util.List;
import java.util.Objects;

/**
 * A link together with its IPv4 and IPv6 addresses: what interface selection (--iface, --public-ip, --public-ipv6)
 * looks at.
 */
public record LinkWithAddresses(Link link, List<LinkAddress> addresses, List<LinkAddress6> ipv6Addresses) {
    public LinkWithAddresses {
        Objects.requireNonNull(link, "link");
        addresses = List.copyOf(addresses);
        ipv6Addresses = List.copyOf(ipv6Addresses);
    }

    /** A link with IPv4 addresses only. */
    public LinkWithAddresses(Link link, List<LinkAddress> addresses) {
        this(link, addresses, List.of());
    }
}
