package io.flanneld.daemon;

import io.flanneld.schema.NetworkConfig;
import java.util.function.Consumer;

/**
 * Which of the config's address families this node leases and carries. A config's IPv6 half runs when the config sets
 * {@code EnableIPv6} and the backend's data path carries IPv6 ({@code Backend.carriesIpv6()}): the node then claims a
 * dual-stack key (or, with {@code EnableIPv4: false}, an IPv6-only one), publishes its PublicIPv6 and BackendV6Data
 * and writes the IPv6 variables. With a backend that carries no IPv6 a node must not claim an IPv6 subnet it would
 * leave dark: with IPv4 enabled too it leases and carries its IPv4 subnet exactly as without {@code EnableIPv6}, saying
 * so once; an IPv6-only config leaves it nothing to carry, and the start fails naming the field and the backend. (The
 * udp backend, flannel's IPv4-only one, is refused with {@code EnableIPv6} when the config is read already.)
 */
final class AddressFamilies {
    static final String IPV4_ONLY_WARNING = "EnableIPv6 is set: this node leases and carries IPv4 only";

    private AddressFamilies() {
    }

    /**
     * The config this node runs: {@code config} itself when its backend carries every family it enables, else its IPv4
     * half ({@code warn} told once).
     *
     * @param backendType   the config's Backend.Type, for the messages
     * @param carriesIpv6   whether that backend's data path carries IPv6
     * @throws FlannelDaemon.FatalException for an IPv6-only config whose backend carries no IPv6
     */
    static NetworkConfig carried(NetworkConfig config, String configKey, String backendType, boolean carriesIpv6,
                                 Consumer<String> warn) {
        if (!config.enableIpv6() || carriesIpv6) {
            return config;
        }
        if (!config.enableIpv4()) {
            throw new FlannelDaemon.FatalException("config " + configKey + ": EnableIPv4 is false (an IPv6-only network), but "
                    + "backend " + backendType + " carries IPv4 only; use Backend.Type vxlan, host-gw or alloc, or set "
                    + "EnableIPv4 to true (its default)");
        }
        warn.accept(IPV4_ONLY_WARNING + " (EnableIPv6 in " + configKey + ", but backend " + backendType + " carries IPv4 only)");
        return config.withoutIpv6();
    }
}
