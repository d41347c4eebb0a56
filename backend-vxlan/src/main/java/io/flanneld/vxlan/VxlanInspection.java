package io.flanneld.vxlan;


import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.FdbEntry;
import io.flanneld.net.FdbEntry6;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkAddress6;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Neighbour;
import io.flanneld.net.Neighbour6;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * This node's VXLAN data path against the leases in etcd, read-only, for {@code flanneld-java doctor}: whether
 * {@code flannel.<VNI>} is the device the backend would make (VNI, port, local address, underlay, learning, MAC equal
 * to the lease's VtepMAC, MTU = interface MTU − 50, its address, up), which peers lack which entry, and which entries
 * no lease accounts for. The comparison of entries is {@link VxlanPeerDiff}'s, the one the backend's own repair and
 * start-up clean-up use, so what the doctor calls missing is what the daemon would put back and what it calls stale is
 * what the daemon would delete. Nothing here writes to the kernel.
 */
public final class VxlanInspection {
    /** How {@link Route#describe()} names a device: by its index. */
    private static final java.util.regex.Pattern DEVICE_INDEX = java.util.regex.Pattern.compile(" dev #(\\d+)");

    private VxlanInspection() {
    }

    /**
     * What was read from the kernel: the device (if any), its addresses, neighbour and FDB entries, the main table's
     * routes, the underlay interface's addresses and every link's name (to print routes as {@code ip route} does).
     */
    public record KernelView(Optional<Link> device, List<LinkAddress> deviceAddresses, List<Neighbour> neighbours,
                             List<FdbEntry> fdb, List<Route> routes, List<LinkAddress> underlayAddresses,
                             Map<Integer, String> linkNames, Optional<KernelView6> v6) {
        public KernelView {
            Objects.requireNonNull(device, "device");
            Objects.requireNonNull(v6, "v6");
            deviceAddresses = List.copyOf(deviceAddresses);
            neighbours = List.copyOf(neighbours);
            fdb = List.copyOf(fdb);
            routes = List.copyOf(routes);
            underlayAddresses = List.copyOf(underlayAddresses);
            linkNames = Map.copyOf(linkNames);
        }

        /** A node that carries no IPv6. */
        public KernelView(Optional<Link> device, List<LinkAddress> deviceAddresses, List<Neighbour> neighbours,
                          List<FdbEntry> fdb, List<Route> routes, List<LinkAddress> underlayAddresses, Map<Integer, String> linkNames) {
            this(device, deviceAddresses, neighbours, fdb, routes, underlayAddresses, linkNames, Optional.empty());
        }
    }

    /**
     * The same for {@code flannel-v6.<VNI>} on a node that carries IPv6: the device, its addresses, NDP and FDB entries,
     * the main table's IPv6 routes and the underlay interface's IPv6 addresses.
     */
    public record KernelView6(Optional<Link> device, List<LinkAddress6> deviceAddresses, List<Neighbour6> neighbours,
                              List<FdbEntry6> fdb, List<Route6> routes, List<LinkAddress6> underlayAddresses) {
        public KernelView6 {
            Objects.requireNonNull(device, "device");
            deviceAddresses = List.copyOf(deviceAddresses);
            neighbours = List.copyOf(neighbours);
            fdb = List.copyOf(fdb);
            routes = List.copyOf(routes);
            underlayAddresses = List.copyOf(underlayAddresses);
        }
    }

    /**
     * One kernel entry, as {@code ip}/{@code bridge} print it, with the command that adds it (for a missing one) or
     * deletes it (for a stale one).
     *
     * @param kind {@code arp} (IPv4) or {@code ndp} (IPv6), {@code fdb} or {@code route}
     */
    public record Entry(String kind, String text, String command) {
    }

    /**
     * An entry a peer's lease asks for that the kernel does not have (or has with another value).
     *
     * @param found what the kernel has in its place, e.g. {@code lladdr 02:..:09}, if anything
     */
    public record Missing(String peer, String publicIp, Entry entry, Optional<String> found) {
    }

    /**
     * What the inspection found.
     *
     * @param device         the device's name, {@code flannel.<VNI>} or {@code flannel-v6.<VNI>}
     * @param deviceSummary  its settings as read, for an {@code ok} line ("VNI 1, port 8472, local 198.18.0.1 on eth0,
     *                       MAC …, MTU 1450"), or why there is none
     * @param deviceProblems each way the device differs from what the backend would make; empty when it is right
     * @param peers          the other leases the data path is compared against (those the backend can program)
     * @param missing        every entry a peer's lease asks for that is missing or different
     * @param stale          every entry on the data path that no lease accounts for
     * @param skipped        leases the backend would skip, with why (another backend type, unreadable BackendData)
     */
    public record Findings(String device, String deviceSummary, List<String> deviceProblems, List<String> peers,
                           List<Missing> missing, List<Entry> stale, List<String> skipped) {
        public Findings {
            deviceProblems = List.copyOf(deviceProblems);
            peers = List.copyOf(peers);
            missing = List.copyOf(missing);
            stale = List.copyOf(stale);
            skipped = List.copyOf(skipped);
        }
    }

    /** Reads the kernel and compares; changes nothing. */
    public static Findings inspect(Rtnetlink nl, NetworkConfig config, ExternalInterface iface, Lease local, List<Lease> peers) {
        return diagnose(read(nl, config, iface), config, iface, local, peers);
    }

    /** The device {@code flannel.<VNI>} of {@code config}, its entries, the routes and the underlay's addresses. */
    public static KernelView read(Rtnetlink nl, NetworkConfig config, ExternalInterface iface) {
        String name = VxlanDevice.nameFor(config.backend().vniOr(VxlanBackend.DEFAULT_VNI));
        Map<Integer, String> names = nl.links().list().stream().collect(Collectors.toMap(Link::index, Link::name, (a, b) -> a));
        Optional<Link> device = nl.links().byName(name);
        List<LinkAddress> underlay = nl.addresses().list(iface.index());
        Optional<KernelView6> v6 = config.enableIpv6() && iface.hasIpv6() ? Optional.of(read6(nl, config, iface)) : Optional.empty();
        if (device.isEmpty()) {
            return new KernelView(device, List.of(), List.of(), List.of(), nl.routes().list(), underlay, names, v6);
        }
        int index = device.get().index();
        return new KernelView(device, nl.addresses().list(index), nl.neighbours().list(index), nl.fdb().list(index),
                nl.routes().list(), underlay, names, v6);
    }

    private static KernelView6 read6(Rtnetlink nl, NetworkConfig config, ExternalInterface iface) {
        Optional<Link> device = nl.links().byName(VxlanDevice.nameFor6(config.backend().vniOr(VxlanBackend.DEFAULT_VNI)));
        List<LinkAddress6> underlay = nl.addresses().list6(iface.index());
        if (device.isEmpty()) {
            return new KernelView6(device, List.of(), List.of(), List.of(), nl.routes().list6(), underlay);
        }
        int index = device.get().index();
        return new KernelView6(device, nl.addresses().list6(index), nl.neighbours().list6(index), nl.fdb().list6(index),
                nl.routes().list6(), underlay);
    }

    /** The comparison itself, on what {@link #read} returned: {@code flannel.<VNI>}'s (see {@link #diagnose6} for IPv6). */
    public static Findings diagnose(KernelView view, NetworkConfig config, ExternalInterface iface, Lease local, List<Lease> peerLeases) {
        int vni = config.backend().vniOr(VxlanBackend.DEFAULT_VNI);
        String name = VxlanDevice.nameFor(vni);
        VxlanDevice.Config want = new VxlanDevice.Config(name, vni, config.backend().portOr(VxlanBackend.DEFAULT_PORT),
                iface.address(), iface.index(), iface.mtu() - VxlanBackend.ENCAP_OVERHEAD);
        Function<Integer, String> linkName = i -> view.linkNames().getOrDefault(i, "#" + i);

        List<String> problems = new ArrayList<>();
        String summary = inspectDevice(view.device(), want, linkName, iface, VxlanBackend.ENCAP_OVERHEAD, local.attrs().backendData(),
                String.valueOf(local.subnet()), local.subnet() == null ? "" : Ip4.format(local.subnet().address()) + "/32",
                view.deviceAddresses().stream().map(a -> Ip4.format(a.address()) + "/" + a.prefixLength()).toList(), problems);
        Family.Underlay<Integer> directRouting = config.backend().directRouting() ? Family.V4.underlay(UnderlayNetworks.of(
                view.underlayAddresses().stream().map(LinkAddress::network).toList())) : null;
        return compare(Family.IPV4, name, summary, problems, view.device(), view.neighbours().stream().map(Family.V4::neigh).toList(),
                view.fdb().stream().map(Family.V4::fdb).toList(), view.routes(), directRouting, iface.index(), local,
                config.network(), peerLeases, linkName);
    }

    /**
     * The same for {@code flannel-v6.<VNI>} and the peers' IPv6 halves (their NDP and FDB entries and IPv6 routes),
     * on a node whose config enables IPv6 and whose interface has an IPv6 address; empty otherwise.
     */
    public static Optional<Findings> diagnose6(KernelView view, NetworkConfig config, ExternalInterface iface, Lease local,
                                               List<Lease> peerLeases) {
        if (view.v6().isEmpty() || local.ipv6Subnet() == null || !iface.hasIpv6()) {
            return Optional.empty();
        }
        KernelView6 v6 = view.v6().get();
        int vni = config.backend().vniOr(VxlanBackend.DEFAULT_VNI);
        String name = VxlanDevice.nameFor6(vni);
        VxlanDevice.Config want = VxlanDevice.Config.ipv6(name, vni, config.backend().portOr(VxlanBackend.DEFAULT_PORT),
                iface.address6(), iface.index(), iface.mtu() - VxlanBackend.ENCAP_OVERHEAD_V6);
        Function<Integer, String> linkName = i -> view.linkNames().getOrDefault(i, "#" + i);
        List<String> problems = new ArrayList<>();
        String summary = inspectDevice(v6.device(), want, linkName, iface, VxlanBackend.ENCAP_OVERHEAD_V6, local.attrs().backendV6Data(),
                String.valueOf(local.ipv6Subnet()), local.ipv6Subnet().address() + "/128",
                v6.deviceAddresses().stream().filter(a -> a.scope() == LinkAddress6.SCOPE_UNIVERSE)
                        .map(a -> a.address() + "/" + a.prefixLength()).toList(), problems);
        Family.Underlay<Ip6> directRouting = null;
        if (config.backend().directRouting()) {
            List<Ip6Net> networks = v6.underlayAddresses().stream().filter(a -> a.scope() == LinkAddress6.SCOPE_UNIVERSE)
                    .map(LinkAddress6::network).distinct().toList();
            directRouting = new Family.Underlay<>(networks.toString(), ip -> networks.stream().anyMatch(n -> n.contains(ip)));
        }
        return Optional.of(compare(Family.IPV6, name, summary, problems, v6.device(),
                v6.neighbours().stream().map(n -> new Family.Neigh<>(n.linkIndex(), n.address(), n.mac(), n.state())).toList(),
                v6.fdb().stream().map(e -> new Family.Fdb<>(e.linkIndex(), e.mac(), e.destination(), e.state())).toList(),
                v6.routes(), directRouting, iface.index(), local, Family.IPV6.network(config, local), peerLeases, linkName));
    }

    /** One family's peers against its device's entries, with {@link VxlanPeerDiff}, the backend's own comparison. */
    private static <A, N extends Comparable<N>, R> Findings compare(Family<A, N, R> family, String name, String summary, List<String> problems,
                                                                    Optional<Link> device, List<Family.Neigh<A>> neighbours,
                                                                    List<Family.Fdb<A>> fdb, List<R> routes, Family.Underlay<A> directRouting,
                                                                    int underlayIndex, Lease local, N network, List<Lease> peerLeases,
                                                                    Function<Integer, String> linkName) {
        N localSubnet = family.subnet(local);
        List<PeerEntries<A, N, R>> wanted = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (Lease lease : peerLeases) {
            N subnet = family.subnet(lease);
            if (subnet == null || subnet.equals(localSubnet)) {
                continue; // not a peer of this family (an IPv4-only or IPv6-only node), or this node's own lease
            }
            try {
                wanted.add(PeerEntries.fromLease(family, lease, directRouting));
            } catch (PeerEntries.UnusableLeaseException e) {
                skipped.add(e.getMessage());
            }
        }
        wanted.sort(Comparator.comparing(PeerEntries::subnet));

        int vtepIndex = device.map(Link::index).orElse(-1);
        Entries<A, N, R> entries = new Entries<>(family, name, underlayIndex, linkName);
        VxlanPeerDiff<A, N, R> diff = new VxlanPeerDiff<>(family, vtepIndex, underlayIndex, new VxlanPeerDiff.Have<>(neighbours, fdb, routes));
        List<Missing> missing = new ArrayList<>();
        for (PeerEntries<A, N, R> p : wanted) {
            // Without the device nothing of a tunnelled peer can be there, and its route cannot even be named by index.
            List<String> lacking = device.isEmpty() && !p.direct() ? List.of(family.neighbourLabel(), "fdb", "route") : diff.missing(p);
            for (String kind : lacking) {
                Optional<String> found = kind.equals(family.neighbourLabel())
                        ? diff.neighbourEntry(p.gateway()).map(mac -> "lladdr " + mac) : Optional.empty();
                missing.add(new Missing(p.subnet().toString(), family.format(p.publicIp()), entries.wanted(p, kind), found));
            }
        }
        List<PeerEntries<A, N, R>> comparable = device.isEmpty() ? wanted.stream().filter(PeerEntries::direct).toList() : wanted;
        VxlanPeerDiff.Stale<A, R> stale = diff.stale(comparable, localSubnet, network, directRouting != null);
        List<Entry> staleEntries = new ArrayList<>();
        stale.neighbours().forEach(n -> staleEntries.add(entries.staleNeighbour(n)));
        stale.fdb().forEach(e -> staleEntries.add(entries.staleFdb(e)));
        stale.routes().forEach(r -> staleEntries.add(entries.staleRoute(r)));
        return new Findings(name, summary, problems, wanted.stream().map(p -> p.subnet().toString()).toList(), missing, staleEntries, skipped);
    }

    private static String describeDevice(Link link, Function<Integer, String> linkName) {
        StringBuilder s = new StringBuilder(link.name());
        link.vxlan().ifPresent(v -> s.append(": VNI ").append(v.vni()).append(", port ").append(v.port())
                .append(", local ").append(v.local6().map(Ip6::toString).orElse(v.local().isPresent() ? Ip4.format(v.local().getAsInt()) : "none"))
                .append(" on ").append(v.underlayIndex() == 0 ? "no device" : linkName.apply(v.underlayIndex())));
        s.append(", MAC ").append(link.mac().map(MacAddress::toString).orElse("none")).append(", MTU ").append(link.mtu());
        return s.toString();
    }

    /**
     * The device's summary for an {@code ok} line, adding to {@code problems} each way it differs from what the backend
     * makes: its VXLAN settings ({@link VxlanDevice#mismatches}), MAC against the lease's VtepMAC (BackendData's, or
     * BackendV6Data's for the IPv6 device), MTU, its own address (the only one of its family it may carry), up state.
     */
    private static String inspectDevice(Optional<Link> device, VxlanDevice.Config want, Function<Integer, String> linkName,
                                        ExternalInterface iface, int overhead, String backendData, String localSubnet, String own,
                                        List<String> addresses, List<String> problems) {
        String name = want.name();
        if (device.isEmpty()) {
            problems.add(name + " does not exist");
            return name + " does not exist";
        }
        Link link = device.get();
        VxlanDevice.mismatches(link, want).forEach(m -> problems.add(name + " " + m));
        try {
            MacAddress leaseMac = VtepData.parse(backendData).vtepMac();
            if (!link.mac().equals(Optional.of(leaseMac))) {
                problems.add(name + " has MAC " + link.mac().map(MacAddress::toString).orElse("none") + " but the lease's VtepMAC is "
                        + leaseMac + ": other nodes send this node's pod traffic to a MAC it does not answer to");
            }
        } catch (IllegalArgumentException e) {
            problems.add("the lease " + localSubnet + " has no usable VtepMAC: " + e.getMessage());
        }
        if (link.mtu() != want.mtu()) {
            problems.add(name + " has MTU " + link.mtu() + " instead of " + want.mtu() + " (" + iface.name() + "'s " + iface.mtu()
                    + " − " + overhead + ")");
        }
        if (!addresses.contains(own)) {
            problems.add(name + " lacks its address " + own);
        }
        addresses.stream().filter(a -> !a.equals(own))
                .forEach(a -> problems.add(name + " also has " + a + ", which is not this node's lease"));
        if (!link.isUp()) {
            problems.add(name + " is down");
        }
        return describeDevice(link, linkName);
    }

    /** Entries as {@code ip} and {@code bridge} print them, with the command that adds or deletes each. */
    private record Entries<A, N, R>(Family<A, N, R> family, String device, int underlayIndex, Function<Integer, String> linkName) {
        /** {@code ip} or {@code ip -6}. */
        private String ip() {
            return family == Family.IPV6 ? "ip -6" : "ip";
        }

        Entry wanted(PeerEntries<A, N, R> p, String kind) {
            if (kind.equals(family.neighbourLabel())) {
                String text = family.format(p.gateway()) + " lladdr " + p.vtepMac() + " dev " + device;
                return new Entry(kind, text, ip() + " neigh replace " + text + " nud permanent");
            }
            if (kind.equals("fdb")) {
                String text = p.vtepMac() + " dev " + device + " dst " + family.format(p.publicIp());
                return new Entry("fdb", text, "bridge fdb replace " + text + " self permanent");
            }
            String text = p.direct()
                    ? p.subnet() + " via " + family.format(p.publicIp()) + " dev " + linkName.apply(underlayIndex)
                    : p.subnet() + " via " + family.format(p.gateway()) + " dev " + device + " onlink";
            return new Entry("route", text, ip() + " route replace " + text);
        }

        Entry staleNeighbour(Family.Neigh<A> n) {
            return new Entry(family.neighbourLabel(), family.format(n.address()) + " lladdr " + n.mac() + " dev " + device,
                    ip() + " neigh del " + family.format(n.address()) + " dev " + device);
        }

        Entry staleFdb(Family.Fdb<A> e) {
            String text = e.mac() + " dev " + device + " dst " + family.format(e.destination());
            return new Entry("fdb", text, "bridge fdb del " + text + " self");
        }

        Entry staleRoute(R r) {
            String text = DEVICE_INDEX.matcher(family.describe(r)).replaceAll(
                    m -> java.util.regex.Matcher.quoteReplacement(" dev " + linkName.apply(Integer.parseInt(m.group(1)))));
            return new Entry("route", text, ip() + " route del " + text);
        }
    }
}
