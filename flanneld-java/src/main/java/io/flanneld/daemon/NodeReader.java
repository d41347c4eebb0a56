package io.flanneld.daemon;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.lease.LeaseSnapshot;
import io.flanneld.lease.SubnetEnv;
import io.flanneld.lease.SubnetFile;
import io.flanneld.lease.SubnetFileException;
import io.flanneld.net.Link;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.RouteLookup;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.ConfigException;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.vxlan.VxlanInspection;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * The edge of {@code doctor}: reads everything the checks look at into one {@link DoctorSnapshot}, and changes
 * nothing. Files first, then the kernel (links, addresses, routes, sysctls), etcd (config, leases, this node's time to
 * live), the route back to each peer, the data path's entries, the packet filter, the daemon's process and health
 * endpoint, and with {@code --probe} the peers themselves.
 */
final class NodeReader {
    /**
     * What doctor was told.
     *
     * @param probeMax how many peers {@code --probe} asks at most
     */
    record Options(Path subnetFile, Optional<Path> cniConfDir, String healthzIp, int healthzPort, DaemonOptions.InterfaceChoice iface,
                   String publicIp, boolean probe, int probeMax) {
    }

    private NodeReader() {
    }

    static DoctorSnapshot read(Main main, Options o) {
        DoctorSnapshot.Files files = files(o);
        try (Rtnetlink nl = Rtnetlink.open()) {
            List<LinkWithAddresses> links = nl.linksWithAddresses();
            DoctorSnapshot.Etcd etcd = etcd(main, files.subnetEnv(), links);
            NodeFacts facts = NodeFacts.of(files.subnetEnv(), etcd, links);
            DoctorSnapshot.Underlay underlay = underlay(nl, links, o, facts);
            Map<Ip4Net, DoctorSnapshot.RouteBack> back = new LinkedHashMap<>();
            for (Lease peer : facts.peers()) {
                if (peer.subnet() != null) { // an IPv6-only peer has no IPv4 subnet to route back to
                    back.put(peer.subnet(), routeBack(nl, peer.subnet()));
                }
            }
            Map<String, Integer> rp = new HashMap<>();
            Stream.concat(Stream.of("all"), links.stream().map(l -> l.link().name()))
                    .forEach(name -> Forwarding.rpFilter(name).ifPresent(v -> rp.put(name, v)));
            DoctorSnapshot.Kernel kernel = new DoctorSnapshot.Kernel(links, nl.routes().list(), rp, back);
            Optional<VxlanInspection.KernelView> vxlan = facts.backend().filter(BackendConfig.VXLAN::equals)
                    .flatMap(b -> underlay.iface()).map(i -> VxlanInspection.read(nl, facts.config().get(), i));
            Optional<DoctorSnapshot.NftForward> nft = facts.config().filter(NetworkConfig::enableNFTables).map(c -> nftForward(c.enableIpv6()));
            Optional<DoctorSnapshot.Healthz> healthz = o.healthzPort() > 0 ? Optional.of(HealthzClient.read(o.healthzIp(), o.healthzPort()))
                    : Optional.empty();
            Optional<List<DoctorSnapshot.Probe>> probes = o.probe()
                    ? Optional.of(PeerProbe.probe(DataPathChecks.probeTargets(facts, o.probeMax()))) : Optional.empty();
            return new DoctorSnapshot(files, DaemonProcesses.inThisNetworkNamespace(), healthz, etcd, kernel,
                    ForwardingState.read(Iptables.local(), facts.config().map(NetworkConfig::enableIpv6).orElse(false)), nft, underlay, vxlan, probes);
        }
    }

    static DoctorSnapshot.Files files(Options o) {
        Optional<SubnetEnv> env = Optional.empty();
        Optional<String> envError = Optional.empty();
        try {
            env = SubnetFile.read(o.subnetFile());
        } catch (SubnetFileException e) {
            envError = Optional.of(e.getMessage());
        }
        Optional<String> conflist = Optional.empty();
        List<String> configs = List.of();
        if (o.cniConfDir().isPresent()) {
            Path dir = o.cniConfDir().get();
            try {
                conflist = Optional.of(Files.readString(dir.resolve(CniConfig.FILE_NAME)));
            } catch (IOException e) {
                conflist = Optional.empty();
            }
            // libcni's order: every .conf, .conflist and .json file of the directory, by name.
            try (Stream<Path> list = Files.list(dir)) {
                configs = list.map(p -> p.getFileName().toString())
                        .filter(n -> n.endsWith(".conf") || n.endsWith(".conflist") || n.endsWith(".json")).sorted().toList();
            } catch (IOException e) {
                configs = List.of();
            }
        }
        return new DoctorSnapshot.Files(o.subnetFile(), env, envError, o.cniConfDir(), conflist, configs);
    }

    /** The config, every lease, and the time to live of this node's key; etcd's refusal or silence as one message. */
    private static DoctorSnapshot.Etcd etcd(Main main, Optional<SubnetEnv> env, List<LinkWithAddresses> links) {
        String endpoints = main.etcdOptions().endpointList();
        AtomicReference<DoctorSnapshot.Etcd> read = new AtomicReference<>();
        StringWriter error = new StringWriter();
        int status = main.withEtcd("doctor", new PrintWriter(error, true), registry -> {
            Optional<String> json = registry.getConfig();
            Optional<NetworkConfig> config = Optional.empty();
            Optional<String> configError = Optional.empty();
            if (json.isEmpty()) {
                configError = Optional.of("no network config at " + main.keys().config());
            } else {
                try {
                    config = Optional.of(ConfigCodec.parse(json.get()));
                } catch (ConfigException e) {
                    configError = Optional.of("config key " + main.keys().config() + " is invalid: " + e.getMessage());
                }
            }
            LeaseSnapshot leases = registry.listLeases();
            DoctorSnapshot.Etcd partial = new DoctorSnapshot.Etcd(endpoints, Optional.empty(), config, configError, Optional.of(leases),
                    Optional.empty());
            Optional<Lease> own = NodeFacts.of(env, partial, links).ownLease();
            Optional<Long> ttl = own.filter(l -> !l.isReservation()).isPresent() ? registry.timeToLive(own.get().etcdLeaseId()) : Optional.empty();
            read.set(new DoctorSnapshot.Etcd(endpoints, Optional.empty(), config, configError, Optional.of(leases), ttl));
            return 0;
        });
        if (status == 0 && read.get() != null) {
            return read.get();
        }
        String message = error.toString().strip().replaceFirst("^flanneld-java doctor: ", "");
        return new DoctorSnapshot.Etcd(endpoints, Optional.of(message.isEmpty() ? "etcd at " + endpoints + " could not be read" : message),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty());
    }

    /**
     * The daemon's interface: by the interface flags when given (the daemon's own choice), else the interface holding
     * the lease's PublicIP, else the default route's; with its IPv6 half when this node's lease publishes a PublicIPv6
     * that the interface holds (what doctor compares flannel-v6.&lt;VNI&gt; against).
     */
    private static DoctorSnapshot.Underlay underlay(Rtnetlink nl, List<LinkWithAddresses> links, Options o, NodeFacts facts) {
        DoctorSnapshot.Underlay chosen = underlay4(nl, links, o, facts);
        io.flanneld.schema.Ip6 v6 = facts.ownLease().map(l -> l.attrs().publicIpv6()).orElse(null);
        if (chosen.iface().isEmpty() || v6 == null || chosen.iface().get().hasIpv6()) {
            return chosen;
        }
        ExternalInterface i = chosen.iface().get();
        boolean holds = links.stream().filter(l -> l.link().index() == i.index())
                .anyMatch(l -> l.ipv6Addresses().stream().anyMatch(a -> a.address().equals(v6)));
        return holds ? new DoctorSnapshot.Underlay(Optional.of(new ExternalInterface(i.name(), i.index(), i.address(), i.publicIp(), i.mtu(), v6, v6)),
                chosen.how()) : chosen;
    }

    private static DoctorSnapshot.Underlay underlay4(Rtnetlink nl, List<LinkWithAddresses> links, Options o, NodeFacts facts) {
        DaemonOptions.InterfaceChoice choice = o.iface();
        boolean flags = !choice.names().isEmpty() || !choice.regexes().isEmpty() || choice.canReach().isPresent();
        try {
            if (flags) {
                return new DoctorSnapshot.Underlay(Optional.of(InterfaceSelector.select(nl, choice, o.publicIp())), "chosen by the interface flags");
            }
            Optional<Lease> own = facts.ownLease();
            if (own.isPresent()) {
                int ip = own.get().attrs().publicIp();
                for (LinkWithAddresses l : links) {
                    if (l.addresses().stream().anyMatch(a -> a.address() == ip)) {
                        Link link = l.link();
                        return new DoctorSnapshot.Underlay(Optional.of(new ExternalInterface(link.name(), link.index(), ip, ip, link.mtu())),
                                "the interface holding the lease's PublicIP " + Ip4.format(ip));
                    }
                }
            }
            return new DoctorSnapshot.Underlay(Optional.of(InterfaceSelector.select(nl, choice, o.publicIp())), "the default route's interface");
        } catch (InterfaceSelectionException | RuntimeException e) {
            return new DoctorSnapshot.Underlay(Optional.empty(), e.getMessage());
        }
    }

    /** {@code ip route get} for the first host of a peer's subnet: where this node answers that peer's pods. */
    private static DoctorSnapshot.RouteBack routeBack(Rtnetlink nl, Ip4Net subnet) {
        int address = subnet.firstHost();
        try {
            Optional<RouteLookup> route = nl.routes().lookup(address);
            return new DoctorSnapshot.RouteBack(address, route, route.isEmpty() ? Optional.of("no route") : Optional.empty());
        } catch (NetlinkException e) {
            return new DoctorSnapshot.RouteBack(address, Optional.empty(), Optional.of(e.getMessage()));
        }
    }

    private static DoctorSnapshot.NftForward nftForward(boolean ipv6) {
        try {
            NfTables nft = NfTables.local();
            return new DoctorSnapshot.NftForward(nft.list("chain", NfTablesScript.FAMILY, NfTablesScript.TABLE, "forward"), Optional.empty(),
                    ipv6 ? nft.list("chain", NfTablesScript.FAMILY6, NfTablesScript.TABLE6, "forward") : Optional.empty());
        } catch (NfTablesException | RuntimeException e) {
            return new DoctorSnapshot.NftForward(Optional.empty(), Optional.of(e.getMessage()));
        }
    }
}
