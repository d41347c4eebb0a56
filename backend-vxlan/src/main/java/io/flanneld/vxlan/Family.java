package io.flanneld.vxlan;

import io.flanneld.net.FdbEntry;
import io.flanneld.net.FdbEntry6;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkAddress6;
import io.flanneld.net.Neighbour;
import io.flanneld.net.Neighbour6;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One address family on a VXLAN device: the only place where IPv4 and IPv6 differ for the per-peer logic. It says
 * which half of a lease the family reads, how its addresses and networks behave, how to make its neighbour (ARP or
 * NDP), FDB and route values, and how linux-net lists, replaces and deletes them. {@link PeerEntries},
 * {@link VxlanPeerDiff} and {@link PeerProgrammer} are written once against it.
 *
 * @param <A> an address: an {@link Ip4} int or an {@link Ip6}
 * @param <N> a network: {@link Ip4Net} or {@link Ip6Net}
 * @param <R> a route: {@link Route} or {@link Route6}
 */
abstract class Family<A, N, R> {
    private static final Logger log = LoggerFactory.getLogger(VxlanBackend.class);

    static final Family<Integer, Ip4Net, Route> IPV4 = new V4();
    static final Family<Ip6, Ip6Net, Route6> IPV6 = new V6();

    /** A neighbour entry (ARP or NDP) with the fields linux-net's records have. */
    record Neigh<A>(int linkIndex, A address, io.flanneld.net.MacAddress mac, int state) {
    }

    /** An FDB entry (a VTEP MAC behind an underlay address) with the fields linux-net's records have. */
    record Fdb<A>(int linkIndex, io.flanneld.net.MacAddress mac, A destination, int state) {
        static <A> Fdb<A> permanent(int linkIndex, io.flanneld.net.MacAddress mac, A destination) {
            return new Fdb<>(linkIndex, mac, destination, Neighbour.NUD_PERMANENT);
        }
    }

    /**
     * The underlay's networks when DirectRouting is on: a peer whose public address is in one of them is on this
     * host's L2 segment and is routed without the tunnel.
     *
     * @param networks for logs
     */
    record Underlay<A>(String networks, java.util.function.Predicate<A> onSameSubnet) {
        @Override
        public String toString() {
            return networks;
        }
    }

    // Words: IPv4 labels are plain, IPv6 ones name the family (repair labels end in _v6, except ndp).

    /** {@code arp} or {@code ndp}: the neighbour entry's label. */
    abstract String neighbourLabel();

    /** {@code ARP entry} or {@code NDP entry}, for logs. */
    abstract String neighbourName();

    /** What other repair labels of this family end in: nothing, or {@code _v6}. */
    abstract String labelSuffix();

    /** {@code ""} or {@code "IPv6 "}, before "peer" and "subnet" in logs. */
    abstract String prefix();

    // The lease's half of this family.

    /** The lease's subnet of this family, or null. */
    abstract N subnet(Lease lease);

    /** The lease's public address of this family, or null. */
    abstract A publicIp(Lease lease);

    /** The Network of this family: the config's, or for IPv6 without an IPv6 config the local subnet. */
    abstract N network(io.flanneld.schema.NetworkConfig config, Lease local);

    /** {@code PublicIP} or {@code PublicIPv6}. */
    abstract String publicIpName();

    /** The lease's BackendData or BackendV6Data JSON. */
    abstract String backendData(Lease lease);

    /** What an unreadable BackendData message puts between the subnet and the reason. */
    abstract String backendDataSeparator();

    // Addresses and networks.

    abstract A firstAddress(N network);

    abstract boolean contains(N outer, N inner);

    abstract String format(A address);

    // Routes.

    /** "dst via gw dev device onlink" in the main table: the tunnel route. */
    abstract R onlinkVia(N destination, A gateway, int outputIndex);

    /** "dst via gw dev device" in the main table: the direct route. */
    abstract R viaDevice(N destination, A gateway, int outputIndex);

    abstract N destination(R route);

    abstract Optional<A> gateway(R route);

    abstract int outputIndex(R route);

    abstract int protocol(R route);

    abstract String describe(R route);

    // The kernel, through linux-net.

    abstract List<Neigh<A>> neighbours(Rtnetlink nl, int linkIndex);

    abstract void replaceNeighbour(Rtnetlink nl, int linkIndex, A address, io.flanneld.net.MacAddress mac);

    abstract void deleteNeighbour(Rtnetlink nl, int linkIndex, A address);

    abstract List<Fdb<A>> fdb(Rtnetlink nl, int linkIndex);

    abstract void replaceFdb(Rtnetlink nl, Fdb<A> entry);

    abstract void deleteFdb(Rtnetlink nl, Fdb<A> entry);

    /** The main table's unicast routes of this family, of every device. */
    abstract List<R> routes(Rtnetlink nl);

    abstract void replaceRoute(Rtnetlink nl, R route);

    abstract void deleteRoute(Rtnetlink nl, R route);

    /** The underlay interface's networks of this family (IPv6: its global ones). */
    abstract Underlay<A> underlay(Rtnetlink nl, int underlayIndex);

    /** The device's own address for {@code subnet}: its first address, as a host address. */
    abstract Object ownAddress(int linkIndex, N subnet);

    /** True when the device has its own address for {@code subnet}. */
    abstract boolean hasOwnAddress(Rtnetlink nl, int linkIndex, N subnet);

    /** Gives the device its own address, removing any other this family manages, and sets it up. */
    abstract void configureDevice(Rtnetlink nl, VxlanDevice device, N subnet);

    private static void deleteAddress(Runnable delete) {
        try {
            delete.run();
        } catch (NetlinkException e) {
            if (!e.notFound()) {
                throw e;
            }
        }
    }

    static final class V4 extends Family<Integer, Ip4Net, Route> {
        @Override String neighbourLabel() { return "arp"; }
        @Override String neighbourName() { return "ARP entry"; }
        @Override String labelSuffix() { return ""; }
        @Override String prefix() { return ""; }

        @Override Ip4Net subnet(Lease lease) { return lease.subnet(); }
        @Override Integer publicIp(Lease lease) { return lease.attrs().publicIp(); }
        @Override String publicIpName() { return "PublicIP"; }

        @Override
        Ip4Net network(io.flanneld.schema.NetworkConfig config, Lease local) {
            return config.network();
        }

        @Override String backendData(Lease lease) { return lease.attrs().backendData(); }
        @Override String backendDataSeparator() { return ": "; }

        @Override Integer firstAddress(Ip4Net network) { return network.address(); }
        @Override boolean contains(Ip4Net outer, Ip4Net inner) { return outer.contains(inner); }
        @Override String format(Integer address) { return Ip4.format(address); }

        @Override
        Route onlinkVia(Ip4Net destination, Integer gateway, int outputIndex) {
            return Route.onlinkVia(destination, gateway, outputIndex);
        }

        @Override
        Route viaDevice(Ip4Net destination, Integer gateway, int outputIndex) {
            return new Route(destination, OptionalInt.of(gateway), outputIndex, false, Route.TABLE_MAIN,
                    Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0);
        }

        @Override Ip4Net destination(Route route) { return route.destination(); }

        @Override
        Optional<Integer> gateway(Route route) {
            return route.gateway().isPresent() ? Optional.of(route.gateway().getAsInt()) : Optional.empty();
        }

        @Override int outputIndex(Route route) { return route.outputIndex(); }
        @Override int protocol(Route route) { return route.protocol(); }
        @Override String describe(Route route) { return route.describe(); }

        @Override
        List<Neigh<Integer>> neighbours(Rtnetlink nl, int linkIndex) {
            return nl.neighbours().list(linkIndex).stream().map(V4::neigh).toList();
        }

        static Neigh<Integer> neigh(Neighbour n) {
            return new Neigh<>(n.linkIndex(), n.address(), n.mac(), n.state());
        }

        @Override
        void replaceNeighbour(Rtnetlink nl, int linkIndex, Integer address, io.flanneld.net.MacAddress mac) {
            nl.neighbours().replace(Neighbour.permanent(linkIndex, address, mac));
        }

        @Override
        void deleteNeighbour(Rtnetlink nl, int linkIndex, Integer address) {
            nl.neighbours().delete(linkIndex, address);
        }

        @Override
        List<Fdb<Integer>> fdb(Rtnetlink nl, int linkIndex) {
            return nl.fdb().list(linkIndex).stream().map(V4::fdb).toList();
        }

        static Fdb<Integer> fdb(FdbEntry e) {
            return new Fdb<>(e.linkIndex(), e.mac(), e.destination(), e.state());
        }

        @Override
        void replaceFdb(Rtnetlink nl, Fdb<Integer> e) {
            nl.fdb().replace(new FdbEntry(e.linkIndex(), e.mac(), e.destination(), e.state()));
        }

        @Override
        void deleteFdb(Rtnetlink nl, Fdb<Integer> e) {
            nl.fdb().delete(new FdbEntry(e.linkIndex(), e.mac(), e.destination(), e.state()));
        }

        @Override List<Route> routes(Rtnetlink nl) { return nl.routes().list(); }
        @Override void replaceRoute(Rtnetlink nl, Route route) { nl.routes().replace(route); }
        @Override void deleteRoute(Rtnetlink nl, Route route) { nl.routes().delete(route); }

        @Override
        Underlay<Integer> underlay(Rtnetlink nl, int underlayIndex) {
            return underlay(io.flanneld.backend.UnderlayNetworks.of(nl.addresses().list(underlayIndex).stream()
                    .map(LinkAddress::network).toList()));
        }

        static Underlay<Integer> underlay(io.flanneld.backend.UnderlayNetworks networks) {
            return new Underlay<>(networks.toString(), networks::onSameSubnet);
        }

        @Override
        LinkAddress ownAddress(int linkIndex, Ip4Net subnet) {
            return new LinkAddress(linkIndex, subnet.address(), 32);
        }

        @Override
        boolean hasOwnAddress(Rtnetlink nl, int linkIndex, Ip4Net subnet) {
            return nl.addresses().list(linkIndex).stream().anyMatch(ownAddress(linkIndex, subnet)::equals);
        }

        @Override
        void configureDevice(Rtnetlink nl, VxlanDevice device, Ip4Net subnet) {
            LinkAddress own = ownAddress(device.index(), subnet);
            for (LinkAddress a : nl.addresses().list(device.index())) {
                if (!a.equals(own)) {
                    // Left over from a previous lease: keeping it would answer for a subnet now someone else's.
                    log.info("Removing old address {} from {}", a, device.name());
                    deleteAddress(() -> nl.addresses().delete(a));
                }
            }
            nl.addresses().replace(own);
            nl.links().setUp(device.index());
        }
    }

    private static final class V6 extends Family<Ip6, Ip6Net, Route6> {
        @Override String neighbourLabel() { return "ndp"; }
        @Override String neighbourName() { return "NDP entry"; }
        @Override String labelSuffix() { return "_v6"; }
        @Override String prefix() { return "IPv6 "; }

        @Override Ip6Net subnet(Lease lease) { return lease.ipv6Subnet(); }
        @Override Ip6 publicIp(Lease lease) { return lease.attrs().publicIpv6(); }
        @Override String publicIpName() { return "PublicIPv6"; }

        @Override
        Ip6Net network(io.flanneld.schema.NetworkConfig config, Lease local) {
            return config.ipv6() != null ? config.ipv6().network() : local.ipv6Subnet();
        }

        @Override String backendData(Lease lease) { return lease.attrs().backendV6Data(); }
        @Override String backendDataSeparator() { return " BackendV6Data: "; }

        @Override Ip6 firstAddress(Ip6Net network) { return network.address(); }
        @Override boolean contains(Ip6Net outer, Ip6Net inner) { return outer.contains(inner); }
        @Override String format(Ip6 address) { return String.valueOf(address); }

        @Override
        Route6 onlinkVia(Ip6Net destination, Ip6 gateway, int outputIndex) {
            return Route6.onlinkVia(destination, gateway, outputIndex);
        }

        @Override
        Route6 viaDevice(Ip6Net destination, Ip6 gateway, int outputIndex) {
            return Route6.viaDevice(destination, gateway, outputIndex);
        }

        @Override Ip6Net destination(Route6 route) { return route.destination(); }
        @Override Optional<Ip6> gateway(Route6 route) { return route.gateway(); }
        @Override int outputIndex(Route6 route) { return route.outputIndex(); }
        @Override int protocol(Route6 route) { return route.protocol(); }
        @Override String describe(Route6 route) { return route.describe(); }

        @Override
        List<Neigh<Ip6>> neighbours(Rtnetlink nl, int linkIndex) {
            return nl.neighbours().list6(linkIndex).stream()
                    .map(n -> new Neigh<>(n.linkIndex(), n.address(), n.mac(), n.state())).toList();
        }

        @Override
        void replaceNeighbour(Rtnetlink nl, int linkIndex, Ip6 address, io.flanneld.net.MacAddress mac) {
            nl.neighbours().replace(Neighbour6.permanent(linkIndex, address, mac));
        }

        @Override
        void deleteNeighbour(Rtnetlink nl, int linkIndex, Ip6 address) {
            nl.neighbours().delete(linkIndex, address);
        }

        @Override
        List<Fdb<Ip6>> fdb(Rtnetlink nl, int linkIndex) {
            return nl.fdb().list6(linkIndex).stream()
                    .map(e -> new Fdb<>(e.linkIndex(), e.mac(), e.destination(), e.state())).toList();
        }

        @Override
        void replaceFdb(Rtnetlink nl, Fdb<Ip6> e) {
            nl.fdb().replace(new FdbEntry6(e.linkIndex(), e.mac(), e.destination(), e.state()));
        }

        @Override
        void deleteFdb(Rtnetlink nl, Fdb<Ip6> e) {
            nl.fdb().delete(new FdbEntry6(e.linkIndex(), e.mac(), e.destination(), e.state()));
        }

        @Override List<Route6> routes(Rtnetlink nl) { return nl.routes().list6(); }
        @Override void replaceRoute(Rtnetlink nl, Route6 route) { nl.routes().replace(route); }
        @Override void deleteRoute(Rtnetlink nl, Route6 route) { nl.routes().delete(route); }

        @Override
        Underlay<Ip6> underlay(Rtnetlink nl, int underlayIndex) {
            List<Ip6Net> networks = nl.addresses().list6(underlayIndex).stream()
                    .filter(a -> a.scope() == LinkAddress6.SCOPE_UNIVERSE).map(LinkAddress6::network).distinct().toList();
            return new Underlay<>(networks.toString(), ip -> networks.stream().anyMatch(n -> n.contains(ip)));
        }

        /** The IPv6 subnet's first address as a /128, as flannel gives it to flannel-v6.&lt;VNI&gt;. */
        @Override
        LinkAddress6 ownAddress(int linkIndex, Ip6Net subnet) {
            return new LinkAddress6(linkIndex, subnet.address(), 128);
        }

        @Override
        boolean hasOwnAddress(Rtnetlink nl, int linkIndex, Ip6Net subnet) {
            return nl.addresses().list6(linkIndex).stream().anyMatch(ownAddress(linkIndex, subnet)::sameAddress);
        }

        /** The device's link-local address is the kernel's and stays. */
        @Override
        void configureDevice(Rtnetlink nl, VxlanDevice device, Ip6Net subnet) {
            LinkAddress6 own = ownAddress(device.index(), subnet);
            for (LinkAddress6 a : nl.addresses().list6(device.index())) {
                if (!a.sameAddress(own) && !a.isLinkLocal()) {
                    log.info("Removing old address {} from {}", a, device.name());
                    deleteAddress(() -> nl.addresses().delete(a));
                }
            }
            nl.addresses().replace(own);
            nl.links().setUp(device.index());
        }
    }
}
