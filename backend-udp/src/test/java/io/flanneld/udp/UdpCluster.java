package io.flanneld.udp;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.Link;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.testkit.NetnsFabric;
import java.util.ArrayList;
import java.util.List;

/**
 * Simulated hosts for the udp backend: namespaces on a {@link NetnsFabric} bridge (eth0 198.18.0.N/16), host N
 * leasing 198.19.N.0/24 of Network 198.19.0.0/16, each with its own backend whose TUN device and socket live in the
 * host's namespace. Closing closes the backends and connections, then deletes the namespaces.
 */
final class UdpCluster implements AutoCloseable {
    static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    static final NetworkConfig CONFIG = new NetworkConfig(NETWORK, 24, Ip4.parse("198.19.1.0"),
            Ip4.parse("198.19.255.0"), BackendConfig.ofType(UdpBackend.TYPE));

    final NetnsFabric fabric = NetnsFabric.create();
    final List<Node> nodes = new ArrayList<>();

    record Node(NetnsFabric.Host host, Rtnetlink nl, ExternalInterface iface, Ip4Net subnet) {
        Lease lease() {
            return new Lease(subnet, new LeaseAttrs(iface.publicIp(), UdpBackend.TYPE, null), 1, 1);
        }

        String overlayIp() {
            return Ip4.format(subnet.address());
        }

        String ip() {
            return host.ip();
        }
    }

    /** Host N without a backend yet. */
    Node addNode(int n) {
        NetnsFabric.Host host = fabric.addHost("h" + n, "198.18.0." + n + "/16");
        Rtnetlink nl = fabric.own(Rtnetlink.openInNamespace(host.netns()));
        Link eth0 = nl.links().byName(host.iface()).orElseThrow();
        int address = Ip4.parse(host.ip());
        Node node = new Node(host, nl, new ExternalInterface(eth0.name(), eth0.index(), address, address, eth0.mtu()),
                Ip4Net.parse("198.19." + n + ".0/24"));
        nodes.add(node);
        return node;
    }

    /** A backend for {@code node} with the default options, started with every other node's lease; closed with the cluster. */
    UdpBackend start(Node node) throws Exception {
        return start(node, UdpOptions.DEFAULTS);
    }

    /** The same with {@code options}. */
    UdpBackend start(Node node, UdpOptions options) throws Exception {
        UdpBackend backend = fabric.own(UdpBackend.createInNamespace(node.nl(), node.iface(), CONFIG, options,
                node.host().netns()));
        List<Lease> peers = nodes.stream().filter(n -> n != node).map(Node::lease).toList();
        backend.start(node.lease(), peers);
        return backend;
    }

    @Override
    public void close() {
        fabric.close();
    }
}
