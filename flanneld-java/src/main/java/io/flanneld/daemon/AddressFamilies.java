package io.flanneld.daemon;

import io.flanneld.schema.NetworkConfig;
import java.util.function.Consumer;

/**
 * Which of the config's address families this daemon carries: IPv4 only, for now. The lease manager can lease IPv6
 * subnets, but no data path here carries IPv6 yet, so a node must not claim an IPv6 subnet it would leave dark: with
 * {@code EnableIPv6} the node leases and carries its IPv4 subnet exactly as without it, saying so once; an IPv6-only
 * config ({@code EnableIPv4: false}) leaves it nothing to carry, and the start fails naming the field.
 */
final class AddressFamilies {
    static final String IPV4_ONLY_WARNING = "EnableIPv6 is set: this node leases and carries IPv4 only";

    private AddressFamilies() {
    }

    /**
     * The config this node runs: {@code config} itself without IPv6, its IPv4 half with IPv6 ({@code warn} told once).
     *
     * @throws FlannelDaemon.FatalException for an IPv6-only config
     */
    static NetworkConfig carried(NetworkConfig config, String configKey, Consumer<String> warn) {
        if (!config.enableIpv4()) {
            throw new FlannelDaemon.FatalException("config " + configKey + ": EnableIPv4 is false (an IPv6-only network), but this "
                    + "daemon leases and carries IPv4 only; set EnableIPv4 to true (its default) or run flannel on this network");
        }
        if (config.enableIpv6()) {
            warn.accept(IPV4_ONLY_WARNING);
            return config.withoutIpv6();
        }
        return config;
    }
}
