package io.flanneld.vxlan;

import io.flanneld.net.Ipv4;
import io.flanneld.net.Ipv4Prefix;
import io.flanneld.schema.Ip4Net;
import java.util.List;

/**
 * The IPv4 networks directly attached to the underlay interface (one per address, e.g. 198.18.0.0/16 for
 * 198.18.0.1/16). With {@code DirectRouting} a peer whose PublicIP lies in one of them shares this host's L2 segment,
 * so its subnet can be routed to its PublicIP without encapsulation.
 */
public record UnderlayNetworks(List<Ip4Net> networks) {

    public UnderlayNetworks {
        networks = List.copyOf(networks);
    }

    /** The networks of the interface's addresses, host bits cleared. */
    public static UnderlayNetworks of(List<Ipv4Prefix> interfaceAddresses) {
        return new UnderlayNetworks(interfaceAddresses.stream()
                .map(a -> Ip4Net.containing(Ipv4.toInt(a.address()), a.length()))
                .distinct()
                .toList());
    }

    /** True when {@code publicIp} is on the same L2 subnet as this host, i.e. reachable without a router. */
    public boolean onSameSubnet(int publicIp) {
        // A /32 address says nothing about neighbours: it would only ever "contain" this host itself.
        return networks.stream().anyMatch(n -> n.prefixLength() < 32 && n.contains(publicIp));
    }

    @Override
    public String toString() {
        return networks.toString();
    }
}
