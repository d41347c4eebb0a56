package io.flanneld.net;

import java.util.List;

/** IPv4 neighbour (ARP) entries. */
public interface Neighbours {
    /** Creates the entry or replaces the one for the same address on the same link (`ip neigh replace`). */
    void replace(Neighbour neighbour);

    /** Deletes the entry for {@code address} on the link, whatever its MAC. */
    void delete(int linkIndex, int address);

    /** Entries on the link that have a MAC (incomplete and failed ones are left out). */
    List<Neighbour> list(int linkIndex);
}
