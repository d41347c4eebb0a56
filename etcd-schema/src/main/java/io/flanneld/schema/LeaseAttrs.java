package io.flanneld.schema;

import java.util.Objects;

/**
 * What a lease key's value says about its host: the underlay address other hosts send to, the
 * backend that host runs and that backend's own data (e.g. the VTEP MAC), kept as compact JSON
 * because only the matching backend interprets it; with IPv6 (flannel ≥ v0.15) also the host's IPv6 underlay address
 * and the backend's data for its IPv6 device (flannel's vxlan: the {@code flannel-v6.<VNI>} device's VTEP MAC).
 *
 * @param publicIp      the IPv4 underlay address; 0 (0.0.0.0, flannel's zero value) on an IPv6-only host
 * @param backendData   compact JSON object, or {@code null} when the backend publishes none
 * @param publicIpv6    flannel's {@code PublicIPv6}, or {@code null} when the host publishes none
 * @param backendV6Data flannel's {@code BackendV6Data}, compact JSON object, or {@code null}
 */
public record LeaseAttrs(int publicIp, String backendType, String backendData, Ip6 publicIpv6, String backendV6Data) {
    public LeaseAttrs {
        Objects.requireNonNull(backendType, "backendType");
    }

    /** An IPv4 host's attributes: no PublicIPv6, no BackendV6Data. */
    public LeaseAttrs(int publicIp, String backendType, String backendData) {
        this(publicIp, backendType, backendData, null, null);
    }

    /** These attributes with the host's IPv6 address and the backend's IPv6 data. */
    public LeaseAttrs withIpv6(Ip6 publicIpv6, String backendV6Data) {
        return new LeaseAttrs(publicIp, backendType, backendData, publicIpv6, backendV6Data);
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

    /** The IPv4 address, with the IPv6 one when there is one: for log lines and messages. */
    public String describe() {
        return publicIpv6 == null ? publicIpText() : publicIpText() + " / " + publicIpv6;
    }
}
