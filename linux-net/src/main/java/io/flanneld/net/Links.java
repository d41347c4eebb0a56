package io.flanneld.net;

import java.util.List;
import java.util.Optional;

/** Network interfaces: find, create (VXLAN), configure, delete. */
public interface Links {
    Optional<Link> byName(String name);

    Optional<Link> byIndex(int index);

    List<Link> list();

    /** Creates the device and returns it as the kernel reports it; fails with EEXIST if the name is taken. */
    Link createVxlan(VxlanSpec spec);

    void setMtu(int index, int mtu);

    void setUp(int index);

    void setDown(int index);

    void delete(int index);
}
