package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * IPv6 through the module in a scratch namespace: addresses with their flags, a VXLAN device with an IPv6 underlay,
 * one fake peer's NDP, FDB and onlink route entries on it, a gateway route on the underlay and route lookups; each
 * checked with `ip -6`/`bridge`. Addresses from 2001:2::/48 only.
 */
class Ipv6KernelTest {
    private static final Ip6 LOCAL = Ip6.parse("2001:2::1");
    private static final Ip6 PEER_PUBLIC = Ip6.parse("2001:2::2");
    private static final Ip6Net PEER_SUBNET = Ip6Net.parse("2001:2:19:2::/64");
    private static final Ip6 PEER_GATEWAY = Ip6.parse("2001:2:19:2::");
    private static final MacAddress PEER_MAC = MacAddress.parse("8e:1f:00:aa:bb:cc");

    private ScratchNamespace ns;
    private Rtnetlink rtnl;
    private int underlay;

    @BeforeEach
    void createHost() {
        ns = ScratchNamespace.create("v6");
        ns.ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1");
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

    private LinkAddress6 underlayAddress() {
        return new LinkAddress6(underlay, LOCAL, 64, LinkAddress6.SCOPE_UNIVERSE, LinkAddress6.IFA_F_NODAD);
    }

    @Test
    void addsListsAndDeletesIpv6AddressesWithTheirFlags() {
        rtnl.addresses().add(underlayAddress());
        LinkAddress6 listed = rtnl.addresses().list6(underlay).stream().filter(a -> a.address().equals(LOCAL))
                .findFirst().orElseThrow();
        // the kernel adds IFA_F_PERMANENT to an address added by hand; NODAD means it is usable at once
        assertEquals(new LinkAddress6(underlay, LOCAL, 64, LinkAddress6.SCOPE_UNIVERSE,
                LinkAddress6.IFA_F_NODAD | LinkAddress6.IFA_F_PERMANENT), listed);
        assertTrue(ns.ip("-6", "addr", "show", "dev", "veth0").contains("inet6 2001:2::1/64 scope global nodad"));
        NetlinkException duplicate = assertThrows(NetlinkException.class, () -> rtnl.addresses().add(underlayAddress()));
        assertTrue(duplicate.alreadyExists(), duplicate.getMessage());
        rtnl.addresses().replace(underlayAddress());

        // link-local addresses are listed with their scope; IPv4 lists stay IPv4
        assertTrue(rtnl.addresses().list6(underlay).stream().anyMatch(LinkAddress6::isLinkLocal));
        assertEquals(List.of(), rtnl.addresses().list(underlay));

        // an address on a link without carrier stays tentative: duplicate address detection cannot run
        ns.ip("link", "add", "dummyA", "type", "veth", "peer", "name", "dummyB");
        ns.ip("link", "set", "dummyA", "up");
        int lonely = rtnl.links().byName("dummyA").orElseThrow().index();
        LinkAddress6 tentative = new LinkAddress6(lonely, Ip6.parse("2001:2::9"), 64);
        rtnl.addresses().add(tentative);
        LinkAddress6 read = rtnl.addresses().list6(lonely).stream().filter(tentative::sameAddress).findFirst()
                .orElseThrow();
        assertTrue(read.isTentative(), read.toString());
        assertTrue(ns.ip("-6", "addr", "show", "dev", "dummyA").contains("inet6 2001:2::9/64 scope global tentative"));

        LinkWithAddresses withAddresses = rtnl.linksWithAddresses().stream()
                .filter(l -> l.link().index() == underlay).findFirst().orElseThrow();
        assertTrue(withAddresses.ipv6Addresses().contains(listed), withAddresses.toString());

        rtnl.addresses().delete(underlayAddress());
        assertTrue(rtnl.addresses().list6(underlay).stream().noneMatch(a -> a.address().equals(LOCAL)));
        assertFalse(ns.ip("-6", "addr", "show", "dev", "veth0").contains("2001:2::1/64"));
    }

    @Test
    void vxlanDeviceWithIpv6UnderlayAndOnePeersEntries() {
        rtnl.addresses().add(underlayAddress());
        Link link = rtnl.links().createVxlan(VxlanSpec.flannel6("flannel-v6.1", 1, LOCAL, underlay, 8472));
        assertEquals(new VxlanAttributes(1, OptionalInt.empty(), underlay, 8472, false, Optional.of(LOCAL)),
                link.vxlan().orElseThrow());
        String shown = ns.ip("-d", "link", "show", "flannel-v6.1");
        assertTrue(shown.contains("vxlan id 1 local 2001:2::1 dev veth0"), shown);
        assertTrue(shown.contains("dstport 8472 nolearning"), shown);
        int dev = link.index();
        rtnl.links().setUp(dev);
        LinkAddress6 own = new LinkAddress6(dev, Ip6.parse("2001:2:19:1::"), 128);
        rtnl.addresses().replace(own);
        assertTrue(rtnl.addresses().list6(dev).stream().anyMatch(own::sameAddress));

        Neighbour6 ndp = Neighbour6.permanent(dev, PEER_GATEWAY, PEER_MAC);
        FdbEntry6 fdb = FdbEntry6.permanent(dev, PEER_MAC, PEER_PUBLIC);
        Route6 route = Route6.onlinkVia(PEER_SUBNET, PEER_GATEWAY, dev);
        rtnl.neighbours().replace(ndp);
        rtnl.neighbours().replace(ndp);
        rtnl.fdb().replace(fdb);
        rtnl.fdb().replace(fdb);
        rtnl.routes().replace(route);
        rtnl.routes().replace(route);

        assertEquals(List.of(ndp), rtnl.neighbours().list6(dev));
        assertEquals(List.of(), rtnl.neighbours().list(dev));
        assertEquals(List.of(fdb), rtnl.fdb().list6(dev));
        assertEquals(List.of(), rtnl.fdb().list(dev));
        // read back with the kernel's default metric 1024
        assertEquals(List.of(route.withMetric(Route6.DEFAULT_METRIC)), rtnl.routes().list6().stream()
                .filter(r -> r.destination().equals(PEER_SUBNET)).toList());

        assertEquals("2001:2:19:2:: dev flannel-v6.1 lladdr 8e:1f:00:aa:bb:cc PERMANENT",
                ns.ip("-6", "neigh", "show", "dev", "flannel-v6.1").lines()
                        .filter(l -> l.contains("2001:2:19:2::")).findFirst().orElse("").trim()
                        .replace("2001:2:19:2:: lladdr", "2001:2:19:2:: dev flannel-v6.1 lladdr"));
        assertEquals("8e:1f:00:aa:bb:cc dst 2001:2::2 self permanent",
                ns.bridge("fdb", "show", "dev", "flannel-v6.1").lines()
                        .filter(l -> l.contains("8e:1f:00:aa:bb:cc")).findFirst().orElse("").trim());
        assertEquals("2001:2:19:2::/64 via 2001:2:19:2:: dev flannel-v6.1 metric 1024 onlink pref medium",
                ns.ip("-6", "route", "show", "2001:2:19:2::/64").trim());

        rtnl.routes().delete(route);
        rtnl.fdb().delete(fdb);
        rtnl.neighbours().delete(dev, PEER_GATEWAY);
        assertEquals(List.of(), rtnl.neighbours().list6(dev));
        assertEquals(List.of(), rtnl.fdb().list6(dev));
        assertEquals("", ns.ip("-6", "route", "show", "2001:2:19:2::/64").trim());
        assertFalse(ns.bridge("fdb", "show", "dev", "flannel-v6.1").contains("8e:1f:00:aa:bb:cc"));
        NetlinkException gone = assertThrows(NetlinkException.class, () -> rtnl.routes().delete(route));
        assertTrue(gone.notFound(), gone.getMessage());
    }

    @Test
    void gatewayRouteOnTheUnderlayAndLookups() {
        rtnl.addresses().add(underlayAddress());
        Route6 hostGw = Route6.viaDevice(PEER_SUBNET, PEER_PUBLIC, underlay);
        rtnl.routes().add(hostGw);
        assertEquals(List.of(hostGw.withMetric(Route6.DEFAULT_METRIC)), rtnl.routes().list6().stream()
                .filter(r -> r.destination().equals(PEER_SUBNET)).toList());
        assertEquals("2001:2:19:2::/64 via 2001:2::2 dev veth0 metric 1024 pref medium",
                ns.ip("-6", "route", "show", "2001:2:19:2::/64").trim());
        NetlinkException duplicate = assertThrows(NetlinkException.class, () -> rtnl.routes().add(hostGw));
        assertTrue(duplicate.alreadyExists(), duplicate.getMessage());

        RouteLookup6 viaPeer = rtnl.routes().lookup6(Ip6.parse("2001:2:19:2::5")).orElseThrow();
        assertEquals(underlay, viaPeer.outputIndex());
        assertEquals(Optional.of(PEER_PUBLIC), viaPeer.gateway());
        RouteLookup6 connected = rtnl.routes().lookup6(PEER_PUBLIC).orElseThrow();
        assertEquals(Optional.empty(), connected.gateway());
        assertEquals(Optional.of(LOCAL), connected.source());
        assertEquals(Optional.empty(), rtnl.routes().lookup6(Ip6.parse("2001:2:ff::1")));   // no route: ENETUNREACH
        assertEquals(Optional.empty(), rtnl.routes().defaultRoute6());

        Route6 defaultRoute = Route6.viaDevice(Ip6Net.parse("::/0"), PEER_PUBLIC, underlay);
        rtnl.routes().replace(defaultRoute);
        assertEquals(Optional.of(defaultRoute.withMetric(Route6.DEFAULT_METRIC)), rtnl.routes().defaultRoute6());

        rtnl.routes().delete(hostGw);
        assertEquals("", ns.ip("-6", "route", "show", "2001:2:19:2::/64").trim());
        // the IPv4 view does not see IPv6 routes
        assertTrue(rtnl.routes().list().isEmpty(), rtnl.routes().list().toString());
    }
}
