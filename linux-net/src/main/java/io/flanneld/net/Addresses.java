package io.flanneld.net;

import java.util.List;

/** IPv4 addresses of links. */
public interface Addresses {
    /** Adds the address; fails with EEXIST if the link already has it. */
    void add(int linkIndex, Ipv4Prefix address);

    /** Adds the address, or updates it if present: the idempotent form for reconciling state after a restart. */
    void replace(int linkIndex, Ipv4Prefix address);

    void delete(int linkIndex, Ipv4Prefix address);

    /** The IPv4 addresses of every link. */
    List<LinkAddress> list();

    List<LinkAddress> list(int linkIndex);
}
