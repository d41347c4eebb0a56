package io.flanneld.vxlan;

import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.FdbEntry;
import io.flanneld.net.FdbEntry6;
import io.flanneld.net.IpFamily;
import io.flanneld.net.Ipv4Family;
import io.flanneld.net.Ipv6Family;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkAddress6;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Neighbour;
import io.flanneld.net.Neighbour6;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.List;
import java.util.function.Predicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One address family on a VXLAN device: the only place where IPv4 and IPv6 differ for the per-peer logic. Beyond
 * linux-net's {@link IpFamily} (addresses, networks, routes), it says which half of a lease the family reads, how to
 * make its neighbour (ARP or NDP) and FDB entries and how linux-net lists, replaces and deletes them, and how the
 * device gets its own address. {@link PeerEntries}, {@link VxlanPeerDiff} and {@link PeerProgrammer} are written once
 * against it.
 *
 * @param <A> an address: an {@link io.flanneld.schema.Ip4} int or an {@link Ip6}
 * @param <N> a network: {@link Ip4Net} or {@link Ip6Net}
 * @param <R> a route: {@link Route} or {@link Route6}
 */
interface Family<A, N, R> extends IpFamily<A, N, R> {
    Family<Integer, Ip4Net, Route> IPV4 = new V4();
    Family<Ip6, Ip6Net, Route6> IPV6 = new V6();

    /** A neighbour entry (ARP or NDP) with the fields linux-net's records have. */
    record Neigh<A>(int linkIndex, A address, MacAddress mac, int state) {
    }

    /** An FDB entry (a VTEP MAC behind an underlay address) with the fields linux-net's records have. */
    record Fdb<A>(int linkIndex, MacAddress mac, A destination, int state) {
        static <A> Fdb<A> permanent(int linkIndex, MacAddress mac, A destination) {
            return new Fdb<>(linkIndex, mac, destination, Neighbour.NUD_PERMANENT);
        }
    }

    /**
     * The underlay's networks when DirectRouting is on: a peer whose public address is in one of them is on this
     * host's L2 segment and is routed without the tunnel.
     *
     * @param networks for logs
     */
    record Underlay<A>(String networks, Predicate<A> onSameSubnet) {
        @Override
        public String toString() {
            return networks;
        }
    }

    // Words: IPv4 labels are plain, IPv6 ones name the family (repair labels end in _v6, except ndp).

    /** {@code arp} or {@code ndp}: the neighbour entry's label. */
    String neighbourLabel();

    /** {@code ARP entry} or {@code NDP entry}, for logs. */
    String neighbourName();

    /** What other repair labels of this family end in: nothing, or {@code _v6}. */
    String labelSuffix();

    /** {@code ""} or {@code "IPv6 "}, before "peer" and "subnet" in logs. */
    String prefix();

    // The lease's half of this family.

    /** The lease's subnet of this family, or null. */
    N subnet(Lease lease);

    /** The lease's public address of this family, or null. */
    A publicIp(Lease lease);

    /** {@code PublicIP} or {@code PublicIPv6}. */
    String publicIpName();

    /** The lease's BackendData or BackendV6Data JSON. */
    String backendData(Lease lease);

    /** What an unreadable BackendData message puts between the subnet and the reason. */
    String backendDataSeparator();

    /** The Network of this family: the config's, or for IPv6 without an IPv6 config the local subnet. */
    N network(NetworkConfig config, Lease local);

    /** The underlay interface's networks of this family. */
    Underlay<A> underlay(Rtnetlink nl, int underlayIndex);

    // Neighbour and FDB entries, through linux-net.

    List<Neigh<A>> neighbours(Rtnetlink nl, int linkIndex);

    void replaceNeighbour(Rtnetlink nl, int linkIndex, A address, MacAddress mac);

    void deleteNeighbour(Rtnetlink nl, int linkIndex, A address);

    List<Fdb<A>> fdb(Rtnetlink nl, int linkIndex);

    void replaceFdb(Rtnetlink nl, Fdb<A> entry);

    void deleteFdb(Rtnetlink nl, Fdb<A> entry);

    // The device's own address.

    /** The device's own address for {@code subnet}: its first address, as a host address. */
    Object ownAddress(int linkIndex, N subnet);

    /** True when the device has its own address for {@code subnet}. */
    boolean hasOwnAddress(Rtnetlink nl, int linkIndex, N subnet);

    /** Gives the device its own address, removing any other this family manages, and sets it up. */
    void configureDevice(Rtnetlink nl, VxlanDevice device, N subnet);

    private static void deleteAddress(Runnable delete) {
        try {
            delete.run();
        } catch (NetlinkException e) {
            if (!e.notFound()) {
                throw e;
            }
        }
    }

    final class V4 extends Ipv4Family implements Family<Integer, Ip4Net, Route> {
        private static final Logger log = LoggerFactory.getLogger(VxlanBackend.class);

        @Override public String neighbourLabel() { return "arp"; }
        @Override public String neighbourName() { return "ARP entry"; }
        @Override public String labelSuffix() { return ""; }
        @Override public String prefix() { return ""; }

        @Override public Ip4Net subnet(Lease lease) { return lease.subnet(); }
        @Override public Integer publicIp(Lease lease) { return lease.attrs().publicIp(); }
        @Override public String publicIpName() { return "PublicIP"; }
        @Override public String backendData(Lease lease) { return lease.attrs().backendData(); }
        @Override public String backendDataSeparator() { return ": "; }
        @Override public Ip4Net network(NetworkConfig config, Lease local) { return config.network(); }

        @Override
        public Underlay<Integer> underlay(Rtnetlink nl, int underlayIndex) {
            return underlay(UnderlayNetworks.of(networks(nl, underlayIndex)));
        }

        static Underlay<Integer> underlay(UnderlayNetworks networks) {
            return new Underlay<>(networks.toString(), networks::onSameSubnet);
        }

        @Override
        public List<Neigh<Integer>> neighbours(Rtnetlink nl, int linkIndex) {
            return nl.neighbours().list(linkIndex).stream().map(V4::neigh).toList();
        }

        static Neigh<Integer> neigh(Neighbour n) {
            return new Neigh<>(n.linkIndex(), n.address(), n.mac(), n.state());
        }

        @Override
        public void replaceNeighbour(Rtnetlink nl, int linkIndex, Integer address, MacAddress mac) {
            nl.neighbours().replace(Neighbour.permanent(linkIndex, address, mac));
        }

        @Override
        public void deleteNeighbour(Rtnetlink nl, int linkIndex, Integer address) {
            nl.neighbours().delete(linkIndex, address);
        }

        @Override
        public List<Fdb<Integer>> fdb(Rtnetlink nl, int linkIndex) {
            return nl.fdb().list(linkIndex).stream().map(V4::fdb).toList();
        }

        static Fdb<Integer> fdb(FdbEntry e) {
            return new Fdb<>(e.linkIndex(), e.mac(), e.destination(), e.state());
        }

        @Override
        public void replaceFdb(Rtnetlink nl, Fdb<Integer> e) {
            nl.fdb().replace(new FdbEntry(e.linkIndex(), e.mac(), e.destination(), e.state()));
        }

        @Override
        public void deleteFdb(Rtnetlink nl, Fdb<Integer> e) {
            nl.fdb().delete(new FdbEntry(e.linkIndex(), e.mac(), e.destination(), e.state()));
        }

        @Override
        public LinkAddress ownAddress(int linkIndex, Ip4Net subnet) {
            return new LinkAddress(linkIndex, subnet.address(), 32);
        }

        @Override
        public boolean hasOwnAddress(Rtnetlink nl, int linkIndex, Ip4Net subnet) {
            return nl.addresses().list(linkIndex).stream().anyMatch(ownAddress(linkIndex, subnet)::equals);
        }

        @Override
        public void configureDevice(Rtnetlink nl, VxlanDevice device, Ip4Net subnet) {
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

    final class V6 extends Ipv6Family implements Family<Ip6, Ip6Net, Route6> {
        private static final Logger log = LoggerFactory.getLogger(VxlanBackend.class);

        @Override public String neighbourLabel() { return "ndp"; }
        @Override public String neighbourName() { return "NDP entry"; }
        @Override public String labelSuffix() { return "_v6"; }
        @Override public String prefix() { return "IPv6 "; }

        @Override public Ip6Net subnet(Lease lease) { return lease.ipv6Subnet(); }
        @Override public Ip6 publicIp(Lease lease) { return lease.attrs().publicIpv6(); }
        @Override public String publicIpName() { return "PublicIPv6"; }
        @Override public String backendData(Lease lease) { return lease.attrs().backendV6Data(); }
        @Override public String backendDataSeparator() { return " BackendV6Data: "; }

        @Override
        public Ip6Net network(NetworkConfig config, Lease local) {
            return config.ipv6() != null ? config.ipv6().network() : local.ipv6Subnet();
        }

        @Override
        public Underlay<Ip6> underlay(Rtnetlink nl, int underlayIndex) {
            List<Ip6Net> networks = networks(nl, underlayIndex);
            return new Underlay<>(networks.toString(), ip -> networks.stream().anyMatch(n -> n.contains(ip)));
        }

        @Override
        public List<Neigh<Ip6>> neighbours(Rtnetlink nl, int linkIndex) {
            return nl.neighbours().list6(linkIndex).stream()
                    .map(n -> new Neigh<>(n.linkIndex(), n.address(), n.mac(), n.state())).toList();
        }

        @Override
        public void replaceNeighbour(Rtnetlink nl, int linkIndex, Ip6 address, MacAddress mac) {
            nl.neighbours().replace(Neighbour6.permanent(linkIndex, address, mac));
        }

        @Override
        public void deleteNeighbour(Rtnetlink nl, int linkIndex, Ip6 address) {
            nl.neighbours().delete(linkIndex, address);
        }

        @Override
        public List<Fdb<Ip6>> fdb(Rtnetlink nl, int linkIndex) {
            return nl.fdb().list6(linkIndex).stream()
                    .map(e -> new Fdb<>(e.linkIndex(), e.mac(), e.destination(), e.state())).toList();
        }

        @Override
        public void replaceFdb(Rtnetlink nl, Fdb<Ip6> e) {
            nl.fdb().replace(new FdbEntry6(e.linkIndex(), e.mac(), e.destination(), e.state()));
        }

        @Override
        public void deleteFdb(Rtnetlink nl, Fdb<Ip6> e) {
            nl.fdb().delete(new FdbEntry6(e.linkIndex(), e.mac(), e.destination(), e.state()));
        }

        /** The IPv6 subnet's first address as a /128, as flannel gives it to flannel-v6.&lt;VNI&gt;. */
        @Override
        public LinkAddress6 ownAddress(int linkIndex, Ip6Net subnet) {
            return new LinkAddress6(linkIndex, subnet.address(), 128);
        }

        @Override
        public boolean hasOwnAddress(Rtnetlink nl, int linkIndex, Ip6Net subnet) {
            return nl.addresses().list6(linkIndex).stream().anyMatch(ownAddress(linkIndex, subnet)::sameAddress);
        }

        /** The device's link-local address is the kernel's and stays. */
        @Override
        public void configureDevice(Rtnetlink nl, VxlanDevice device, Ip6Net subnet) {
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
