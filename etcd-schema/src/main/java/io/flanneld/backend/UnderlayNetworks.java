package io.flanneld.backend;

import io.flanneld.schema.Ip4Net;
import java.util.Collection;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The IPv4 networks directly attached to the underlay interface (one per address, e.g. 198.18.0.0/16 for
 * 198.18.0.1/16). A peer whose PublicIP lies in one of them shares this host's L2 segment, so its subnet can be routed
 * to its PublicIP without encapsulation: the vxlan backend's {@code DirectRouting} and the host-gw backend both ask.
 */
public record UnderlayNetworks(List<Ip4Net> networks) {

    public UnderlayNetworks {
        networks = List.copyOf(networks);
    }

    /**
     * The networks of the interface's addresses, each given as the network containing it ({@code
     * Ip4Net.containing(address, length)}); duplicates (two addresses in one network) count once.
     */
    public static UnderlayNetworks of(Collection<Ip4Net> networks) {
        return new UnderlayNetworks(networks.stream().distinct().toList());
    }

    /** True when {@code publicIp} is on the same L2 subnet as this host, i.e. reachable without a router. */
    public boolean onSameSubnet(int publicIp) {
        // A /32 address says nothing about neighbours: it would only ever "contain" this host itself.
        return networks.stream().anyMatch(n -> n.prefixLength() < 32 && n.contains(publicIp));
    }

    /** For messages: the networks, comma-separated, or "none" when the interface has no IPv4 address. */
    @Override
    public String toString() {
        return networks.isEmpty() ? "none" : networks.stream().map(Ip4Net::toString).collect(Collectors.joining(", "));
    }
}
