package io.flanneld.vxlan;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * flannel's vxlan backend: the kernel encapsulates pod traffic in VXLAN on device {@code flannel.<VNI>}, and this
 * class keeps that device's per-peer ARP, FDB and route entries in line with the other hosts' leases. The kernel does
 * all packet work; nothing here is on the data path.
 *
 * <p>Lifecycle: {@link #create} registers (creates or reuses the device, so {@link #backendData()} can be published
 * in the lease), {@link #start} addresses the device and programs the peers known so far, {@link #apply} follows
 * lease changes, {@link #close} leaves the device and its entries in place so pods keep working while the daemon
 * restarts. The {@link Rtnetlink} connection stays the caller's to close. Calls are serialized.
 */
public final class VxlanBackend implements Backend {
    public static final String TYPE = "vxlan";
    public static final int DEFAULT_VNI = 1;
    /** The Linux kernel's historical VXLAN port, which flannel uses rather than IANA's 4789. */
    public static final int DEFAULT_PORT = 8472;
    /** Outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers. */
    public static final int ENCAP_OVERHEAD = 50;
    /**
     * Outer IPv6 (40) + UDP (8) + VXLAN (8) + inner Ethernet (14) headers: the MTU the kernel gives a VXLAN device
     * with an IPv6 underlay at most (flannel asks for underlay − 50 and the kernel caps it at this).
     */
    public static final int ENCAP_OVERHEAD_V6 = 70;
    /** IPv6's minimum link MTU (RFC 8200). */
    private static final int IPV6_MIN_MTU = 1280;

    private static final Logger log = LoggerFactory.getLogger(VxlanBackend.class);

    private final Rtnetlink nl;
    private final ExternalInterface iface;
    private final NetworkConfig config;
    private final int vni;
    private final int port;
    /** flannel.&lt;VNI&gt; and its peers; null on an IPv6-only node. */
    private final Half<Integer, Ip4Net, Route> v4;
    /** flannel-v6.&lt;VNI&gt; and its peers; null on a node that carries no IPv6. */
    private final Half<Ip6, Ip6Net, Route6> v6;
    private Lease local;
    private boolean closed;

    private VxlanBackend(Rtnetlink nl, ExternalInterface iface, NetworkConfig config, int vni, int port,
                         VxlanDevice.Config deviceConfig, VxlanDevice device, VxlanDevice.Config deviceConfig6,
                         VxlanDevice device6) {
        this.nl = nl;
        this.iface = iface;
        this.config = config;
        this.vni = vni;
        this.port = port;
        this.v4 = device == null ? null : new Half<>(Family.IPV4, deviceConfig, device);
        this.v6 = device6 == null ? null : new Half<>(Family.IPV6, deviceConfig6, device6);
    }

    /** The families this node carries, IPv4 first. */
    private List<Half<?, ?, ?>> halves() {
        List<Half<?, ?, ?>> halves = new ArrayList<>(2);
        if (v4 != null) {
            halves.add(v4);
        }
        if (v6 != null) {
            halves.add(v6);
        }
        return halves;
    }

    /** The IPv4 half, or the IPv6 one on an IPv6-only node: the device named in subnet.env's MTU and in metrics. */
    private Half<?, ?, ?> first() {
        return v4 != null ? v4 : v6;
    }

    /**
     * Registers on this host: creates {@code flannel.<VNI>} on {@code iface} (or keeps a matching one, with its MAC)
     * with MTU = underlay MTU − 50 when the config enables IPv4, and {@code flannel-v6.<VNI>} with local address
     * {@code iface.address6()} and MTU = underlay MTU − 70 when the interface carries IPv6 (the daemon gives it IPv6
     * addresses only when the config enables IPv6).
     *
     * @param nl a connection in the host's namespace; it stays open after {@link #close()}
     * @throws io.flanneld.net.NetlinkException if the kernel refuses (e.g. no vxlan module, port in use)
     */
    public static VxlanBackend create(Rtnetlink nl, ExternalInterface iface, NetworkConfig config) {
        Objects.requireNonNull(nl, "nl");
        Objects.requireNonNull(iface, "iface");
        Objects.requireNonNull(config, "config");
        int vni = config.backend().vniOr(DEFAULT_VNI);
        int port = config.backend().portOr(DEFAULT_PORT);
        VxlanDevice.Config want = null;
        VxlanDevice device = null;
        if (config.enableIpv4()) {
            int mtu = iface.mtu() - ENCAP_OVERHEAD;
            if (mtu < 68) {
                throw new IllegalArgumentException("underlay " + iface + " leaves VXLAN an MTU of " + mtu
                        + ", below IPv4's minimum of 68");
            }
            want = new VxlanDevice.Config(VxlanDevice.nameFor(vni), vni, port, iface.address(), iface.index(), mtu);
            device = VxlanDevice.ensure(nl.links(), want);
        }
        VxlanDevice.Config want6 = null;
        VxlanDevice device6 = null;
        if (iface.hasIpv6()) {
            int mtu6 = iface.mtu() - ENCAP_OVERHEAD_V6;
            if (mtu6 < IPV6_MIN_MTU) {
                throw new IllegalArgumentException("underlay " + iface + " leaves IPv6 VXLAN an MTU of " + mtu6
                        + ", below IPv6's minimum of " + IPV6_MIN_MTU);
            }
            want6 = VxlanDevice.Config.ipv6(VxlanDevice.nameFor6(vni), vni, port, iface.address6(), iface.index(),
                    mtu6);
            device6 = VxlanDevice.ensure(nl.links(), want6);
        }
        if (device == null && device6 == null) {
            throw new IllegalArgumentException("the config enables no IPv4 and " + iface + " carries no IPv6: "
                    + "nothing for the vxlan backend to carry");
        }
        return new VxlanBackend(nl, iface, config, vni, port, want, device, want6, device6);
    }

    @Override
    public String type() {
        return TYPE;
    }

    /**
     * Puts back what someone else changed: {@code flannel.<VNI>} (and {@code flannel-v6.<VNI>}) deleted or replaced by
     * a device that does not match (re-created with the same MAC, so the lease's VtepMAC stays true and peers need
     * not follow), its address or its up state gone, any peer's ARP/NDP, FDB or route entry missing or different; and
     * retries peers refused before. IPv6 labels end in {@code _v6} ({@code device_v6}, {@code ndp}, {@code fdb_v6},
     * {@code route_v6}, ...).
     */
    @Override
    public synchronized List<String> repair() {
        requireOpen();
        if (local == null) {
            return List.of();
        }
        List<String> repaired = new ArrayList<>();
        for (Half<?, ?, ?> half : halves()) {
            half.repair(local, repaired);
        }
        return repaired;
    }

    /** flannel's BackendData for the IPv4 device; null on an IPv6-only node. */
    @Override
    public String backendData() {
        return v4 == null ? null : new VtepData(vni, v4.device.mac()).toJson();
    }

    /** flannel's BackendV6Data, {@code {"VNI":1,"VtepMAC":"…"}} with the IPv6 device's MAC; null without it. */
    @Override
    public String backendV6Data() {
        return v6 == null ? null : new VtepData(vni, v6.device.mac()).toJson();
    }

    @Override
    public boolean carriesIpv6() {
        return true;
    }

    /** The IPv4 device's MTU (what flannel writes to subnet.env), or the IPv6 device's on an IPv6-only node. */
    @Override
    public int mtu() {
        // The smaller device's: on a dual-stack node flannel writes the IPv4 device's (underlay − 50) while the IPv6
        // device has underlay − 70, so pods' IPv6 packets of the 20 bytes between take a Packet Too Big and a resend.
        return halves().stream().mapToInt(h -> h.device.mtu()).min().orElseThrow();
    }

    /**
     * Gives each device its subnet's first address (/32 for IPv4, /128 for IPv6, removing any other), brings it up,
     * programs every peer in each family the peer's lease and this node both have, and then removes entries no peer
     * backs. Peers that fail do not stop the others.
     *
     * @throws PeerProgrammingException after everything else was done, if some peers or stale entries failed
     */
    @Override
    public synchronized void start(Lease local, List<Lease> peerLeases) {
        requireOpen();
        this.local = Objects.requireNonNull(local, "local");
        List<PeersNotProgrammedException.Failure> failures = new ArrayList<>();
        for (Half<?, ?, ?> half : halves()) {
            half.start(local, peerLeases, failures);
        }
        throwIfAny(failures);
    }

    /**
     * Applies lease changes in order, each family on its own device. A failing peer is logged and the rest still
     * applied.
     *
     * @throws PeerProgrammingException after the whole batch, if some peers failed
     */
    @Override
    public synchronized void apply(List<LeaseEvent> events) {
        requireOpen();
        if (local == null) {
            throw new IllegalStateException("apply() before start()");
        }
        List<PeersNotProgrammedException.Failure> failures = new ArrayList<>();
        for (LeaseEvent event : events) {
            for (Half<?, ?, ?> half : halves()) {
                half.apply(local, event, failures);
            }
        }
        throwIfAny(failures);
    }

    /** Leaves the devices and every entry in place: flannel keeps them so pods keep working across a restart. */
    @Override
    public synchronized void close() {
        closed = true;
    }

    /** IPv4 peers whose entries are all in place (IPv6 peers on an IPv6-only node); see {@link #peerCount6()}. */
    @Override
    public synchronized int peerCount() {
        return first().peers.programmedCount();
    }

    /** IPv6 peers whose entries are all in place; 0 without flannel-v6.&lt;VNI&gt;. */
    public synchronized int peerCount6() {
        return v6 == null ? 0 : v6.peers.programmedCount();
    }

    /** flannel.&lt;VNI&gt;, or flannel-v6.&lt;VNI&gt; on an IPv6-only node. */
    public String deviceName() {
        return first().device.name();
    }

    @Override
    public synchronized int deviceIndex() {
        return first().device.index();
    }

    /** flannel.&lt;VNI&gt; and flannel-v6.&lt;VNI&gt;, each as it is now (a repair that re-creates one changes its index). */
    @Override
    public synchronized boolean ownsDevice(int ifindex) {
        return ifindex != 0 && ((v4 != null && v4.device.index() == ifindex) || (v6 != null && v6.device.index() == ifindex));
    }

    /** The IPv4 device's MAC (the IPv6 device's on an IPv6-only node). */
    public MacAddress deviceMac() {
        return first().device.mac();
    }

    /** flannel-v6.&lt;VNI&gt;, if this node carries IPv6. */
    public synchronized Optional<VxlanDevice> device6() {
        return v6 == null ? Optional.empty() : Optional.of(v6.device);
    }

    public int vni() {
        return vni;
    }

    public int port() {
        return port;
    }

    /**
     * One family's device and peers: flannel.&lt;VNI&gt; with the leases' IPv4 halves, or flannel-v6.&lt;VNI&gt; with
     * their IPv6 halves. Every step is the same for both; {@link Family} supplies what differs.
     */
    private final class Half<A, N, R> {
        private final Family<A, N, R> family;
        private final VxlanDevice.Config deviceConfig;
        private VxlanDevice device;
        private PeerProgrammer<A, N, R> peers;
        /** The underlay's networks of this family when DirectRouting is on (read at start), else null. */
        private Family.Underlay<A> directRouting;

        Half(Family<A, N, R> family, VxlanDevice.Config deviceConfig, VxlanDevice device) {
            this.family = family;
            this.deviceConfig = deviceConfig;
            this.device = device;
            this.peers = new PeerProgrammer<>(family, nl, device.index(), device.name(), iface.index(), iface.name());
        }

        void start(Lease local, List<Lease> peerLeases, List<PeersNotProgrammedException.Failure> failures) {
            N localSubnet = family.subnet(local);
            if (localSubnet == null) {
                return;
            }
            family.configureDevice(nl, device, localSubnet);
            if (config.backend().directRouting()) {
                directRouting = family.underlay(nl, iface.index());
                log.info("DirectRouting on: {}peers in {} are routed via {} without VXLAN", family.prefix(),
                        directRouting, iface.name());
            }
            peers.forgetAll();
            for (Lease peer : peerLeases) {
                N subnet = family.subnet(peer);
                if (subnet == null) {
                    continue; // a peer without this family's half: nothing for this device
                }
                if (subnet.equals(localSubnet)) {
                    log.warn("Ignoring a peer lease for the local {}subnet {}", family.prefix(), localSubnet);
                    continue;
                }
                added(peer, failures);
            }
            int stale = peers.reconcile(localSubnet, family.network(config, local), directRouting != null, failures);
            log.info("{} started for {}: {} peer(s) programmed, {} stale entr{} removed", device.name(),
                    localSubnet, peers.programmedCount(), stale, stale == 1 ? "y" : "ies");
        }

        void apply(Lease local, LeaseEvent event, List<PeersNotProgrammedException.Failure> failures) {
            Lease lease = event.lease();
            N localSubnet = family.subnet(local);
            N subnet = family.subnet(lease);
            if (localSubnet == null || subnet == null) {
                return;
            }
            if (subnet.equals(localSubnet)) {
                log.warn("Ignoring an event for the local {}subnet {}", family.prefix(), localSubnet);
                return;
            }
            if (event instanceof LeaseEvent.Added) {
                added(lease, failures);
            } else if (event instanceof LeaseEvent.Removed) {
                removed(lease, failures);
            }
        }

        /**
         * The device (re-created with the same MAC if gone or replaced), its address and up state, and every peer's
         * entries; adds one label per thing put back.
         */
        void repair(Lease local, List<String> repaired) {
            N localSubnet = family.subnet(local);
            if (localSubnet == null) {
                return;
            }
            String suffix = family.labelSuffix();
            boolean recreated = repairDevice();
            if (recreated) {
                repaired.add("device" + suffix);
            }
            boolean addressed = family.hasOwnAddress(nl, device.index(), localSubnet);
            boolean up = nl.links().byIndex(device.index()).map(io.flanneld.net.Link::isUp).orElse(false);
            if (!addressed || !up) {
                family.configureDevice(nl, device, localSubnet);
                if (!recreated) {
                    log.info("Repaired {}: {}", device.name(), !addressed
                            ? "put back its address " + family.ownAddress(device.index(), localSubnet)
                            : "set it up again");
                    repaired.add((!addressed ? "address" : "link_up") + suffix);
                }
            }
            for (String label : peers.repair()) {
                repaired.add(label.equals(family.neighbourLabel()) ? label : label + suffix);
            }
        }

        /** Re-creates the device (same MAC) if it is gone or does not match; true if it had to. */
        private boolean repairDevice() {
            Optional<io.flanneld.net.Link> link = nl.links().byName(device.name());
            if (link.isPresent() && link.get().index() == device.index()
                    && VxlanDevice.mismatches(link.get(), deviceConfig).isEmpty()) {
                return false;
            }
            VxlanDevice again = VxlanDevice.ensure(nl.links(), deviceConfig, device.mac());
            log.info("Repaired {}: it was {}; re-created it (index {}, MAC {})", device.name(),
                    link.isEmpty() ? "deleted" : "replaced by another device", again.index(), again.mac());
            device = again;
            peers = peers.movedTo(again.index());
            return true;
        }

        private void added(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
            N subnet = family.subnet(lease);
            PeerEntries<A, N, R> want;
            try {
                want = PeerEntries.fromLease(family, lease, directRouting);
            } catch (PeerEntries.UnusableLeaseException e) {
                log.warn("Skipping {}peer {}: {}", family.prefix(), subnet, e.getMessage());
                if (peers.known(subnet).isPresent()) {
                    // The host switched backend or broke its lease: what it had is wrong now.
                    removed(lease, failures);
                }
                return;
            }
            try {
                peers.program(want);
            } catch (RuntimeException e) {
                log.error("Could not program {}peer {}: {}", family.prefix(), subnet, e.getMessage());
                failures.add(new PeersNotProgrammedException.Failure("peer " + subnet, e));
            }
        }

        private void removed(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
            N subnet = family.subnet(lease);
            Optional<PeerEntries<A, N, R>> fromLease;
            try {
                fromLease = Optional.of(PeerEntries.fromLease(family, lease, directRouting));
            } catch (PeerEntries.UnusableLeaseException e) {
                fromLease = Optional.empty();
            }
            try {
                peers.remove(subnet, fromLease);
            } catch (RuntimeException e) {
                log.error("Could not remove {}peer {}: {}", family.prefix(), subnet, e.getMessage());
                failures.add(new PeersNotProgrammedException.Failure("removing peer " + subnet, e));
            }
        }
    }

    private static void throwIfAny(List<PeersNotProgrammedException.Failure> failures) {
        if (!failures.isEmpty()) {
            throw new PeerProgrammingException(failures);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException(deviceName() + " backend is closed");
        }
    }
}
