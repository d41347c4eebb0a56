package io.flanneld.daemon;

import io.flanneld.lease.LeaseSnapshot;
import io.flanneld.lease.LeaseWatcher;
import io.flanneld.lease.SubnetEnv;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.udp.UdpBackend;
import io.flanneld.vxlan.VxlanBackend;
import io.flanneld.vxlan.VxlanDevice;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who this node is in etcd's eyes, worked out from what {@code doctor} read: its subnet (subnet.env's, else the lease
 * carrying one of its addresses as PublicIP), its lease, the leases that carry its addresses, and its peers, chosen by
 * the daemon's own rule ({@link LeaseWatcher#peersOf}: other hosts' leases inside the Network that overlap nothing).
 * An IPv6-only node has no IPv4 subnet: its {@code ownSubnet6} (subnet.env's IPv6 subnet, else the lease carrying one
 * of its IPv6 addresses as PublicIPv6) finds its lease, and its peers are the other hosts' IPv6 subnets.
 */
record NodeFacts(Optional<NetworkConfig> config, Optional<Ip4Net> ownSubnet, Optional<Lease> ownLease, List<Lease> leasesOfThisNode,
                 List<Lease> peers, Set<Integer> localAddresses, Optional<Ip6Net> ownSubnet6, Set<Ip6> localAddresses6) {
    /** A subnet no lease can hold, for {@link LeaseWatcher#peersOf} when this node holds none. */
    private static final Ip4Net NONE = new Ip4Net(0, 32);

    static NodeFacts of(Optional<SubnetEnv> env, DoctorSnapshot.Etcd etcd, List<LinkWithAddresses> links) {
        Set<Integer> local = links.stream().flatMap(l -> l.addresses().stream()).map(LinkAddress::address)
                .collect(Collectors.toUnmodifiableSet());
        Set<Ip6> local6 = links.stream().flatMap(l -> l.ipv6Addresses().stream()).map(io.flanneld.net.LinkAddress6::address)
                .collect(Collectors.toUnmodifiableSet());
        List<Lease> all = etcd.leases().map(s -> s.allLeases().toList()).orElse(List.of());
        List<Lease> mine = all.stream().filter(l -> local.contains(l.attrs().publicIp())
                || (l.attrs().publicIpv6() != null && local6.contains(l.attrs().publicIpv6()))).toList();
        Optional<Ip4Net> own = env.map(SubnetEnv::subnet).or(() -> mine.stream().map(Lease::subnet).filter(java.util.Objects::nonNull).findFirst());
        Optional<Ip6Net> own6 = env.map(SubnetEnv::ipv6Subnet)
                .or(() -> mine.stream().map(Lease::ipv6Subnet).filter(java.util.Objects::nonNull).findFirst());
        Optional<Lease> ownLease = own.isPresent()
                ? own.flatMap(s -> all.stream().filter(l -> s.equals(l.subnet())).findFirst())
                : own6.flatMap(s -> all.stream().filter(l -> l.subnet() == null && s.equals(l.ipv6Subnet())).findFirst());
        boolean ipv4 = etcd.config().map(NetworkConfig::enableIpv4).orElse(true);
        List<Lease> peers = etcd.config().isPresent() && etcd.leases().isPresent()
                ? (ipv4 ? LeaseWatcher.peersOf(etcd.leases().get(), etcd.config().get(), own.orElse(NONE))
                        : LeaseWatcher.peersOf(etcd.leases().get(), etcd.config().get(), NONE, own6.orElse(null), null))
                : List.of();
        return new NodeFacts(etcd.config(), own, ownLease, mine, peers, local, own6, local6);
    }

    static NodeFacts of(DoctorSnapshot s) {
        return of(s.files().subnetEnv(), s.etcd(), s.kernel().links());
    }

    /** The config's Backend.Type, or empty without a config. */
    Optional<String> backend() {
        return config.map(c -> c.backend().type());
    }

    /** The data path's device: {@code flannel.<VNI>} or {@code flannel0}; empty for alloc or without a config. */
    Optional<String> overlayDevice() {
        return config.flatMap(c -> switch (c.backend().type()) {
            case BackendConfig.VXLAN -> Optional.of(VxlanDevice.nameFor(c.backend().vniOr(VxlanBackend.DEFAULT_VNI)));
            case BackendConfig.UDP -> Optional.of(UdpBackend.DEVICE);
            default -> Optional.empty();
        });
    }

    /** What the data path takes off the interface's MTU: 50 for vxlan (70 with IPv6), 28 for udp, 0 for alloc. */
    int overhead() {
        return backend().map(b -> switch (b) {
            // With IPv6 the smaller device's, flannel-v6.<VNI>'s: what the daemon writes as FLANNEL_MTU (VxlanBackend.mtu()).
            case BackendConfig.VXLAN -> config.map(NetworkConfig::enableIpv6).orElse(false)
                    ? VxlanBackend.ENCAP_OVERHEAD_V6 : VxlanBackend.ENCAP_OVERHEAD;
            case BackendConfig.UDP -> UdpBackend.OVERHEAD;
            default -> 0;
        }).orElse(0);
    }

    /** The UDP port the data path's traffic between nodes uses, for the probe's advice; 0 for alloc. */
    int port() {
        return config.map(c -> switch (c.backend().type()) {
            case BackendConfig.VXLAN -> c.backend().portOr(VxlanBackend.DEFAULT_PORT);
            case BackendConfig.UDP -> c.backend().portOr(UdpBackend.DEFAULT_PORT);
            default -> 0;
        }).orElse(0);
    }
}
