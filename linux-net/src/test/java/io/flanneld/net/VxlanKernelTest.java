package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Programs a VXLAN device and one fake peer's ARP, FDB and route entries in a scratch namespace through the module,
 * and checks with `ip`/`bridge` that the kernel holds exactly that.
 */
class VxlanKernelTest {
    private static final int LOCAL = Ip4.parse("198.18.0.1");
    private static final int PEER_PUBLIC = Ip4.parse("198.18.0.2");
    private static final Ip4Net OWN_OVERLAY = Ip4Net.parse("198.19.1.0/32");
    private static final Ip4Net PEER_SUBNET = Ip4Net.parse("198.19.2.0/24");
    private static final int PEER_GATEWAY = Ip4.parse("198.19.2.0");
    private static final MacAddress PEER_MAC = MacAddress.parse("8e:1f:00:aa:bb:cc");

    private static LinkAddress ownOverlay(int linkIndex) {
        return new LinkAddress(linkIndex, OWN_OVERLAY.address(), OWN_OVERLAY.prefixLength());
    }

    private ScratchNamespace ns;
    private Rtnetlink rtnl;
    private int underlay;

    @BeforeEach
    void createHost() {
        ns = ScratchNamespace.create("vx");
        ns.ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1");
        ns.ip("addr", "add", "198.18.0.1/24", "dev", "veth0");
        ns.ip("link", "set", "veth0", "up");
        ns.ip("link", "set", "veth1", "up");
        rtnl = Rtnetlink.openInNamespace(ns.name);
        underlay = rtnl.links().byName("veth0").orElseThrow().index();
    }

    @AfterEach
    void removeHost() {
        try {
            if (rtnl != null) {
                rtnl.close();
            }
        } finally {
            ns.close();
        }
    }

    private Link createFlannel1() {
        Link link = rtnl.links().createVxlan(VxlanSpec.flannel("flannel.1", 1, LOCAL, underlay, 8472));
        rtnl.links().setMtu(link.index(), 1450);
        rtnl.links().setUp(link.index());
        return rtnl.links().byIndex(link.index()).orElseThrow();
    }

    @Test
    void createsVxlanDeviceAndReadsItBack() {
        Link created = createFlannel1();

        assertEquals("flannel.1", created.name());
        assertTrue(created.isKind("vxlan"));
        assertTrue(created.isUp());
        assertEquals(1450, created.mtu());
        assertTrue(created.mac().isPresent());
        VxlanAttributes vx = created.vxlan().orElseThrow();
        assertEquals(new VxlanAttributes(1, OptionalInt.of(LOCAL), underlay, 8472, false), vx);

        String shown = ns.ip("-d", "link", "show", "flannel.1");
        assertTrue(shown.contains("vxlan id 1 local 198.18.0.1 dev veth0"), shown);
        assertTrue(shown.contains("dstport 8472 nolearning"), shown);
        assertTrue(shown.contains("mtu 1450"), shown);
        assertTrue(shown.contains("link/ether " + created.mac().orElseThrow()), shown);
        assertTrue(shown.contains(",UP"), shown);

        assertEquals(Optional.of(created), rtnl.links().byName("flannel.1"));
        assertTrue(rtnl.links().list().contains(created));

        rtnl.links().setDown(created.index());
        assertFalse(rtnl.links().byIndex(created.index()).orElseThrow().isUp());

        rtnl.links().delete(created.index());
        assertEquals(Optional.empty(), rtnl.links().byName("flannel.1"));
        assertEquals(Optional.empty(), rtnl.links().byIndex(created.index()));
        assertFalse(ns.ip("link", "show").contains("flannel.1"));
    }

    @Test
    void recreatesDeviceWithGivenMacAndRefusesDuplicate() {
        MacAddress mac = MacAddress.parse("0e:12:34:56:78:9a");
        Link link = rtnl.links().createVxlan(VxlanSpec.flannel("flannel.1", 1, LOCAL, underlay, 8472).withMac(mac)
                .withMtu(1400));
        assertEquals(Optional.of(mac), link.mac());
        assertEquals(1400, link.mtu());

        NetlinkException e = assertThrows(NetlinkException.class,
                () -> rtnl.links().createVxlan(VxlanSpec.flannel("flannel.1", 1, LOCAL, underlay, 8472)));
        assertTrue(e.alreadyExists());
        assertEquals("EEXIST", e.errnoName());
        assertTrue(e.getMessage().contains("RTM_NEWLINK create flannel.1 type vxlan id 1"), e.getMessage());
        assertTrue(e.getMessage().contains("EEXIST (File exists)"), e.getMessage());
    }

    @Test
    void addsListsAndDeletesAddresses() {
        Link link = createFlannel1();
        rtnl.addresses().add(ownOverlay(link.index()));

        assertEquals(List.of(ownOverlay(link.index())), rtnl.addresses().list(link.index()));
        assertTrue(ns.ip("-4", "addr", "show", "dev", "flannel.1").contains("inet 198.19.1.0/32"));
        NetlinkException duplicate = assertThrows(NetlinkException.class,
                () -> rtnl.addresses().add(ownOverlay(link.index())));
        assertTrue(duplicate.alreadyExists(), duplicate.getMessage());
        rtnl.addresses().replace(ownOverlay(link.index()));

        List<LinkWithAddresses> all = rtnl.linksWithAddresses();
        LinkWithAddresses underlayWithAddresses = all.stream().filter(l -> l.link().index() == underlay).findFirst()
                .orElseThrow(() -> new AssertionError(all.toString()));
        assertEquals(rtnl.links().byIndex(underlay).orElseThrow(), underlayWithAddresses.link());
        assertEquals(List.of(new LinkAddress(underlay, Ip4.parse("198.18.0.1"), 24)), underlayWithAddresses.addresses());

        rtnl.addresses().delete(ownOverlay(link.index()));
        assertEquals(List.of(), rtnl.addresses().list(link.index()));
        assertFalse(ns.ip("-4", "addr", "show", "dev", "flannel.1").contains("198.19.1.0"));
    }

    @Test
    void programsPeerArpFdbAndRouteThenRemovesThem() {
        Link link = createFlannel1();
        int dev = link.index();
        rtnl.addresses().add(ownOverlay(dev));

        Neighbour arp = Neighbour.permanent(dev, PEER_GATEWAY, PEER_MAC);
        FdbEntry fdb = FdbEntry.permanent(dev, PEER_MAC, PEER_PUBLIC);
        Route route = Route.onlinkVia(PEER_SUBNET, PEER_GATEWAY, dev);
        rtnl.neighbours().replace(arp);
        rtnl.neighbours().replace(arp); // replace is idempotent
        rtnl.fdb().replace(fdb);
        rtnl.fdb().replace(fdb);
        rtnl.routes().replace(route);
        rtnl.routes().replace(route);

        assertEquals(List.of(arp), rtnl.neighbours().list(dev));
        assertEquals(List.of(fdb), rtnl.fdb().list(dev));
        assertEquals(List.of(route), rtnl.routes().list().stream().filter(r -> r.outputIndex() == dev
                && !r.destination().equals(OWN_OVERLAY)).toList());

        assertEquals("198.19.2.0 dev flannel.1 lladdr 8e:1f:00:aa:bb:cc PERMANENT",
                ns.ip("-4", "neigh", "show").trim());
        assertEquals("8e:1f:00:aa:bb:cc dst 198.18.0.2 self permanent",
                ns.bridge("fdb", "show", "dev", "flannel.1").lines()
                        .filter(l -> l.contains("8e:1f:00:aa:bb:cc")).findFirst().orElse("").trim());
        assertEquals("198.19.2.0/24 via 198.19.2.0 dev flannel.1 onlink",
                ns.ip("-4", "route", "show", "198.19.2.0/24").trim());

        rtnl.routes().delete(route);
        rtnl.fdb().delete(fdb);
        rtnl.neighbours().delete(dev, PEER_GATEWAY);

        assertEquals(List.of(), rtnl.neighbours().list(dev));
        assertEquals(List.of(), rtnl.fdb().list(dev));
        assertTrue(rtnl.routes().list().stream().noneMatch(r -> r.destination().equals(PEER_SUBNET)));
        assertEquals("", ns.ip("-4", "neigh", "show", "dev", "flannel.1").trim());
        assertFalse(ns.bridge("fdb", "show", "dev", "flannel.1").contains("8e:1f:00:aa:bb:cc"));
        assertEquals("", ns.ip("-4", "route", "show", "198.19.2.0/24").trim());
    }

    @Test
    void fdbAddRefusesDuplicateAndAppendAddsDestinations() {
        int dev = createFlannel1().index();
        MacAddress flood = new MacAddress(0);
        FdbEntry first = FdbEntry.permanent(dev, flood, PEER_PUBLIC);
        FdbEntry second = FdbEntry.permanent(dev, flood, Ip4.parse("198.18.0.3"));
        rtnl.fdb().add(first);
        NetlinkException e = assertThrows(NetlinkException.class, () -> rtnl.fdb().add(first));
        assertTrue(e.alreadyExists(), e.getMessage());
        rtnl.fdb().append(second);
        assertEquals(List.of(first, second), rtnl.fdb().list(dev).stream()
                .sorted((a, b) -> Integer.compare(a.destination(), b.destination())).toList());
        rtnl.fdb().delete(first);
        assertEquals(List.of(second), rtnl.fdb().list(dev));
    }

    @Test
    void directRoutingRouteViaGatewayWithoutDevice() {
        Route direct = Route.via(PEER_SUBNET, PEER_PUBLIC);
        rtnl.routes().add(direct);
        Route listed = rtnl.routes().list().stream().filter(r -> r.destination().equals(PEER_SUBNET))
                .findFirst().orElseThrow();
        // The kernel resolves the device from the gateway; otherwise the route reads back as requested.
        assertEquals(new Route(PEER_SUBNET, OptionalInt.of(PEER_PUBLIC), underlay, false, Route.TABLE_MAIN,
                Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0), listed);
        assertEquals("198.19.2.0/24 via 198.18.0.2 dev veth0", ns.ip("-4", "route", "show", "198.19.2.0/24").trim());
        NetlinkException duplicate = assertThrows(NetlinkException.class, () -> rtnl.routes().add(direct));
        assertTrue(duplicate.alreadyExists());
        rtnl.routes().delete(direct);
        assertEquals("", ns.ip("-4", "route", "show", "198.19.2.0/24").trim());
        NetlinkException gone = assertThrows(NetlinkException.class, () -> rtnl.routes().delete(direct));
        assertTrue(gone.notFound(), gone.getMessage());
    }

    @Test
    void dumpsSpanningManyDatagramsAreCollectedWhole() {
        int dev = createFlannel1().index();
        int peers = 1000; // ~1000 route, neighbour and FDB messages: several datagrams per dump
        for (int i = 0; i < peers; i++) {
            // 198.19.2.0 .. 198.19.6.199, as /32 routes: there are not 1000 /24s in the 198.19.0.0/16 test range
            int gateway = 0xC6130000 + ((2 + i / 200) << 8) + i % 200;
            MacAddress mac = new MacAddress(0x0e0000000000L | i);
            rtnl.routes().add(Route.onlinkVia(new Ip4Net(gateway, 32), gateway, dev));
            rtnl.neighbours().replace(Neighbour.permanent(dev, gateway, mac));
            rtnl.fdb().replace(FdbEntry.permanent(dev, mac, 0xC6120100 + i));
        }
        assertEquals(peers, rtnl.routes().list().stream().filter(r -> r.outputIndex() == dev && r.onlink()).count());
        assertEquals(peers, rtnl.neighbours().list(dev).size());
        assertEquals(peers, rtnl.fdb().list(dev).size());
    }

    @Test
    void oneConnectionIsSafeToShareBetweenThreads() throws Exception {
        int dev = createFlannel1().index();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 50; i++) {
                        int ip = 0xC6130000 + ((2 + thread) << 8) + i;
                        rtnl.neighbours().replace(Neighbour.permanent(dev, ip, new MacAddress(thread << 8 | i)));
                        assertFalse(rtnl.neighbours().list(dev).isEmpty());
                        assertTrue(rtnl.links().byIndex(dev).isPresent());
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get(20, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS));
        }
        assertEquals(200, rtnl.neighbours().list(dev).size());
    }

    @Test
    void findsDefaultRouteInterface() {
        assertEquals(Optional.empty(), rtnl.defaultRouteLink());
        rtnl.routes().add(Route.via(Ip4Net.ALL, Ip4.parse("198.18.0.254")));
        assertEquals("veth0", rtnl.defaultRouteLink().orElseThrow().name());
        assertEquals(Ip4.parse("198.18.0.254"), rtnl.routes().defaultRoute().orElseThrow().gateway().orElseThrow());
    }

    @Test
    void routeForNonexistentDeviceRaisesNetlinkExceptionNamingOperationAndErrno() {
        Route bogus = Route.onlinkVia(PEER_SUBNET, PEER_GATEWAY, 9999);
        long requests = rtnl.requestCount();
        long errors = rtnl.errorCount();
        NetlinkException e = assertThrows(NetlinkException.class, () -> rtnl.routes().add(bogus));
        assertTrue(rtnl.requestCount() > requests, "the failed request is counted");
        assertEquals(errors + 1, rtnl.errorCount(), "and counted as an error");
        rtnl.links().byName("no-such-link");
        assertEquals(errors + 1, rtnl.errorCount(), "a lookup that finds nothing is not an error");
        assertEquals("ENODEV", e.errnoName());
        assertEquals(Errno.ENODEV, e.errno());
        assertTrue(e.operation().startsWith("RTM_NEWROUTE add 198.19.2.0/24 via 198.19.2.0 dev #9999 onlink"),
                e.operation());
        assertTrue(e.getMessage().contains("ENODEV (No such device)"), e.getMessage());
    }

    @Test
    void neighbourOnMissingDeviceNamesOperation() {
        NetlinkException e = assertThrows(NetlinkException.class,
                () -> rtnl.neighbours().replace(Neighbour.permanent(9999, PEER_GATEWAY, PEER_MAC)));
        assertTrue(e.operation().startsWith("RTM_NEWNEIGH replace 198.19.2.0 lladdr 8e:1f:00:aa:bb:cc dev #9999"),
                e.operation());
        assertTrue(e.notFound(), e.getMessage());
    }

    @Test
    void errorNamesDeviceByName() {
        int dev = createFlannel1().index();
        NetlinkException e = assertThrows(NetlinkException.class,
                () -> rtnl.neighbours().delete(dev, PEER_GATEWAY));
        assertTrue(e.operation().equals("RTM_DELNEIGH 198.19.2.0 dev flannel.1 (#" + dev + ")"), e.operation());
        assertTrue(e.notFound(), e.getMessage());
    }
}
