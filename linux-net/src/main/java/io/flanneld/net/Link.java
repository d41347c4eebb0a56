package io.flanneld.net;

import java.util.Objects;
import java.util.Optional;

/**
 * A network interface as the kernel reports it (RTM_NEWLINK).
 *
 * @param index the ifindex
 * @param name the interface name, e.g. "flannel.1"
 * @param flags the IFF_* flags (IFF_UP = 1, ...)
 * @param mtu the MTU
 * @param mac the hardware address; empty for devices without one (TUN)
 * @param kind the IFLA_INFO_KIND, e.g. "vxlan", "veth", "tun"; empty for devices without rtnl_link_ops (loopback,
 *     physical NICs)
 * @param vxlan the VXLAN attributes when the kind is "vxlan"
 * @param tun the TUN/TAP attributes when the kind is "tun" (kernels since 4.15 report them)
 */
public record Link(int index, String name, int flags, int mtu, Optional<MacAddress> mac, Optional<String> kind,
                   Optional<VxlanAttributes> vxlan, Optional<TunAttributes> tun) {
    /** IFF_UP: administratively up. */
    public static final int IFF_UP = 0x1;
    /** IFF_RUNNING: the kernel considers the link operational (carrier). */
    public static final int IFF_RUNNING = 0x40;
    public static final int IFF_LOOPBACK = 0x8;

    public Link {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(mac, "mac");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(vxlan, "vxlan");
        Objects.requireNonNull(tun, "tun");
    }

    /** A link that is not a TUN/TAP device (or whose kernel does not describe it). */
    public Link(int index, String name, int flags, int mtu, Optional<MacAddress> mac, Optional<String> kind,
                Optional<VxlanAttributes> vxlan) {
        this(index, name, flags, mtu, mac, kind, vxlan, Optional.empty());
    }

    public boolean isUp() {
        return (flags & IFF_UP) != 0;
    }

    public boolean isLoopback() {
        return (flags & IFF_LOOPBACK) != 0;
    }

    public boolean isKind(String expected) {
        return kind.map(expected::equals).orElse(false);
    }
}
