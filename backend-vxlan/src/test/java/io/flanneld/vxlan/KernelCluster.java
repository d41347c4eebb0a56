package io.flanneld.vxlan;

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
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Test hosts for the backend: namespaces on a {@link NetnsFabric} bridge (underlay 198.18.0.N/16), each with its own
 * rtnetlink connection, leasing overlay subnets 198.19.N.0/24 of Network 198.19.0.0/16. Closing removes the
 * namespaces (and so every device the backends made) and the connections.
 */
final class KernelCluster implements AutoCloseable {
    static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    static final String DEV = "flannel.1";

    private final NetnsFabric fabric;
    private final List<Node> nodes = new ArrayList<>();

    /** One simulated host. */
    record Node(NetnsFabric.Host host, Rtnetlink nl, ExternalInterface iface, Ip4Net subnet) {

        /** {@code ip}, {@code bridge}, {@code ping}, ... in the host's namespace; fails the test on a non-zero exit. */
        String run(String... cmd) {
            return host.exec(cmd).check().stdout();
        }

        boolean succeeds(String... cmd) {
            return host.exec(cmd).ok();
        }

        /** The output lines of a command, trimmed, as a sorted set (order is the kernel's business). */
        Set<String> lines(String... cmd) {
            return Arrays.stream(run(cmd).split("\n")).map(String::strip).filter(s -> !s.isEmpty())
                    .collect(Collectors.toCollection(TreeSet::new));
        }

        Set<String> neighbours() {
            return lines("ip", "neigh", "show", "dev", DEV);
        }

        Set<String> fdb() {
            return lines("bridge", "fdb", "show", "dev", DEV);
        }

        /** Main-table routes into the overlay Network (the local subnet has none: no bridge in these tests). */
        Set<String> overlayRoutes() {
            return lines("ip", "route", "show", "root", NETWORK.toString());
        }

        Lease lease(VxlanBackend backend) {
            return new Lease(subnet, new LeaseAttrs(iface.publicIp(), VxlanBackend.TYPE, backend.backendData()), 1, 1);
        }

        VxlanBackend backend(boolean directRouting) {
            return VxlanBackend.create(nl, iface, config(directRouting));
        }

        String overlayIp() {
            return Ip4.format(subnet.address());
        }
    }

    private KernelCluster(NetnsFabric fabric) {
        this.fabric = fabric;
    }

    static KernelCluster create() {
        return new KernelCluster(NetnsFabric.create());
    }

    /** Host N: eth0 198.18.0.N/16, subnet 198.19.N.0/24. */
    Node addNode(int n) {
        NetnsFabric.Host host = fabric.addHost("h" + n, "198.18.0." + n + "/16");
        Rtnetlink nl = Rtnetlink.openInNamespace(host.netns());
        Node node;
        try {
            Link eth0 = nl.links().byName(host.iface()).orElseThrow();
            int address = Ip4.parse(host.ip());
            node = new Node(host, nl, new ExternalInterface(eth0.name(), eth0.index(), address, address, eth0.mtu()),
                    Ip4Net.parse("198.19." + n + ".0/24"));
        } catch (RuntimeException e) {
            nl.close();
            throw e;
        }
        nodes.add(node);
        return node;
    }

    static NetworkConfig config(boolean directRouting) {
        return new NetworkConfig(NETWORK, 24, Ip4.parse("198.19.1.0"), Ip4.parse("198.19.255.0"),
                new BackendConfig(VxlanBackend.TYPE, 0, 0, directRouting));
    }

    @Override
    public void close() {
        for (Node n : nodes) {
            try {
                n.nl().close();
            } catch (RuntimeException e) {
                System.err.println("closing rtnetlink of " + n.host() + ": " + e);
            }
        }
        fabric.close();
    }
}
