package io.flanneld.net;

import io.flanneld.schema.Ip6;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * The VXLAN-specific part of a link (IFLA_INFO_DATA of kind "vxlan"): what a restarted daemon compares with its
 * configuration to decide whether an existing device can be kept.
 *
 * @param vni the VXLAN network identifier (IFLA_VXLAN_ID)
 * @param local the source address for encapsulated packets (IFLA_VXLAN_LOCAL, an {@link io.flanneld.schema.Ip4}
 *     int), empty if unset
 * @param underlayIndex the ifindex of the underlay device (IFLA_VXLAN_LINK), 0 if unset
 * @param port the UDP destination port in host order (IFLA_VXLAN_PORT is big-endian on the wire)
 * @param learning whether the device learns remote MACs from received packets (IFLA_VXLAN_LEARNING)
 * @param local6 the IPv6 source address of encapsulated packets (IFLA_VXLAN_LOCAL6) of a device with an IPv6
 *     underlay, empty if unset
 */
public record VxlanAttributes(int vni, OptionalInt local, int underlayIndex, int port, boolean learning,
                              Optional<Ip6> local6) {
    public VxlanAttributes {
        Objects.requireNonNull(local, "local");
        Objects.requireNonNull(local6, "local6");
        if (vni < 0 || vni > 0xFF_FFFF) {
            throw new IllegalArgumentException("VNI must be 0..16777215, got " + vni);
        }
        if (port < 0 || port > 0xFFFF) {
            throw new IllegalArgumentException("port must be 0..65535, got " + port);
        }
    }

    /** A device with an IPv4 underlay (or none): no IFLA_VXLAN_LOCAL6. */
    public VxlanAttributes(int vni, OptionalInt local, int underlayIndex, int port, boolean learning) {
        this(vni, local, underlayIndex, port, learning, Optional.empty());
    }
}
