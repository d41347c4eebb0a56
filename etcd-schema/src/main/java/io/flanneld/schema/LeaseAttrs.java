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

    public String publicIpText() {
        return Ip4.format(publicIp);
    }
}
