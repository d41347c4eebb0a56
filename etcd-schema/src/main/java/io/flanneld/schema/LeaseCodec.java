package io.flanneld.schema;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The value of a lease key, byte for byte as flannel writes it:
 * {@code {"PublicIP":"198.18.0.1","BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"…"}}},
 * so that {@code etcdctl get --prefix} reads the same for both daemons.
 */
public final class LeaseCodec {
    private static final ObjectMapper JSON = new ObjectMapper();

    private LeaseCodec() {
    }

    public static String toJson(LeaseAttrs attrs) {
        ObjectNode root = JSON.createObjectNode();
        root.put("PublicIP", attrs.publicIpText());
        if (!attrs.backendType().isEmpty()) {
            root.put("BackendType", attrs.backendType());
        }
        if (attrs.backendData() != null) {
            try {
                root.set("BackendData", JSON.readTree(attrs.backendData()));
            } catch (JsonProcessingException e) {
                throw new IllegalArgumentException("BackendData is not JSON: " + attrs.backendData(), e);
            }
        }
        return root.toString();
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
        JsonNode data = ConfigCodec.field(root, "BackendData");
        if (data != null && !data.isNull() && !data.isObject()) {
            throw new MalformedLeaseException("BackendData: must be a JSON object, got " + ConfigCodec.abbreviate(data.toString()));
        }
        return new LeaseAttrs(publicIp,
                type == null || type.isNull() ? "" : shared(type.asText()),
                data == null || data.isNull() ? null : data.toString());
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
