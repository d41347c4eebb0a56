package io.flanneld.net;

import io.flanneld.schema.Ip6;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What to create with {@link Links#createVxlan}: the device flannel's VXLAN backend needs, in the terms of
 * `ip link add flannel.1 type vxlan id 1 local 198.18.0.1 dev eth0 dstport 8472 nolearning`.
 *
 * @param name device name, at most 15 bytes (IFNAMSIZ - 1)
 * @param vni VXLAN network identifier
 * @param local the source address of encapsulated packets (an {@link io.flanneld.schema.Ip4} int); empty lets the
 *     kernel choose per packet
 * @param underlayIndex the ifindex of the underlay device, 0 for none
 * @param port UDP destination port (flannel: 8472)
 * @param learning whether to learn MACs from traffic (flannel: off, it programs FDB entries itself)
 * @param mac a MAC to give the device, e.g. the one published in the lease before a restart; empty for a random one
 * @param mtu the MTU to create it with, 0 to let the kernel derive it from the underlay
 * @param local6 the IPv6 source address of encapsulated packets (IFLA_VXLAN_LOCAL6), which makes the underlay IPv6
 *     (flannel-v6.&lt;VNI&gt;); empty for an IPv4 underlay
 */
public record VxlanSpec(String name, int vni, OptionalInt local, int underlayIndex, int port,
                        boolean learning, Optional<MacAddress> mac, int mtu, Optional<Ip6> local6) {
    public VxlanSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(local6, "local6");
        if (local.isPresent() && local6.isPresent()) {
            throw new IllegalArgumentException("a VXLAN device has an IPv4 or an IPv6 local address, not both");
        }
        Objects.requireNonNull(mac, "mac");
        LinkNames.requireValid(name);
        if (vni < 0 || vni > 0xFF_FFFF) {
            throw new IllegalArgumentException("VNI must be 0..16777215, got " + vni);
        }
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
        if (mtu < 0) {
            throw new IllegalArgumentException("mtu must not be negative: " + mtu);
        }
    }

    /** A device with an IPv4 underlay (or none): no IFLA_VXLAN_LOCAL6. */
    public VxlanSpec(String name, int vni, OptionalInt local, int underlayIndex, int port, boolean learning,
                     Optional<MacAddress> mac, int mtu) {
        this(name, vni, local, underlayIndex, port, learning, mac, mtu, Optional.empty());
    }

    /**
     * flannel's IPv6 device: `ip link add flannel-v6.1 type vxlan id 1 local 2001:2::1 dev eth0 dstport 8472
     * nolearning`, kernel-chosen MAC and MTU.
     */
    public static VxlanSpec flannel6(String name, int vni, Ip6 local, int underlayIndex, int port) {
        return new VxlanSpec(name, vni, OptionalInt.empty(), underlayIndex, port, false, Optional.empty(), 0,
                Optional.of(local));
    }

    /** flannel's device: learning off, kernel-chosen MAC and MTU. */
    public static VxlanSpec flannel(String name, int vni, int local, int underlayIndex, int port) {
        return new VxlanSpec(name, vni, OptionalInt.of(local), underlayIndex, port, false, Optional.empty(), 0);
    }

    public VxlanSpec withMac(MacAddress newMac) {
        return new VxlanSpec(name, vni, local, underlayIndex, port, learning, Optional.of(newMac), mtu, local6);
    }

    public VxlanSpec withMtu(int newMtu) {
        return new VxlanSpec(name, vni, local, underlayIndex, port, learning, mac, newMtu, local6);
    }
}
