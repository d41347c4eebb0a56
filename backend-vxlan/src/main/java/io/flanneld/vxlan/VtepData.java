package io.flanneld.vxlan;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flanneld.net.MacAddress;
import java.util.Objects;

/**
 * The BackendData of a vxlan lease, {@code {"VNI":1,"VtepMAC":"8e:1f:00:aa:bb:cc"}}: which MAC the host's VTEP
 * answers to. Written byte for byte as flannel writes it (key order VNI, VtepMAC; MAC in lowercase) so that both
 * daemons read each other's leases and operators see the same value in etcd.
 */
public record VtepData(int vni, MacAddress vtepMac) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public VtepData {
        Objects.requireNonNull(vtepMac, "vtepMac");
        if (vni < 0 || vni > 0xFF_FFFF) {
            throw new IllegalArgumentException("VNI must be 0..16777215, got " + vni);
        }
    }

    /** The compact JSON object published in the lease. */
    public String toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("VNI", vni);
        root.put("VtepMAC", vtepMac.toString());
        return root.toString();
    }

    /**
     * Reads a peer's BackendData. VtepMAC is required, since without it no ARP or FDB entry can be made; VNI may be
     * absent (flannel reads it into a zero value and never compares it with its own).
     *
     * @throws IllegalArgumentException naming what is wrong, for null, non-JSON, non-object or a bad VtepMAC
     */
    public static VtepData parse(String json) {
        if (json == null || json.isBlank()) {
            throw new IllegalArgumentException("BackendData is missing (a vxlan lease needs {\"VtepMAC\":...})");
        }
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("BackendData is not valid JSON: " + e.getOriginalMessage()
                    + " in " + abbreviate(json));
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("BackendData must be a JSON object, got " + abbreviate(json));
        }
        JsonNode mac = root.get("VtepMAC");
        if (mac == null || mac.isNull()) {
            throw new IllegalArgumentException("BackendData has no VtepMAC: " + abbreviate(json));
        }
        if (!mac.isTextual()) {
            throw new IllegalArgumentException("BackendData VtepMAC must be a string, got " + mac);
        }
        MacAddress vtepMac;
        try {
            // Go's net.ParseMAC, which flannel uses, also accepts '-' as the separator.
            vtepMac = MacAddress.parse(mac.asText().replace('-', ':'));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("BackendData VtepMAC is not a MAC address: \"" + mac.asText() + "\"");
        }
        JsonNode vniNode = root.get("VNI");
        int vni = 0;
        if (vniNode != null && !vniNode.isNull()) {
            if (!vniNode.canConvertToInt() || !vniNode.isIntegralNumber() || vniNode.intValue() < 0
                    || vniNode.intValue() > 0xFF_FFFF) {
                throw new IllegalArgumentException("BackendData VNI must be an integer 0..16777215, got " + vniNode);
            }
            vni = vniNode.intValue();
        }
        return new VtepData(vni, vtepMac);
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
