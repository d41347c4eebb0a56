package io.flanneld.net;

import java.util.List;
import java.util.Objects;

/** A link together with its IPv4 addresses: what interface selection (--iface, --public-ip) looks at. */
public record LinkWithAddresses(Link link, List<LinkAddress> addresses) {
    public LinkWithAddresses {
        Objects.requireNonNull(link, "link");
        addresses = List.copyOf(addresses);
    }
}
