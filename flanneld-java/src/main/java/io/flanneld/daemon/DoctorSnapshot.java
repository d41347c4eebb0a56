package io.flanneld.daemon;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.lease.LeaseSnapshot;
import io.flanneld.lease.SubnetEnv;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.net.Route;
import io.flanneld.net.RouteLookup;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.vxlan.VxlanInspection;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything {@code doctor} read on the node, once, before deciding anything: the files, the daemon's process, its
 * health endpoint, etcd, the kernel (links, addresses, routes, sysctls, the data path's entries, route lookups), the
 * packet filter and, with {@code --probe}, the peers' answers. {@link NodeReader} gathers it; the checks
 * ({@link DaemonChecks}, {@link ForwardingChecks}, {@link DataPathChecks}, {@link PodSideChecks}) are pure functions of
 * it, which is what their tests build by hand.
 */
record DoctorSnapshot(Files files, List<DaemonProcess> daemons, Optional<Healthz> healthz, Etcd etcd, Kernel kernel,
                      ForwardingState forwarding, Optional<NftForward> nft, Underlay underlay,
                      Optional<VxlanInspection.KernelView> vxlan, Optional<List<Probe>> probes) {

    /**
     * subnet.env and the CNI config.
     *
     * @param cniConflist  the contents of {@code 10-flannel.conflist}, when {@code --cni-conf-dir} is given and it exists
     * @param cniDirFiles  the names of the network config files in that directory, in the order a runtime reads them
     */
    record Files(Path subnetFile, Optional<SubnetEnv> subnetEnv, Optional<String> subnetEnvError, Optional<Path> cniConfDir,
                 Optional<String> cniConflist, List<String> cniDirFiles) {
        Files {
            cniDirFiles = List.copyOf(cniDirFiles);
        }
    }

    /**
     * A daemon process in this network namespace.
     *
     * @param program    {@code flanneld-java} or flannel's {@code flanneld}
     * @param subnetFile the subnet file it writes ({@code --subnet-file}, {@code FLANNELD_SUBNET_FILE} or the default)
     */
    record DaemonProcess(long pid, String program, Path subnetFile) {
    }

    /**
     * What {@code GET /healthz} (and {@code /metrics}) answered.
     *
     * @param status the HTTP status, 0 when nothing answered
     * @param error  why nothing answered
     */
    record Healthz(String url, int status, String body, Optional<String> error, Optional<String> metrics) {
    }

    /**
     * What etcd holds.
     *
     * @param error          why etcd could not be read at all
     * @param configError    why the config is missing or invalid
     * @param ownTtlSeconds  seconds the etcd lease of this node's key has left (empty: a reservation, or expired)
     */
    record Etcd(String endpoints, Optional<String> error, Optional<NetworkConfig> config, Optional<String> configError,
                Optional<LeaseSnapshot> leases, Optional<Long> ownTtlSeconds) {
    }

    /**
     * The kernel's view.
     *
     * @param rpFilter   {@code net.ipv4.conf.<name>.rp_filter} for {@code all} and each link that has one
     * @param routesBack per peer subnet, the route the kernel would send to its first host by (what rp_filter checks)
     */
    record Kernel(List<LinkWithAddresses> links, List<Route> routes, Map<String, Integer> rpFilter, Map<Ip4Net, RouteBack> routesBack) {
        Kernel {
            links = List.copyOf(links);
            routes = List.copyOf(routes);
            rpFilter = Map.copyOf(rpFilter);
            routesBack = Map.copyOf(routesBack);
        }
    }

    /** {@code ip route get ADDRESS}: the route, none, or the kernel's refusal (a blackhole). */
    record RouteBack(int address, Optional<RouteLookup> route, Optional<String> error) {
    }

    /**
     * {@code nft list chain ip flannel-ipv4 forward} when the config enables nftables: empty when there is none; and
     * {@code nft list chain ip6 flannel-ipv6 forward} ({@code chain6}) when it enables IPv6 too.
     */
    record NftForward(Optional<String> chain, Optional<String> error, Optional<String> chain6) {
        NftForward(Optional<String> chain, Optional<String> error) {
            this(chain, error, Optional.empty());
        }
    }

    /**
     * The interface for traffic between hosts, as the daemon would choose it.
     *
     * @param how how it was chosen, or why none could be
     */
    record Underlay(Optional<ExternalInterface> iface, String how) {
    }

    /**
     * ICMP echo to a peer's subnet .0 through the overlay.
     *
     * @param rttMs the average round-trip time of the replies
     * @param error why no echo could be sent
     */
    record Probe(Ip4Net peer, String publicIp, String target, int sent, int received, Optional<Double> rttMs, Optional<String> error) {
    }
}
