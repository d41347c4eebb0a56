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
        assertEquals(List.of(Ip4Net.parse("198.19.2.0/24"), Ip4Net.parse("198.19.3.0/24")), f.peers(), "the local lease is no peer");
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
        assertEquals(Ip4Net.parse("198.19.2.0/24"), arp.peer());
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
}
