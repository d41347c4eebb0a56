package io.flanneld.net;

import java.util.List;

/** The forwarding database of a VXLAN device: which remote VTEP each MAC lives behind. */
public interface Fdb {
    /** `bridge fdb add`: fails with EEXIST if the MAC has an entry. */
    void add(FdbEntry entry);

    /** `bridge fdb append`: adds a destination, keeping existing ones for the MAC. */
    void append(FdbEntry entry);

    /** `bridge fdb replace`: creates the entry or changes the MAC's destination. */
    void replace(FdbEntry entry);

    /** Deletes the entry for this MAC and destination. */
    void delete(FdbEntry entry);

    /** The device's own entries (NTF_SELF) that have an IPv4 destination. */
    List<FdbEntry> list(int linkIndex);

    /** `bridge fdb add ... dst IPV6`: fails with EEXIST if the MAC has an entry. */
    void add(FdbEntry6 entry);

    void append(FdbEntry6 entry);

    /** Creates the entry or changes the MAC's destination to the IPv6 one. */
    void replace(FdbEntry6 entry);

    void delete(FdbEntry6 entry);

    /** The device's own entries (NTF_SELF) that have an IPv6 destination. */
    List<FdbEntry6> list6(int linkIndex);
}
