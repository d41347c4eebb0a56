package io.flanneld.schema;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes the network config stored at {@code <prefix>/config}, applying flannel's
 * defaults and refusing what flannel refuses. Field names match case-insensitively because
 * flannel's Go decoder does, and unknown fields are ignored for the same reason (a config
 * written for a newer flannel must still load).
 */
public final class ConfigCodec {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> BACKEND_TYPES = Set.of(BackendConfig.UDP, BackendConfig.VXLAN, BackendConfig.HOST_GW, BackendConfig.ALLOC);
    private static final int MAX_VNI = (1 << 24) - 1;

    private ConfigCodec() {
    }

    public static NetworkConfig parse(String json) throws ConfigException {
        JsonNode root;
        try {
            root = JSON.readTree(json == null ? "" : json);
        } catch (JsonProcessingException e) {
            throw new ConfigException("", "config is not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new ConfigException("", "config must be a JSON object, got: " + abbreviate(json));
        }

        JsonNode networkNode = field(root, "Network");
        if (networkNode == null || networkNode.isNull() || networkNode.asText().isEmpty()) {
            throw new ConfigException("Network", "missing; please define a correct Network parameter in the flannel config, e.g. \"10.244.0.0/16\"");
        }
        if (!networkNode.isTextual()) {
            throw new ConfigException("Network", "must be a string like \"10.244.0.0/16\", got " + networkNode);
        }
        Ip4Net network;
        try {
            network = Ip4Net.parse(networkNode.asText(), true);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("Network", e.getMessage());
        }

        int subnetLen = intField(root, "SubnetLen", 0);
        if (subnetLen < 0) {
            throw new ConfigException("SubnetLen", "must be positive, got " + subnetLen);
        }
        if (subnetLen > 0) {
            // A host subnet must hold the bridge, the tunnel device and at least one pod.
            if (subnetLen > 30) {
                throw new ConfigException("SubnetLen", "must be less than /31, got " + subnetLen);
            }
            // The first subnet is never leased, so the Network must split into more than two.
            if (subnetLen < network.prefixLength() + 2) {
                throw new ConfigException("SubnetLen", subnetLen + " leaves Network " + network
                        + " room for fewer than four subnets; use at least " + (network.prefixLength() + 2));
            }
        } else if (network.prefixLength() > 28) {
            throw new ConfigException("Network", network + " is too small; the minimum useful network prefix is /28");
        } else if (network.prefixLength() <= 22) {
            subnetLen = 24;
        } else {
            subnetLen = network.prefixLength() + 2;
        }

        int subnetSize = 1 << (32 - subnetLen);
        int alignment = Ip4.mask(subnetLen);
        int subnetMin = addressField(root, "SubnetMin");
        if (subnetMin == 0) {
            // The first subnet's .0 would be the Network's own address; flannel skips it.
            subnetMin = network.address() + subnetSize;
        } else if (!network.contains(subnetMin)) {
            throw new ConfigException("SubnetMin", Ip4.format(subnetMin) + " is not in the range of the Network " + network);
        }
        int subnetMax = addressField(root, "SubnetMax");
        if (subnetMax == 0) {
            subnetMax = network.lastAddress() + 1 - subnetSize;
        } else if (!network.contains(subnetMax)) {
            throw new ConfigException("SubnetMax", Ip4.format(subnetMax) + " is not in the range of the Network " + network);
        }
        if ((subnetMin & alignment) != subnetMin) {
            throw new ConfigException("SubnetMin", Ip4.format(subnetMin) + " is not on a SubnetLen boundary (/" + subnetLen + ")");
        }
        if ((subnetMax & alignment) != subnetMax) {
            throw new ConfigException("SubnetMax", Ip4.format(subnetMax) + " is not on a SubnetLen boundary (/" + subnetLen + ")");
        }
        if (Integer.compareUnsigned(subnetMin, subnetMax) > 0) {
            throw new ConfigException("SubnetMin", Ip4.format(subnetMin) + " is above SubnetMax " + Ip4.format(subnetMax));
        }

        BackendConfig backend = parseBackend(field(root, "Backend"));
        boolean enableNFTables = booleanField(root, "EnableNFTables", "EnableNFTables");
        return new NetworkConfig(network, subnetLen, subnetMin, subnetMax, backend, enableNFTables);
    }

    private static BackendConfig parseBackend(JsonNode node) throws ConfigException {
        if (node == null || node.isNull()) {
            return BackendConfig.ofType(BackendConfig.UDP);
        }
        if (!node.isObject()) {
            throw new ConfigException("Backend", "must be a JSON object like {\"Type\":\"vxlan\"}, got " + node);
        }
        JsonNode typeNode = field(node, "Type");
        String type = BackendConfig.UDP;
        if (typeNode != null && !typeNode.isNull()) {
            if (!typeNode.isTextual()) {
                throw new ConfigException("Backend.Type", "must be a string, got " + typeNode);
            }
            if (!typeNode.asText().isEmpty()) {
                type = typeNode.asText().toLowerCase(Locale.ROOT);
            }
        }
        if (!BACKEND_TYPES.contains(type)) {
            throw new ConfigException("Backend.Type", "\"" + typeNode.asText() + "\" is not supported; use one of udp, vxlan, host-gw, alloc");
        }
        int port = intField(node, "Port", 0, "Backend.Port");
        if (port < 0 || port > 65535) {
            throw new ConfigException("Backend.Port", port + " is not a UDP port (1..65535)");
        }
        int vni = intField(node, "VNI", 0, "Backend.VNI");
        if (vni < 0 || vni > MAX_VNI) {
            throw new ConfigException("Backend.VNI", vni + " is not a VXLAN network identifier (0.." + MAX_VNI + ")");
        }
        boolean directRouting = booleanField(node, "DirectRouting", "Backend.DirectRouting");
        return new BackendConfig(type, port, vni, directRouting);
    }

    /** The config as flannel writes it; {@code parse(toJson(c))} gives back {@code c}. */
    public static String toJson(NetworkConfig config) {
        ObjectNode root = JSON.createObjectNode();
        root.put("Network", config.network().toString());
        root.put("SubnetLen", config.subnetLen());
        root.put("SubnetMin", Ip4.format(config.subnetMin()));
        root.put("SubnetMax", Ip4.format(config.subnetMax()));
        ObjectNode backend = root.putObject("Backend");
        backend.put("Type", config.backend().type());
        if (config.backend().port() != 0) {
            backend.put("Port", config.backend().port());
        }
        if (config.backend().vni() != 0) {
            backend.put("VNI", config.backend().vni());
        }
        if (config.backend().directRouting()) {
            backend.put("DirectRouting", true);
        }
        // Written only when set, so a config that never mentioned it reads back as it was put.
        if (config.enableNFTables()) {
            root.put("EnableNFTables", true);
        }
        return root.toString();
    }

    /** Case-insensitive field lookup, as Go's encoding/json matches struct fields. */
    static JsonNode field(JsonNode object, String name) {
        JsonNode exact = object.get(name);
        if (exact != null) {
            return exact;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    private static int intField(JsonNode object, String name, int absent) throws ConfigException {
        return intField(object, name, absent, name);
    }

    private static int intField(JsonNode object, String name, int absent, String path) throws ConfigException {
        JsonNode node = field(object, name);
        if (node == null || node.isNull()) {
            return absent;
        }
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw new ConfigException(path, "must be a whole number, got " + node);
        }
        return node.intValue();
    }

    /** A JSON boolean; absent or null is false, as for a Go bool. */
    private static boolean booleanField(JsonNode object, String name, String path) throws ConfigException {
        JsonNode node = field(object, name);
        if (node == null || node.isNull()) {
            return false;
        }
        if (!node.isBoolean()) {
            throw new ConfigException(path, "must be true or false, got " + node);
        }
        return node.asBoolean();
    }

    private static int addressField(JsonNode object, String name) throws ConfigException {
        JsonNode node = field(object, name);
        if (node == null || node.isNull() || (node.isTextual() && node.asText().isEmpty())) {
            return 0;
        }
        if (!node.isTextual()) {
            throw new ConfigException(name, "must be an IPv4 address string, got " + node);
        }
        try {
            return Ip4.parse(node.asText());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(name, e.getMessage());
        }
    }

    static String abbreviate(String text) {
        if (text == null) {
            return "null";
        }
        return text.length() <= 80 ? text : text.substring(0, 77) + "...";
    }
}
