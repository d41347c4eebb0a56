package io.flanneld.vxlan;


import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.FdbEntry;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Neighbour;
import io.flanneld.net.Route;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
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
                             Map<Integer, String> linkNames) {
        public KernelView {
            Objects.requireNonNull(device, "device");
            deviceAddresses = List.copyOf(deviceAddresses);
            neighbours = List.copyOf(neighbours);
            fdb = List.copyOf(fdb);
            routes = List.copyOf(routes);
            underlayAddresses = List.copyOf(underlayAddresses);
            linkNames = Map.copyOf(linkNames);
        }
    }

    /**
     * One kernel entry, as {@code ip}/{@code bridge} print it, with the command that adds it (for a missing one) or
     * deletes it (for a stale one).
     *
     * @param kind {@code arp}, {@code fdb} or {@code route}
     */
    public record Entry(String kind, String text, String command) {
    }

    /**
     * An entry a peer's lease asks for that the kernel does not have (or has with another value).
     *
     * @param found what the kernel has in its place, e.g. {@code lladdr 02:..:09}, if anything
     */
    public record Missing(Ip4Net peer, String publicIp, Entry entry, Optional<String> found) {
    }

    /**
     * What the inspection found.
     *
     * @param device         the device's name, {@code flannel.<VNI>}
     * @param deviceSummary  its settings as read, for an {@code ok} line ("VNI 1, port 8472, local 198.18.0.1 on eth0,
     *                       MAC …, MTU 1450"), or why there is none
     * @param deviceProblems each way the device differs from what the backend would make; empty when it is right
     * @param peers          the other leases the data path is compared against (those the backend can program)
     * @param missing        every entry a peer's lease asks for that is missing or different
     * @param stale          every entry on the data path that no lease accounts for
     * @param skipped        leases the backend would skip, with why (another backend type, unreadable BackendData)
     */
    public record Findings(String device, String deviceSummary, List<String> deviceProblems, List<Ip4Net> peers,
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
        if (device.isEmpty()) {
            return new KernelView(device, List.of(), List.of(), List.of(), nl.routes().list(), underlay, names);
        }
        int index = device.get().index();
        return new KernelView(device, nl.addresses().list(index), nl.neighbours().list(index), nl.fdb().list(index),
                nl.routes().list(), underlay, names);
    }

    /** The comparison itself, on what {@link #read} returned. */
    public static Findings diagnose(KernelView view, NetworkConfig config, ExternalInterface iface, Lease local, List<Lease> peerLeases) {
        int vni = config.backend().vniOr(VxlanBackend.DEFAULT_VNI);
        String name = VxlanDevice.nameFor(vni);
        VxlanDevice.Config want = new VxlanDevice.Config(name, vni, config.backend().portOr(VxlanBackend.DEFAULT_PORT),
                iface.address(), iface.index(), iface.mtu() - VxlanBackend.ENCAP_OVERHEAD);
        Function<Integer, String> linkName = i -> view.linkNames().getOrDefault(i, "#" + i);

        List<String> problems = new ArrayList<>();
        String summary;
        if (view.device().isEmpty()) {
            summary = name + " does not exist";
            problems.add(summary);
        } else {
            Link link = view.device().get();
            summary = describeDevice(link, linkName);
            VxlanDevice.mismatches(link, want).forEach(m -> problems.add(name + " " + m));
            deviceProblems(link, view.deviceAddresses(), want, iface, local, problems);
        }

        Family.Underlay<Integer> directRouting = config.backend().directRouting() ? Family.V4.underlay(UnderlayNetworks.of(
                view.underlayAddresses().stream().map(LinkAddress::network).toList())) : null;
        List<PeerEntries<Integer, Ip4Net, Route>> wanted = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (Lease lease : peerLeases) {
            if (lease.subnet().equals(local.subnet())) {
                continue;
            }
            try {
                wanted.add(PeerEntries.fromLease(Family.IPV4, lease, directRouting));
            } catch (PeerEntries.UnusableLeaseException e) {
                skipped.add(e.getMessage());
            }
        }
        wanted.sort(Comparator.comparing(PeerEntries::subnet));

        int vtepIndex = view.device().map(Link::index).orElse(-1);
        Entries entries = new Entries(name, vtepIndex, iface.index(), linkName);
        VxlanPeerDiff<Integer, Ip4Net, Route> diff = new VxlanPeerDiff<>(Family.IPV4, vtepIndex, iface.index(),
                new VxlanPeerDiff.Have<>(view.neighbours().stream().map(Family.V4::neigh).toList(),
                        view.fdb().stream().map(Family.V4::fdb).toList(), view.routes()));
        List<Missing> missing = new ArrayList<>();
        for (PeerEntries<Integer, Ip4Net, Route> p : wanted) {
            // Without the device nothing of a tunnelled peer can be there, and its route cannot even be named by index.
            List<String> lacking = view.device().isEmpty() && !p.direct() ? List.of("arp", "fdb", "route") : diff.missing(p);
            for (String kind : lacking) {
                Optional<String> found = kind.equals("arp") ? diff.neighbourEntry(p.gateway()).map(mac -> "lladdr " + mac) : Optional.empty();
                missing.add(new Missing(p.subnet(), Ip4.format(p.publicIp()), entries.wanted(p, kind), found));
            }
        }
        List<PeerEntries<Integer, Ip4Net, Route>> comparable = view.device().isEmpty()
                ? wanted.stream().filter(PeerEntries::direct).toList() : wanted;
        VxlanPeerDiff.Stale<Integer, Route> stale = diff.stale(comparable, local.subnet(), config.network(), directRouting != null);
        List<Entry> staleEntries = new ArrayList<>();
        stale.neighbours().forEach(n -> staleEntries.add(entries.staleArp(n)));
        stale.fdb().forEach(e -> staleEntries.add(entries.staleFdb(e)));
        stale.routes().forEach(r -> staleEntries.add(entries.staleRoute(r)));
        return new Findings(name, summary, problems, wanted.stream().map(PeerEntries::subnet).toList(), missing, staleEntries, skipped);
    }

    private static String describeDevice(Link link, Function<Integer, String> linkName) {
        StringBuilder s = new StringBuilder(link.name());
        link.vxlan().ifPresent(v -> s.append(": VNI ").append(v.vni()).append(", port ").append(v.port())
                .append(", local ").append(v.local().isPresent() ? Ip4.format(v.local().getAsInt()) : "none")
                .append(" on ").append(v.underlayIndex() == 0 ? "no device" : linkName.apply(v.underlayIndex())));
        s.append(", MAC ").append(link.mac().map(MacAddress::toString).orElse("none")).append(", MTU ").append(link.mtu());
        return s.toString();
    }

    /** MAC against the lease's VtepMAC, MTU, address and up state; the VXLAN settings are {@link VxlanDevice#mismatches}'. */
    private static void deviceProblems(Link link, List<LinkAddress> addresses, VxlanDevice.Config want, ExternalInterface iface,
                                       Lease local, List<String> problems) {
        String name = link.name();
        try {
            MacAddress leaseMac = VtepData.parse(local.attrs().backendData()).vtepMac();
            if (!link.mac().equals(Optional.of(leaseMac))) {
                problems.add(name + " has MAC " + link.mac().map(MacAddress::toString).orElse("none") + " but the lease's VtepMAC is "
                        + leaseMac + ": other nodes send this node's pod traffic to a MAC it does not answer to");
            }
        } catch (IllegalArgumentException e) {
            problems.add("the lease " + local.subnet() + " has no usable VtepMAC: " + e.getMessage());
        }
        if (link.mtu() != want.mtu()) {
            problems.add(name + " has MTU " + link.mtu() + " instead of " + want.mtu() + " (" + iface.name() + "'s " + iface.mtu()
                    + " − " + VxlanBackend.ENCAP_OVERHEAD + ")");
        }
        int own = local.subnet().address();
        Predicate<LinkAddress> isOwn = a -> a.address() == own && a.prefixLength() == 32;
        if (addresses.stream().noneMatch(isOwn)) {
            problems.add(name + " lacks its address " + Ip4.format(own) + "/32");
        }
        addresses.stream().filter(isOwn.negate())
                .forEach(a -> problems.add(name + " also has " + a + ", which is not this node's lease"));
        if (!link.isUp()) {
            problems.add(name + " is down");
        }
    }

    /** Entries as {@code ip} and {@code bridge} print them, with the command that adds or deletes each. */
    private record Entries(String device, int vtepIndex, int underlayIndex, Function<Integer, String> linkName) {
        Entry wanted(PeerEntries<Integer, Ip4Net, Route> p, String kind) {
            return switch (kind) {
                case "arp" -> {
                    String text = Ip4.format(p.gateway()) + " lladdr " + p.vtepMac() + " dev " + device;
                    yield new Entry("arp", text, "ip neigh replace " + text + " nud permanent");
                }
                case "fdb" -> {
                    String text = p.vtepMac() + " dev " + device + " dst " + Ip4.format(p.publicIp());
                    yield new Entry("fdb", text, "bridge fdb replace " + text + " self permanent");
                }
                default -> {
                    String text = p.direct()
                            ? p.subnet() + " via " + Ip4.format(p.publicIp()) + " dev " + linkName.apply(underlayIndex)
                            : p.subnet() + " via " + Ip4.format(p.gateway()) + " dev " + device + " onlink";
                    yield new Entry("route", text, "ip route replace " + text);
                }
            };
        }

        Entry staleArp(Family.Neigh<Integer> n) {
            return new Entry("arp", Ip4.format(n.address()) + " lladdr " + n.mac() + " dev " + device,
                    "ip neigh del " + Ip4.format(n.address()) + " dev " + device);
        }

        Entry staleFdb(Family.Fdb<Integer> e) {
            String text = e.mac() + " dev " + device + " dst " + Ip4.format(e.destination());
            return new Entry("fdb", text, "bridge fdb del " + text + " self");
        }

        Entry staleRoute(Route r) {
            String text = DEVICE_INDEX.matcher(r.describe()).replaceAll(
                    m -> java.util.regex.Matcher.quoteReplacement(" dev " + linkName.apply(Integer.parseInt(m.group(1)))));
            return new Entry("route", text, "ip route del " + text);
        }
    }
}
