package io.flanneld.schema;

import java.util.Locale;

/**
 * The {@code Backend} object of the network config. Port and VNI are 0 when not set, so each
 * backend applies its own default (udp 8285; vxlan 8472 and VNI 1), as flannel does.
 */
public record BackendConfig(String type, int port, int vni, boolean directRouting) {
    public static final String UDP = "udp";
    public static final String VXLAN = "vxlan";
    public static final String ALLOC = "alloc";
    /** flannel's routed backend: peers' subnets routed via their PublicIPs, no encapsulation. */
    public static final String HOST_GW = "host-gw";

    public BackendConfig {
        type = type == null ? UDP : type.toLowerCase(Locale.ROOT);
    }

    public static BackendConfig ofType(String type) {
        return new BackendConfig(type, 0, 0, false);
    }

    public int portOr(int defaultPort) {
        return port == 0 ? defaultPort : port;
    }

    public int vniOr(int defaultVni) {
        return vni == 0 ? defaultVni : vni;
    }
}
