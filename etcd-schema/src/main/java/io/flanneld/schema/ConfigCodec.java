package io.flanneld.schema;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
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

        // flannel's ParseConfig: EnableIPv4 defaults to true, EnableIPv6 to false; its main.go refuses a config
        // that enables neither (ipmatch.GetIPFamily: "none defined stack").
        boolean enableIpv4 = booleanField(root, "EnableIPv4", "EnableIPv4", true);
        boolean enableIpv6 = booleanField(root, "EnableIPv6", "EnableIPv6", false);
        if (!enableIpv4 && !enableIpv6) {
            throw new ConfigException("EnableIPv4", "false, and EnableIPv6 is not true: enable at least one address family");
        }
        // flannel's CheckNetworkConfig checks the IPv4 fields only with EnableIPv4 and the IPv6 fields only with
        // EnableIPv6; the fields of a family that is not enabled are ignored here.
        NetworkConfig v4 = enableIpv4 ? parseIpv4(root) : null;
        Ipv6Config ipv6 = enableIpv6 ? parseIpv6(root) : null;

        BackendConfig backend = parseBackend(field(root, "Backend"));
        boolean enableNFTables = booleanField(root, "EnableNFTables", "EnableNFTables");
        if (ipv6 != null && backend.type().equals(BackendConfig.UDP)) {
            // flannel's udp backend (pkg/backend/udp/udp_amd64.go, RegisterNetwork) never looks at EnableIPv6: it
            // leases with a PublicIP only and tunnels IPv4 alone, so a dual-stack config silently carries no IPv6
            // there. Refused here instead of being half honoured.
            throw new ConfigException("EnableIPv6", "the udp backend carries IPv4 only (as flannel's does); use the vxlan "
                    + "backend for IPv6, or leave EnableIPv6 out");
        }
        if (v4 == null) {
            return NetworkConfig.ipv6Only(ipv6, backend, enableNFTables);
        }
        return new NetworkConfig(v4.network(), v4.subnetLen(), v4.subnetMin(), v4.subnetMax(), backend, enableNFTables, true, ipv6);
    }

    /** The IPv4 half (Network, SubnetLen, SubnetMin, SubnetMax) with flannel's defaults, as a config of its own. */
    private static NetworkConfig parseIpv4(JsonNode root) throws ConfigException {
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

        return new NetworkConfig(network, subnetLen, subnetMin, subnetMax, BackendConfig.ofType(BackendConfig.UDP));
    }

    /**
     * The IPv6 half as flannel's CheckNetworkConfig reads it: IPv6Network required (host bits masked, as ParseCIDR
     * does; {@code ::/0} is flannel's empty network); IPv6SubnetLen at most 126 and at least the network's length + 2,
     * by default 64, or the network's length + 2 for a network smaller than /62, refusing one smaller than /124;
     * IPv6SubnetMin defaulting to the second subnet, IPv6SubnetMax to the last, both inside IPv6Network and on a
     * subnet boundary. Like the IPv4 range, a minimum above the maximum is refused (flannel would find no subnet).
     */
    private static Ipv6Config parseIpv6(JsonNode root) throws ConfigException {
        JsonNode networkNode = field(root, "IPv6Network");
        if (networkNode == null || networkNode.isNull() || networkNode.asText().isEmpty()) {
            throw new ConfigException("IPv6Network", "missing; please define a correct IPv6Network parameter in the flannel config "
                    + "when EnableIPv6 is true, e.g. \"2001:db8:19::/48\"");
        }
        if (!networkNode.isTextual()) {
            throw new ConfigException("IPv6Network", "must be a string like \"2001:db8:19::/48\", got " + networkNode);
        }
        Ip6Net network;
        try {
            network = Ip6Net.parse(networkNode.asText(), true);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("IPv6Network", e.getMessage());
        }
        if (network.prefixLength() == 0 && network.address().isZero()) {
            throw new ConfigException("IPv6Network", network + " is flannel's empty network; please define a correct IPv6Network");
        }
        int subnetLen = intField(root, "IPv6SubnetLen", 0);
        if (subnetLen < 0) {
            throw new ConfigException("IPv6SubnetLen", "must be positive, got " + subnetLen);
        }
        if (subnetLen > 0) {
            if (subnetLen > 126) {
                throw new ConfigException("IPv6SubnetLen", "must be less than /127, got " + subnetLen);
            }
            if (subnetLen < network.prefixLength() + 2) {
                throw new ConfigException("IPv6SubnetLen", subnetLen + " leaves IPv6Network " + network
                        + " room for fewer than four subnets; use at least " + (network.prefixLength() + 2));
            }
        } else if (network.prefixLength() > 124) {
            throw new ConfigException("IPv6Network", network + " is too small; the minimum useful IPv6 network prefix is /124");
        } else if (network.prefixLength() <= 62) {
            subnetLen = 64;
        } else {
            subnetLen = network.prefixLength() + 2;
        }
        Ip6 subnetMin = ipv6AddressField(root, "IPv6SubnetMin");
        if (subnetMin == null) {
            // The first subnet would hold the network's own address; flannel skips it.
            subnetMin = Ip6.fromBigInteger(network.address().toBigInteger().add(BigInteger.ONE.shiftLeft(128 - subnetLen)));
        } else if (!network.contains(subnetMin)) {
            throw new ConfigException("IPv6SubnetMin", subnetMin + " is not in the range of the IPv6Network " + network);
        }
        Ip6 subnetMax = ipv6AddressField(root, "IPv6SubnetMax");
        if (subnetMax == null) {
            // The last subnet of the network: flannel's IPv6Network.Next() minus one subnet.
            subnetMax = network.lastAddress().masked(subnetLen);
        } else if (!network.contains(subnetMax)) {
            throw new ConfigException("IPv6SubnetMax", subnetMax + " is not in the range of the IPv6Network " + network);
        }
        if (!subnetMin.masked(subnetLen).equals(subnetMin)) {
            throw new ConfigException("IPv6SubnetMin", subnetMin + " is not on an IPv6SubnetLen boundary (/" + subnetLen + ")");
        }
        if (!subnetMax.masked(subnetLen).equals(subnetMax)) {
            throw new ConfigException("IPv6SubnetMax", subnetMax + " is not on an IPv6SubnetLen boundary (/" + subnetLen + ")");
        }
        if (subnetMin.compareTo(subnetMax) > 0) {
            throw new ConfigException("IPv6SubnetMin", subnetMin + " is above IPv6SubnetMax " + subnetMax);
        }
        return new Ipv6Config(network, subnetLen, subnetMin, subnetMax);
    }

    /** An IPv6 address field; null when absent, null, empty or {@code ::} (flannel's ip.IsEmpty: use the default). */
    private static Ip6 ipv6AddressField(JsonNode object, String name) throws ConfigException {
        JsonNode node = field(object, name);
        if (node == null || node.isNull() || (node.isTextual() && node.asText().isEmpty())) {
            return null;
        }
        if (!node.isTextual()) {
            throw new ConfigException(name, "must be an IPv6 address string, got " + node);
        }
        try {
            Ip6 address = Ip6.parse(node.asText());
            return address.isZero() ? null : address;
        } catch (IllegalArgumentException e) {
            throw new ConfigException(name, e.getMessage());
        }
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
        if (config.enableIpv4()) {
            root.put("Network", config.network().toString());
            root.put("SubnetLen", config.subnetLen());
            root.put("SubnetMin", Ip4.format(config.subnetMin()));
            root.put("SubnetMax", Ip4.format(config.subnetMax()));
        } else {
            root.put("EnableIPv4", false);
        }
        if (config.ipv6() != null) {
            Ipv6Config v6 = config.ipv6();
            root.put("EnableIPv6", true);
            root.put("IPv6Network", v6.network().toString());
            root.put("IPv6SubnetLen", v6.subnetLen());
            root.put("IPv6SubnetMin", v6.subnetMin().toString());
            root.put("IPv6SubnetMax", v6.subnetMax().toString());
        }
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
        return booleanField(object, name, path, false);
    }

    /** A JSON boolean; absent or null leaves {@code absent}, as Go's decoder leaves a field set before it decodes. */
    private static boolean booleanField(JsonNode object, String name, String path, boolean absent) throws ConfigException {
        JsonNode node = field(object, name);
        if (node == null || node.isNull()) {
            return absent;
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
