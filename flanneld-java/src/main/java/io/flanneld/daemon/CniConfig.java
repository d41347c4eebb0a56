package io.flanneld.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flanneld.lease.SubnetFile;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The CNI network configuration list containerd (or any CNI runtime) uses to give pods addresses
 * from this node's lease: the standard {@code bridge} plugin on {@code cni0} with {@code
 * host-local} IPAM over the node's subnet, then {@code portmap}. Written atomically, and removed
 * when the node loses its subnet, so a runtime never hands out addresses this node does not hold.
 */
final class CniConfig {
    static final String FILE_NAME = "10-flannel.conflist";
    static final String CNI_VERSION = "1.0.0";
    private static final ObjectMapper JSON = new ObjectMapper();

    private CniConfig() {
    }

    /**
     * @param daemonMasquerades with --ip-masq the daemon masquerades, so the bridge must not do it again
     */
    static String render(Ip4Net network, Ip4Net subnet, int mtu, boolean daemonMasquerades) {
        return render(network, subnet, null, null, mtu, daemonMasquerades);
    }

    /**
     * With IPv6 as flannel's CNI plugin builds its delegate's IPAM from FLANNEL_IPV6_*: one host-local range set per
     * family (IPv4's first, then IPv6's) and a route to each family's Network, so a pod gets an address of each.
     *
     * @param network  the IPv4 Network, null on an IPv6-only node (then {@code subnet} too)
     * @param network6 the IPv6 Network, null without IPv6 (then {@code subnet6} too)
     */
    static String render(Ip4Net network, Ip4Net subnet, Ip6Net network6, Ip6Net subnet6, int mtu,
                         boolean daemonMasquerades) {
        ObjectNode root = JSON.createObjectNode();
        root.put("cniVersion", CNI_VERSION);
        root.put("name", "flannel");
        ArrayNode plugins = root.putArray("plugins");

        ObjectNode bridge = plugins.addObject();
        bridge.put("type", "bridge");
        bridge.put("bridge", "cni0");
        bridge.put("isGateway", true);
        bridge.put("isDefaultGateway", true);
        bridge.put("ipMasq", !daemonMasquerades);
        bridge.put("hairpinMode", true);
        bridge.put("mtu", mtu);
        ObjectNode ipam = bridge.putObject("ipam");
        ipam.put("type", "host-local");
        ArrayNode ranges = ipam.putArray("ranges");
        if (subnet != null) {
            ObjectNode range = ranges.addArray().addObject();
            range.put("subnet", subnet.toString());
            range.put("gateway", Ip4.format(subnet.firstHost()));
        }
        if (subnet6 != null) {
            ObjectNode range = ranges.addArray().addObject();
            range.put("subnet", subnet6.toString());
            range.put("gateway", subnet6.firstHost().toString());
        }
        ArrayNode routes = ipam.putArray("routes");
        if (network != null) {
            routes.addObject().put("dst", network.toString());
        }
        if (network6 != null) {
            routes.addObject().put("dst", network6.toString());
        }

        ObjectNode portmap = plugins.addObject();
        portmap.put("type", "portmap");
        portmap.putObject("capabilities").put("portMappings", true);
        return root.toPrettyString() + "\n";
    }

    static Path write(Path dir, Ip4Net network, Ip4Net subnet, Ip6Net network6, Ip6Net subnet6, int mtu,
                      boolean daemonMasquerades) throws IOException {
        Path file = dir.resolve(FILE_NAME);
        SubnetFile.writeAtomically(file, render(network, subnet, network6, subnet6, mtu, daemonMasquerades));
        return file;
    }

    static void remove(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolve(FILE_NAME));
    }
}
