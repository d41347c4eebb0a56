package io.flanneld.net;

import java.util.List;

/** Neighbour entries: IPv4 (ARP) and IPv6 (NDP). */
public interface Neighbours {
    /** Creates the entry or replaces the one for the same address on the same link (`ip neigh replace`). */
    void replace(Neighbour neighbour);

    /** Deletes the entry for {@code address} on the link, whatever its MAC. */
    void delete(int linkIndex, int address);

    /** Entries on the link that have a MAC (incomplete and failed ones are left out). */
    List<Neighbour> list(int linkIndex);

    /** `ip -6 neigh replace`: creates the NDP entry or replaces the one for the same address on the link. */
    void replace(Neighbour6 neighbour);

    /** Deletes the NDP entry for {@code address} on the link, whatever its MAC. */
    void delete(int linkIndex, io.flanneld.schema.Ip6 address);

    /** NDP entries on the link that have a MAC. */
    List<Neighbour6> list6(int linkIndex);
}
