package io.flanneld.hostgw;

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
 * Test hosts for the backend: namespaces on a {@link NetnsFabric} bridge (eth0 198.18.0.N/16), each with its own
 * rtnetlink connection, leasing overlay subnets 198.19.N.0/24 of Network 198.19.0.0/16. Each host's subnet .1 sits on
 * a bridge {@code cni0} (what Docker's {@code --bip} does), the address pings between hosts use. Closing removes the
 * namespaces (and every route in them) and the connections.
 */
final class HostCluster implements AutoCloseable {
    static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");

    private final NetnsFabric fabric;
    private final List<Node> nodes = new ArrayList<>();

    /** One simulated host. */
    record Node(NetnsFabric.Host host, Rtnetlink nl, ExternalInterface iface, Ip4Net subnet) {

        /** {@code ip}, {@code ping}, ... in the host's namespace; fails the test on a non-zero exit. */
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

        /** Main-table routes into the Network through eth0, as `ip route` prints them without the device. */
        Set<String> overlayRoutes() {
            return lines("ip", "route", "show", "root", NETWORK.toString(), "dev", "eth0");
        }

        /** The lease this host publishes. */
        Lease lease() {
            return new Lease(subnet, new LeaseAttrs(iface.publicIp(), HostGwBackend.TYPE, null), 1, 1);
        }

        HostGwBackend backend() {
            return HostGwBackend.create(nl, iface, config());
        }

        /** The subnet's .1, on cni0. */
        String podIp() {
            return Ip4.format(subnet.firstHost());
        }

        /** What a peer's route to this host looks like on the peer. */
        String routeToHere() {
            return subnet + " via " + host.ip();
        }
    }

    private HostCluster(NetnsFabric fabric) {
        this.fabric = fabric;
    }

    static HostCluster create() {
        return new HostCluster(NetnsFabric.create());
    }

    /** Host N: eth0 198.18.0.N/16, subnet 198.19.N.0/24 with 198.19.N.1 on cni0. */
    Node addNode(int n) {
        NetnsFabric.Host host = fabric.addHost("h" + n, "198.18.0." + n + "/16");
        Rtnetlink nl = Rtnetlink.openInNamespace(host.netns());
        Node node;
        try {
            Link eth0 = nl.links().byName(host.iface()).orElseThrow();
            int address = Ip4.parse(host.ip());
            node = new Node(host, nl, new ExternalInterface(eth0.name(), eth0.index(), address, address, eth0.mtu()),
                    Ip4Net.parse("198.19." + n + ".0/24"));
            node.run("ip", "link", "add", "cni0", "type", "bridge");
            node.run("ip", "addr", "add", node.podIp() + "/24", "dev", "cni0");
            node.run("ip", "link", "set", "cni0", "up");
        } catch (RuntimeException e) {
            nl.close();
            throw e;
        }
        nodes.add(node);
        return node;
    }

    static NetworkConfig config() {
        return new NetworkConfig(NETWORK, 24, Ip4.parse("198.19.1.0"), Ip4.parse("198.19.255.0"),
                BackendConfig.ofType(BackendConfig.HOST_GW));
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
