package io.flanneld.net;

import java.util.List;

/** IPv4 and IPv6 addresses of links. */
public interface Addresses {
    /** Adds the address to its link; fails with EEXIST if the link already has it. */
    void add(LinkAddress address);

    /** Adds the address, or updates it if present: the idempotent form for reconciling state after a restart. */
    void replace(LinkAddress address);

    void delete(LinkAddress address);

    /** The IPv4 addresses of every link. */
    List<LinkAddress> list();

    List<LinkAddress> list(int linkIndex);

    /** `ip -6 addr add`: fails with EEXIST if the link already has the address. */
    void add(LinkAddress6 address);

    /** Adds the IPv6 address, or updates it if present. */
    void replace(LinkAddress6 address);

    void delete(LinkAddress6 address);

    /** The IPv6 addresses of every link, with scope and flags (tentative, deprecated, ...). */
    List<LinkAddress6> list6();

    List<LinkAddress6> list6(int linkIndex);
}
