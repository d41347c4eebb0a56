package io.flanneld.daemon;

import io.flanneld.lease.LeaseSnapshot;
import io.flanneld.lease.LeaseWatcher;
import io.flanneld.lease.SubnetEnv;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4Net;
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
 */
record NodeFacts(Optional<NetworkConfig> config, Optional<Ip4Net> ownSubnet, Optional<Lease> ownLease, List<Lease> leasesOfThisNode,
                 List<Lease> peers, Set<Integer> localAddresses) {
    /** A subnet no lease can hold, for {@link LeaseWatcher#peersOf} when this node holds none. */
    private static final Ip4Net NONE = new Ip4Net(0, 32);

    static NodeFacts of(Optional<SubnetEnv> env, DoctorSnapshot.Etcd etcd, List<LinkWithAddresses> links) {
        Set<Integer> local = links.stream().flatMap(l -> l.addresses().stream()).map(LinkAddress::address)
                .collect(Collectors.toUnmodifiableSet());
        List<Lease> all = etcd.leases().map(LeaseSnapshot::leases).orElse(List.of());
        List<Lease> mine = all.stream().filter(l -> local.contains(l.attrs().publicIp())).toList();
        Optional<Ip4Net> own = env.map(SubnetEnv::subnet).or(() -> mine.stream().map(Lease::subnet).findFirst());
        Optional<Lease> ownLease = own.flatMap(s -> all.stream().filter(l -> l.subnet().equals(s)).findFirst());
        List<Lease> peers = etcd.config().isPresent() && etcd.leases().isPresent()
                ? LeaseWatcher.peersOf(etcd.leases().get(), etcd.config().get(), own.orElse(NONE)) : List.of();
        return new NodeFacts(etcd.config(), own, ownLease, mine, peers, local);
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
