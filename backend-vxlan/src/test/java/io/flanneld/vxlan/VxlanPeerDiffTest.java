package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.net.FdbEntry;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Neighbour;
import io.flanneld.net.Route;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The comparison repair, reconcile and the doctor share, on hand-made kernel state. */
class VxlanPeerDiffTest {
    private static final int VTEP = 7;
    private static final int UNDERLAY = 2;
    private static final Ip4Net LOCAL = Ip4Net.parse("198.19.1.0/24");
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final MacAddress MAC2 = MacAddress.parse("02:00:00:00:00:02");
    private static final MacAddress MAC3 = MacAddress.parse("02:00:00:00:00:03");
    private static final PeerEntries P2 = peer("198.19.2.0/24", "198.18.0.2", MAC2, false);
    private static final PeerEntries P3 = peer("198.19.3.0/24", "198.18.0.3", MAC3, false);

    private static PeerEntries peer(String subnet, String publicIp, MacAddress mac, boolean direct) {
        return new PeerEntries(Ip4Net.parse(subnet), Ip4.parse(publicIp), mac, direct);
    }

    private static Neighbour arp(PeerEntries p) {
        return Neighbour.permanent(VTEP, p.gateway(), p.vtepMac());
    }

    private static FdbEntry fdb(PeerEntries p) {
        return FdbEntry.permanent(VTEP, p.vtepMac(), p.publicIp());
    }

    private static Route route(PeerEntries p) {
        return p.route(VTEP, UNDERLAY);
    }

    /** What the kernel reports for the routes the daemon adds: the same identity, another protocol is fine. */
    private static Route asListed(Route r) {
        return r.withProtocol(Route.PROTOCOL_STATIC);
    }

    private static VxlanPeerDiff diff(List<Neighbour> n, List<FdbEntry> f, List<Route> r) {
        return new VxlanPeerDiff(VTEP, UNDERLAY, new VxlanPeerDiff.Have(n, f, r));
    }

    @Test
    void nothingMissingAndNothingStaleWhenTheKernelMatchesTheLeases() {
        Route connected = new Route(Ip4Net.parse("198.18.0.0/16"), OptionalInt.empty(), UNDERLAY, false, Route.TABLE_MAIN,
                Route.PROTOCOL_KERNEL, Route.SCOPE_LINK, 0);
        VxlanPeerDiff d = diff(List.of(arp(P2), arp(P3)), List.of(fdb(P2), fdb(P3)),
                List.of(asListed(route(P2)), asListed(route(P3)), connected));
        assertEquals(List.of(), d.missing(P2));
        assertEquals(List.of(), d.missing(P3));
        assertTrue(d.stale(List.of(P2, P3), LOCAL, NETWORK, false).isEmpty());
    }

    @Test
    void eachMissingEntryIsNamedInProgrammingOrder() {
        VxlanPeerDiff d = diff(List.of(arp(P3)), List.of(fdb(P2)), List.of(route(P3)));
        assertEquals(List.of("arp", "route"), d.missing(P2));
        assertEquals(List.of("fdb"), d.missing(P3));
        assertEquals(List.of("arp", "fdb", "route"), diff(List.of(), List.of(), List.of()).missing(P2));
    }

    @Test
    void anArpEntryWithAnotherMacIsMissingAndStale() {
        Neighbour wrong = Neighbour.permanent(VTEP, P2.gateway(), MAC3);
        VxlanPeerDiff d = diff(List.of(wrong), List.of(fdb(P2)), List.of(route(P2)));
        assertEquals(List.of("arp"), d.missing(P2));
        assertEquals(Optional.of(MAC3), d.arpEntry(P2.gateway()));
        assertEquals(List.of(wrong), d.stale(List.of(P2), LOCAL, NETWORK, false).neighbours());
    }

    @Test
    void anFdbEntryToAnotherHostIsMissingAndStale() {
        FdbEntry moved = FdbEntry.permanent(VTEP, MAC2, Ip4.parse("198.18.0.9"));
        VxlanPeerDiff d = diff(List.of(arp(P2)), List.of(moved), List.of(route(P2)));
        assertEquals(List.of("fdb"), d.missing(P2));
        assertEquals(List.of(moved), d.stale(List.of(P2), LOCAL, NETWORK, false).fdb());
    }

    @Test
    void aVanishedPeersEntriesAreAllStale() {
        VxlanPeerDiff d = diff(List.of(arp(P2), arp(P3)), List.of(fdb(P2), fdb(P3)), List.of(route(P2), route(P3)));
        VxlanPeerDiff.Stale stale = d.stale(List.of(P2), LOCAL, NETWORK, false);
        assertEquals(List.of(arp(P3)), stale.neighbours());
        assertEquals(List.of(fdb(P3)), stale.fdb());
        assertEquals(List.of(route(P3)), stale.routes());
    }

    @Test
    void onlyTheDevicesOwnNonKernelRoutesCanBeStaleWithoutDirectRouting() {
        Route kernelOnDevice = new Route(Ip4Net.parse("198.19.9.0/24"), OptionalInt.empty(), VTEP, false, Route.TABLE_MAIN,
                Route.PROTOCOL_KERNEL, Route.SCOPE_LINK, 0);
        Route elsewhere = Route.onlinkVia(Ip4Net.parse("198.19.8.0/24"), Ip4.parse("198.19.8.0"), 3);
        Route viaUnderlay = Route.via(Ip4Net.parse("198.19.4.0/24"), Ip4.parse("198.18.0.4"));
        Route viaUnderlayDev = new Route(Ip4Net.parse("198.19.4.0/24"), OptionalInt.of(Ip4.parse("198.18.0.4")), UNDERLAY,
                false, Route.TABLE_MAIN, Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0);
        VxlanPeerDiff d = diff(List.of(), List.of(), List.of(kernelOnDevice, elsewhere, viaUnderlay, viaUnderlayDev));
        assertTrue(d.stale(List.of(), LOCAL, NETWORK, false).isEmpty());
        assertEquals(List.of(viaUnderlayDev), d.stale(List.of(), LOCAL, NETWORK, true).routes(),
                "with direct routing, a gateway route into the Network through the underlay is the daemon's");
    }

    @Test
    void aDirectlyRoutedPeerNeedsOnlyItsRouteAndTheLocalSubnetsRouteIsNeverStale() {
        PeerEntries near = peer("198.19.4.0/24", "198.18.0.4", MAC2, true);
        Route own = new Route(Ip4Net.parse("198.19.1.0/24"), OptionalInt.of(Ip4.parse("198.18.0.1")), UNDERLAY, false,
                Route.TABLE_MAIN, Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0);
        VxlanPeerDiff d = diff(List.of(), List.of(), List.of(near.route(VTEP, UNDERLAY), own));
        assertEquals(List.of(), d.missing(near));
        assertTrue(d.stale(List.of(near), LOCAL, NETWORK, true).isEmpty());
        assertEquals(List.of("route"), diff(List.of(), List.of(), List.of()).missing(near));
    }
}
