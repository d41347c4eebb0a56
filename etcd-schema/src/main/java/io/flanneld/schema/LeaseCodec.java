package io.flanneld.schema;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The value of a lease key, byte for byte as flannel writes it:
 * {@code {"PublicIP":"198.18.0.1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"…"}}},
 * so that {@code etcdctl get --prefix} reads the same for both daemons.
 *
 * <p>flannel's {@code lease.LeaseAttrs} (pkg/lease/lease.go) is {@code PublicIP ip.IP4; PublicIPv6 *ip.IP6;
 * BackendType string `json:",omitempty"`; BackendData, BackendV6Data json.RawMessage `json:",omitempty"`}, marshalled
 * with encoding/json: fields in that order, {@code PublicIPv6} without omitempty (so {@code null} when the host has none,
 * in every value flannel ≥ v0.15 writes), the addresses as strings in Go's spelling. A value with an IPv6 address or
 * IPv6 data is written exactly so, {@code "PublicIPv6"} included; an IPv4-only value keeps the form this daemon has always
 * written, without {@code "PublicIPv6":null} (flannel before v0.15 wrote that form; every flannel release reads both,
 * as this codec does). flannel's vxlan backend (pkg/backend/vxlan/vxlan.go, newSubnetAttrs) sets PublicIP and
 * BackendData only for an IPv4 device and PublicIPv6 and BackendV6Data only for an IPv6 one, so an IPv6-only value has
 * PublicIP {@code "0.0.0.0"} (the zero value) and no BackendData.
 */
public final class LeaseCodec {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LeaseCodec() {
    }

    public static String toJson(LeaseAttrs attrs) {
        ObjectNode root = JSON.createObjectNode();
        root.put("PublicIP", attrs.publicIpText());
        boolean ipv6 = attrs.publicIpv6() != null || attrs.backendV6Data() != null;
        if (ipv6) {
            if (attrs.publicIpv6() == null) {
                root.putNull("PublicIPv6");
            } else {
                root.put("PublicIPv6", attrs.publicIpv6().toString());
            }
        }
        if (!attrs.backendType().isEmpty()) {
            root.put("BackendType", attrs.backendType());
        }
        putJson(root, "BackendData", attrs.backendData());
        putJson(root, "BackendV6Data", attrs.backendV6Data());
        return root.toString();
    }

    private static void putJson(ObjectNode root, String name, String json) {
        if (json != null) {
            try {
                root.set(name, JSON.readTree(json));
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException(name + " is not JSON: " + json, e);
            }
        }
    }

    public static LeaseAttrs parse(String json) throws MalformedLeaseException {
        JsonNode root;
        try {
            root = JSON.readTree(json == null ? "" : json);
        } catch (JsonProcessingException e) {
            throw new MalformedLeaseException("lease value is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new MalformedLeaseException("lease value must be a JSON object, got: " + ConfigCodec.abbreviate(json));
        }
        JsonNode ip = ConfigCodec.field(root, "PublicIP");
        if (ip == null || !ip.isTextual()) {
            throw new MalformedLeaseException("PublicIP: missing or not a string in " + ConfigCodec.abbreviate(json));
        }
        int publicIp;
        try {
            publicIp = Ip4.parse(ip.asText());
        } catch (IllegalArgumentException e) {
            throw new MalformedLeaseException("PublicIP: " + e.getMessage());
        }
        JsonNode type = ConfigCodec.field(root, "BackendType");
        if (type != null && !type.isNull() && !type.isTextual()) {
            throw new MalformedLeaseException("BackendType: must be a string, got " + type);
        }
        String data = objectField(root, "BackendData");
        Ip6 publicIpv6 = null;
        JsonNode ip6 = ConfigCodec.field(root, "PublicIPv6");
        if (ip6 != null && !ip6.isNull()) {
            if (!ip6.isTextual()) {
                throw new MalformedLeaseException("PublicIPv6: must be a string or null, got " + ConfigCodec.abbreviate(ip6.toString()));
            }
            // flannel reads it with net.ParseIP, which would also take a dotted IPv4 address: never what a host means here.
            if (ip6.asText().indexOf(':') < 0) {
                throw new MalformedLeaseException("PublicIPv6: not an IPv6 address: \"" + ConfigCodec.abbreviate(ip6.asText()) + "\"");
            }
            try {
                publicIpv6 = Ip6.parse(ip6.asText());
            } catch (IllegalArgumentException e) {
                throw new MalformedLeaseException("PublicIPv6: " + e.getMessage());
            }
        }
        String v6Data = objectField(root, "BackendV6Data");
        return new LeaseAttrs(publicIp,
                type == null || type.isNull() ? "" : shared(type.asText()),
                data, publicIpv6, v6Data);
    }

    /** A JSON object field as compact JSON; null when absent or null. */
    private static String objectField(JsonNode root, String name) throws MalformedLeaseException {
        JsonNode data = ConfigCodec.field(root, name);
        if (data != null && !data.isNull() && !data.isObject()) {
            throw new MalformedLeaseException(name + ": must be a JSON object, got " + ConfigCodec.abbreviate(data.toString()));
        }
        return data == null || data.isNull() ? null : data.toString();
    }

    /**
     * The project's own constant for a known backend name: a node holds one lease per peer, so one string per backend
     * instead of a copy per lease.
     */
    private static String shared(String backendType) {
        return switch (backendType) {
            case BackendConfig.VXLAN -> BackendConfig.VXLAN;
            case BackendConfig.UDP -> BackendConfig.UDP;
            case BackendConfig.HOST_GW -> BackendConfig.HOST_GW;
            case BackendConfig.ALLOC -> BackendConfig.ALLOC;
            default -> backendType;
        };
    }
}
