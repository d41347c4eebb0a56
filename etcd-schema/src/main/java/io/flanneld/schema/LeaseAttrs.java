package io.flanneld.schema;

import java.util.Objects;

/**
 * What a lease key's value says about its host: the underlay address other hosts send to, the
 * backend that host runs and that backend's own data (e.g. the VTEP MAC), kept as compact JSON
 * because only the matching backend interprets it.
 *
 * @param backendData compact JSON object, or {@code null} when the backend publishes none
 */
public record LeaseAttrs(int publicIp, String backendType, String backendData) {
    public LeaseAttrs {
        Objects.requireNonNull(backendType, "backendType");
    }

    /**
     * The backend whose data path the lease's host runs: its BackendType, or {@code udp} when it has none. flannel's
     * udp backend writes its lease without a BackendType in every release ({@code {"PublicIP":"…","PublicIPv6":null}}),
     * and flannel's udp backend never looks at the type; every other backend names itself.
     */
    public String backend() {
        return backendType.isEmpty() ? BackendConfig.UDP : backendType;
    }

    public String publicIpText() {
        return Ip4.format(publicIp);
    }
}
