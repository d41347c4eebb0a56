package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.FdbEntry;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Neighbour;
import io.flanneld.net.Route;
import io.flanneld.net.VxlanAttributes;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The doctor's view of the VXLAN data path, on hand-made kernel state. */
class VxlanInspectionTest {
    private static final int ETH0 = 2;
    private static final int VTEP = 5;
    private static final NetworkConfig CONFIG = new NetworkConfig(Ip4Net.parse("198.19.0.0/16"), 24, Ip4.parse("198.19.1.0"),
            Ip4.parse("198.19.255.0"), BackendConfig.ofType("vxlan"));
    private static final ExternalInterface IFACE = new ExternalInterface("eth0", ETH0, Ip4.parse("198.18.0.1"), Ip4.parse("198.18.0.1"), 1500);
    private static final MacAddress OWN_MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final Lease LOCAL = lease("198.19.1.0/24", "198.18.0.1", "vxlan", OWN_MAC);
    private static final Lease PEER2 = lease("198.19.2.0/24", "198.18.0.2", "vxlan", MacAddress.parse("02:00:00:00:00:02"));
    private static final Lease PEER3 = lease("198.19.3.0/24", "198.18.0.3", "vxlan", MacAddress.parse("02:00:00:00:00:03"));

    private static Lease lease(String subnet, String publicIp, String type, MacAddress mac) {
        return new Lease(Ip4Net.parse(subnet), new LeaseAttrs(Ip4.parse(publicIp), type,
                mac == null ? null : new VtepData(1, mac).toJson()), 9, 1);
    }

    private static Link device(int mtu, MacAddress mac, int flags) {
        return new Link(VTEP, "flannel.1", flags, mtu, Optional.of(mac), Optional.of("vxlan"),
                Optional.of(new VxlanAttributes(1, OptionalInt.of(Ip4.parse("198.18.0.1")), ETH0, 8472, false)));
    }

    private static PeerEntries<Integer, Ip4Net, Route> entries(Lease l) {
        return PeerEntries.fromLease(Family.IPV4, l, null);
    }

    /** A device and entries exactly as the backend makes them for {@code programmed}. */
    private static VxlanInspection.KernelView view(Link device, List<Lease> programmed, List<Route> extraRoutes) {
        List<Neighbour> n = programmed.stream().map(l -> Neighbour.permanent(VTEP, entries(l).gateway(), entries(l).vtepMac())).toList();
        List<FdbEntry> f = programmed.stream().map(l -> FdbEntry.permanent(VTEP, entries(l).vtepMac(), entries(l).publicIp())).toList();
        List<Route> r = new java.util.ArrayList<>(programmed.stream().map(l -> entries(l).route(VTEP, ETH0)).toList());
        r.addAll(extraRoutes);
        return new VxlanInspection.KernelView(Optional.of(device), List.of(new LinkAddress(VTEP, Ip4.parse("198.19.1.0"), 32)),
                n, f, r, List.of(new LinkAddress(ETH0, Ip4.parse("198.18.0.1"), 16)), Map.of(ETH0, "eth0", VTEP, "flannel.1"));
    }

    @Test
    void aDataPathThatMatchesEtcdHasNothingToReport() {
        VxlanInspection.Findings f = VxlanInspection.diagnose(view(device(1450, OWN_MAC, Link.IFF_UP), List.of(PEER2, PEER3), List.of()),
                CONFIG, IFACE, LOCAL, List.of(LOCAL, PEER2, PEER3));
        assertEquals(List.of(), f.deviceProblems());
        assertEquals(List.of(), f.missing());
        assertEquals(List.of(), f.stale());
        assertEquals(List.of("198.19.2.0/24", "198.19.3.0/24"), f.peers(), "the local lease is no peer");
        assertEquals("flannel.1: VNI 1, port 8472, local 198.18.0.1 on eth0, MAC 02:00:00:00:00:01, MTU 1450", f.deviceSummary());
    }

    @Test
    void aWrongMacMtuAddressOrStateIsNamed() {
        MacAddress other = MacAddress.parse("02:00:00:00:00:99");
        VxlanInspection.KernelView v = view(device(1500, other, 0), List.of(PEER2), List.of());
        v = new VxlanInspection.KernelView(v.device(), List.of(), v.neighbours(), v.fdb(), v.routes(), v.underlayAddresses(), v.linkNames());
        List<String> problems = VxlanInspection.diagnose(v, CONFIG, IFACE, LOCAL, List.of(PEER2)).deviceProblems();
        assertEquals(4, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith("flannel.1 has MAC 02:00:00:00:00:99 but the lease's VtepMAC is 02:00:00:00:00:01"), problems.get(0));
        assertEquals("flannel.1 has MTU 1500 instead of 1450 (eth0's 1500 − 50)", problems.get(1));
        assertEquals("flannel.1 lacks its address 198.19.1.0/32", problems.get(2));
        assertEquals("flannel.1 is down", problems.get(3));
    }

    @Test
    void vxlanSettingsAreComparedAsTheBackendComparesThem() {
        Link wrongVni = new Link(VTEP, "flannel.1", Link.IFF_UP, 1450, Optional.of(OWN_MAC), Optional.of("vxlan"),
                Optional.of(new VxlanAttributes(2, OptionalInt.of(Ip4.parse("198.18.0.9")), ETH0, 4789, false)));
        List<String> problems = VxlanInspection.diagnose(view(wrongVni, List.of(), List.of()), CONFIG, IFACE, LOCAL, List.of()).deviceProblems();
        assertEquals(List.of("flannel.1 has VNI 2 instead of 1", "flannel.1 has port 4789 instead of 8472",
                "flannel.1 has local address 198.18.0.9 instead of 198.18.0.1"), problems);
    }

    @Test
    void missingEntriesAreNamedPerPeerWithTheCommandThatAddsThem() {
        VxlanInspection.KernelView full = view(device(1450, OWN_MAC, Link.IFF_UP), List.of(PEER2, PEER3), List.of());
        List<Route> withoutPeer3Route = full.routes().stream().filter(r -> !r.destination().toString().equals("198.19.3.0/24")).toList();
        Neighbour wrong = Neighbour.permanent(VTEP, Ip4.parse("198.19.2.0"), MacAddress.parse("02:00:00:00:00:77"));
        List<Neighbour> neighbours = List.of(wrong, full.neighbours().get(1));
        VxlanInspection.KernelView broken = new VxlanInspection.KernelView(full.device(), full.deviceAddresses(), neighbours, full.fdb(),
                withoutPeer3Route, full.underlayAddresses(), full.linkNames());
        VxlanInspection.Findings f = VxlanInspection.diagnose(broken, CONFIG, IFACE, LOCAL, List.of(PEER2, PEER3));
        assertEquals(2, f.missing().size(), f.missing().toString());
        VxlanInspection.Missing arp = f.missing().get(0);
        assertEquals("198.19.2.0/24", arp.peer());
        assertEquals("198.19.2.0 lladdr 02:00:00:00:00:02 dev flannel.1", arp.entry().text());
        assertEquals("ip neigh replace 198.19.2.0 lladdr 02:00:00:00:00:02 dev flannel.1 nud permanent", arp.entry().command());
        assertEquals(Optional.of("lladdr 02:00:00:00:00:77"), arp.found());
        VxlanInspection.Missing route = f.missing().get(1);
        assertEquals("198.19.3.0/24 via 198.19.3.0 dev flannel.1 onlink", route.entry().text());
        assertEquals("ip route replace 198.19.3.0/24 via 198.19.3.0 dev flannel.1 onlink", route.entry().command());
        assertEquals("198.18.0.3", route.publicIp());
        assertEquals(List.of(new VxlanInspection.Entry("arp", "198.19.2.0 lladdr 02:00:00:00:00:77 dev flannel.1",
                "ip neigh del 198.19.2.0 dev flannel.1")), f.stale(), "the wrong entry is also stale");
    }

    @Test
    void aVanishedLeasesEntriesAreStaleWithTheCommandThatDeletesThem() {
        VxlanInspection.KernelView v = view(device(1450, OWN_MAC, Link.IFF_UP), List.of(PEER2, PEER3), List.of());
        VxlanInspection.Findings f = VxlanInspection.diagnose(v, CONFIG, IFACE, LOCAL, List.of(PEER2));
        assertEquals(List.of(), f.missing());
        assertEquals(List.of(
                new VxlanInspection.Entry("arp", "198.19.3.0 lladdr 02:00:00:00:00:03 dev flannel.1", "ip neigh del 198.19.3.0 dev flannel.1"),
                new VxlanInspection.Entry("fdb", "02:00:00:00:00:03 dev flannel.1 dst 198.18.0.3",
                        "bridge fdb del 02:00:00:00:00:03 dev flannel.1 dst 198.18.0.3 self"),
                new VxlanInspection.Entry("route", "198.19.3.0/24 via 198.19.3.0 dev flannel.1 onlink",
                        "ip route del 198.19.3.0/24 via 198.19.3.0 dev flannel.1 onlink")), f.stale());
    }

    @Test
    void withoutTheDeviceEveryTunnelledEntryIsMissing() {
        VxlanInspection.KernelView none = new VxlanInspection.KernelView(Optional.empty(), List.of(), List.of(), List.of(), List.of(),
                List.of(new LinkAddress(ETH0, Ip4.parse("198.18.0.1"), 16)), Map.of(ETH0, "eth0"));
        VxlanInspection.Findings f = VxlanInspection.diagnose(none, CONFIG, IFACE, LOCAL, List.of(PEER2));
        assertEquals(List.of("flannel.1 does not exist"), f.deviceProblems());
        assertEquals(List.of("arp", "fdb", "route"), f.missing().stream().map(m -> m.entry().kind()).toList());
    }

    @Test
    void leasesOfAnotherBackendAreSkippedWithTheReason() {
        Lease udp = lease("198.19.4.0/24", "198.18.0.4", "udp", null);
        VxlanInspection.Findings f = VxlanInspection.diagnose(view(device(1450, OWN_MAC, Link.IFF_UP), List.of(), List.of()),
                CONFIG, IFACE, LOCAL, List.of(udp));
        assertEquals(List.of(), f.peers());
        assertEquals(1, f.skipped().size());
        assertTrue(f.skipped().get(0).contains("198.19.4.0/24") && f.skipped().get(0).contains("udp"), f.skipped().toString());
    }

    // ---- IPv6: flannel-v6.1 and the peers' IPv6 halves.

    private static final int VTEP6 = 6;
    private static final NetworkConfig DUAL = CONFIG.withIpv6(new io.flanneld.schema.Ipv6Config(
            io.flanneld.schema.Ip6Net.parse("2001:2:19::/48"), 64, io.flanneld.schema.Ip6.parse("2001:2:19:1::"),
            io.flanneld.schema.Ip6.parse("2001:2:19:ffff::")));
    private static final ExternalInterface IFACE6 = new ExternalInterface("eth0", ETH0, Ip4.parse("198.18.0.1"), Ip4.parse("198.18.0.1"), 1500,
            io.flanneld.schema.Ip6.parse("2001:2::1"), io.flanneld.schema.Ip6.parse("2001:2::1"));

    private static Lease dual(int n) {
        MacAddress mac = MacAddress.parse("02:00:00:00:00:0" + n);
        MacAddress mac6 = MacAddress.parse("02:00:00:00:06:0" + n);
        LeaseAttrs attrs = new LeaseAttrs(Ip4.parse("198.18.0." + n), "vxlan", new VtepData(1, mac).toJson())
                .withIpv6(io.flanneld.schema.Ip6.parse("2001:2::" + n), new VtepData(1, mac6).toJson());
        return new Lease(Ip4Net.parse("198.19." + n + ".0/24"), attrs, 9, 1, "198.19." + n + ".0-24&2001:2:19:" + n + "::-64",
                io.flanneld.schema.Ip6Net.parse("2001:2:19:" + n + "::/64"));
    }

    /** flannel-v6.1 and its entries as the backend makes them for {@code programmed}. */
    private static VxlanInspection.KernelView6 view6(List<Lease> programmed) {
        Link device = new Link(VTEP6, "flannel-v6.1", Link.IFF_UP, 1430, Optional.of(MacAddress.parse("02:00:00:00:06:01")), Optional.of("vxlan"),
                Optional.of(new VxlanAttributes(1, OptionalInt.empty(), ETH0, 8472, false, Optional.of(io.flanneld.schema.Ip6.parse("2001:2::1")))));
        List<PeerEntries<io.flanneld.schema.Ip6, io.flanneld.schema.Ip6Net, io.flanneld.net.Route6>> e = programmed.stream()
                .map(l -> PeerEntries.fromLease(Family.IPV6, l, null)).toList();
        return new VxlanInspection.KernelView6(Optional.of(device),
                List.of(new io.flanneld.net.LinkAddress6(VTEP6, io.flanneld.schema.Ip6.parse("2001:2:19:1::"), 128, 0, 0x80)),
                e.stream().map(p -> io.flanneld.net.Neighbour6.permanent(VTEP6, p.gateway(), p.vtepMac())).toList(),
                e.stream().map(p -> new io.flanneld.net.FdbEntry6(VTEP6, p.vtepMac(), p.publicIp(), Neighbour.NUD_PERMANENT)).toList(),
                e.stream().map(p -> p.route(VTEP6, ETH0)).toList(),
                List.of(new io.flanneld.net.LinkAddress6(ETH0, io.flanneld.schema.Ip6.parse("2001:2::1"), 64, 0, 0x80)));
    }

    private static VxlanInspection.KernelView dualView(VxlanInspection.KernelView6 v6) {
        VxlanInspection.KernelView v4 = view(device(1450, MacAddress.parse("02:00:00:00:00:01"), Link.IFF_UP), List.of(dual(2), dual(3)), List.of());
        return new VxlanInspection.KernelView(v4.device(), v4.deviceAddresses(), v4.neighbours(), v4.fdb(), v4.routes(), v4.underlayAddresses(),
                Map.of(ETH0, "eth0", VTEP, "flannel.1", VTEP6, "flannel-v6.1"), Optional.of(v6));
    }

    @Test
    void theIpv6DeviceAndThePeersIpv6EntriesAreComparedLikeIpv4s() {
        List<Lease> leases = List.of(dual(1), dual(2), dual(3));
        VxlanInspection.Findings ok = VxlanInspection.diagnose6(dualView(view6(List.of(dual(2), dual(3)))), DUAL, IFACE6, dual(1), leases)
                .orElseThrow();
        assertEquals(List.of(), ok.deviceProblems());
        assertEquals(List.of(), ok.missing());
        assertEquals(List.of(), ok.stale());
        assertEquals(List.of("2001:2:19:2::/64", "2001:2:19:3::/64"), ok.peers());
        assertEquals("flannel-v6.1: VNI 1, port 8472, local 2001:2::1 on eth0, MAC 02:00:00:00:06:01, MTU 1430", ok.deviceSummary());
        assertEquals(List.of(), VxlanInspection.diagnose(dualView(view6(List.of(dual(2), dual(3)))), DUAL, IFACE6, dual(1), leases).missing(),
                "and IPv4's half is whole too");

        // Peer 3's NDP entry and route gone, a route of a vanished IPv6 peer left behind.
        VxlanInspection.KernelView6 full = view6(List.of(dual(2), dual(3)));
        io.flanneld.net.Route6 vanished = PeerEntries.fromLease(Family.IPV6, dual(4), null).route(VTEP6, ETH0);
        List<io.flanneld.net.Route6> routes = new java.util.ArrayList<>(full.routes().subList(0, 1));
        routes.add(vanished);
        VxlanInspection.KernelView6 broken = new VxlanInspection.KernelView6(full.device(), full.deviceAddresses(), full.neighbours().subList(0, 1),
                full.fdb(), routes, full.underlayAddresses());
        VxlanInspection.Findings f = VxlanInspection.diagnose6(dualView(broken), DUAL, IFACE6, dual(1), leases).orElseThrow();
        assertEquals(List.of("ndp", "route"), f.missing().stream().map(m -> m.entry().kind()).toList(), f.missing().toString());
        assertEquals("2001:2:19:3::/64", f.missing().get(0).peer());
        assertEquals("2001:2::3", f.missing().get(0).publicIp());
        assertEquals("ip -6 neigh replace 2001:2:19:3:: lladdr 02:00:00:00:06:03 dev flannel-v6.1 nud permanent", f.missing().get(0).entry().command());
        assertEquals("ip -6 route replace 2001:2:19:3::/64 via 2001:2:19:3:: dev flannel-v6.1 onlink", f.missing().get(1).entry().command());
        assertEquals(1, f.stale().size(), f.stale().toString());
        assertTrue(f.stale().get(0).command().startsWith("ip -6 route del 2001:2:19:4::/64 via 2001:2:19:4:: dev flannel-v6.1"), f.stale().get(0).command());

        // The IPv6 device's MAC against BackendV6Data, its MTU against eth0's 1500 − 70.
        Link wrong = new Link(VTEP6, "flannel-v6.1", Link.IFF_UP, 1450, Optional.of(MacAddress.parse("02:00:00:00:00:01")), Optional.of("vxlan"),
                full.device().get().vxlan());
        List<String> problems = VxlanInspection.diagnose6(dualView(new VxlanInspection.KernelView6(Optional.of(wrong), full.deviceAddresses(),
                full.neighbours(), full.fdb(), full.routes(), full.underlayAddresses())), DUAL, IFACE6, dual(1), leases).orElseThrow().deviceProblems();
        assertEquals(2, problems.size(), problems.toString());
        assertTrue(problems.get(0).startsWith("flannel-v6.1 has MAC 02:00:00:00:00:01 but the lease's VtepMAC is 02:00:00:00:06:01"), problems.get(0));
        assertEquals("flannel-v6.1 has MTU 1450 instead of 1430 (eth0's 1500 − 70)", problems.get(1));

        assertEquals(Optional.empty(), VxlanInspection.diagnose6(view(device(1450, OWN_MAC, Link.IFF_UP), List.of(), List.of()), CONFIG, IFACE, LOCAL,
                List.of()), "nothing to say about IPv6 on a node that carries none");
    }
}
