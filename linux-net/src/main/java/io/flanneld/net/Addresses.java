package io.flanneld.net;

import java.util.List;

/** IPv4 addresses of links. */
public interface Addresses {
    /** Adds the address to its link; fails with EEXIST if the link already has it. */
    void add(LinkAddress address);

    /** Adds the address, or updates it if present: the idempotent form for reconciling state after a restart. */
    void replace(LinkAddress address);

    void delete(LinkAddress address);

    /** The IPv4 addresses of every link. */
    List<LinkAddress> list();

    List<LinkAddress> list(int linkIndex);
}
