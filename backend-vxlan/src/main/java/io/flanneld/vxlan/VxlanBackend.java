package io.flanneld.vxlan;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkAddress6;
import io.flanneld.net.MacAddress;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4Net;
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
    /** flannel.&lt;VNI&gt;, its wanted settings and its peers; all null on an IPv6-only node. */
    private final VxlanDevice.Config deviceConfig;
    private VxlanDevice device;
    private PeerProgrammer peers;
    /** flannel-v6.&lt;VNI&gt;, its wanted settings and its peers; all null on a node that carries no IPv6. */
    private final VxlanDevice.Config deviceConfig6;
    private VxlanDevice device6;
    private PeerProgrammer6 peers6;
    /** The underlay's networks when DirectRouting is on (read at start), else null. */
    private UnderlayNetworks directRouting;
    /** The underlay's global IPv6 networks when DirectRouting is on (read at start), else null. */
    private List<Ip6Net> directRouting6;
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
        this.deviceConfig = deviceConfig;
        this.device = device;
        this.peers = device == null ? null
                : new PeerProgrammer(nl, device.index(), device.name(), iface.index(), iface.name());
        this.deviceConfig6 = deviceConfig6;
        this.device6 = device6;
        this.peers6 = device6 == null ? null
                : new PeerProgrammer6(nl, device6.index(), device6.name(), iface.index(), iface.name());
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
        if (device != null && local.subnet() != null) {
            if (repairDevice(false)) {
                repaired.add("device");
            }
            LinkAddress own = new LinkAddress(device.index(), local.subnet().address(), 32);
            boolean addressed = nl.addresses().list(device.index()).stream().anyMatch(own::equals);
            boolean up = nl.links().byIndex(device.index()).map(io.flanneld.net.Link::isUp).orElse(false);
            if (!addressed || !up) {
                configureDevice(local.subnet());
                if (!repaired.contains("device")) {
                    log.info("Repaired {}: {}", device.name(), !addressed ? "put back its address " + own
                            : "set it up again");
                    repaired.add(!addressed ? "address" : "link_up");
                }
            }
            repaired.addAll(peers.repair());
        }
        if (device6 != null && local.ipv6Subnet() != null) {
            boolean recreated = repairDevice(true);
            if (recreated) {
                repaired.add("device_v6");
            }
            LinkAddress6 own = ownAddress6(local.ipv6Subnet());
            boolean addressed = nl.addresses().list6(device6.index()).stream().anyMatch(own::sameAddress);
            boolean up = nl.links().byIndex(device6.index()).map(io.flanneld.net.Link::isUp).orElse(false);
            if (!addressed || !up) {
                configureDevice6(local.ipv6Subnet());
                if (!recreated) {
                    log.info("Repaired {}: {}", device6.name(), !addressed ? "put back its address " + own
                            : "set it up again");
                    repaired.add(!addressed ? "address_v6" : "link_up_v6");
                }
            }
            for (String label : peers6.repair()) {
                repaired.add(label.equals("ndp") ? label : label + "_v6");
            }
        }
        return repaired;
    }

    /** Re-creates one device (same MAC) if it is gone or does not match; true if it had to. */
    private boolean repairDevice(boolean v6) {
        VxlanDevice have = v6 ? device6 : device;
        VxlanDevice.Config want = v6 ? deviceConfig6 : deviceConfig;
        Optional<io.flanneld.net.Link> link = nl.links().byName(have.name());
        if (link.isPresent() && link.get().index() == have.index()
                && VxlanDevice.mismatches(link.get(), want).isEmpty()) {
            return false;
        }
        VxlanDevice again = VxlanDevice.ensure(nl.links(), want, have.mac());
        log.info("Repaired {}: it was {}; re-created it (index {}, MAC {})", have.name(),
                link.isEmpty() ? "deleted" : "replaced by another device", again.index(), again.mac());
        if (v6) {
            device6 = again;
            peers6 = peers6.movedTo(again.index());
        } else {
            device = again;
            peers = peers.movedTo(again.index());
        }
        return true;
    }

    /** flannel's BackendData for the IPv4 device; null on an IPv6-only node. */
    @Override
    public String backendData() {
        return device == null ? null : new VtepData(vni, device.mac()).toJson();
    }

    /** flannel's BackendV6Data, {@code {"VNI":1,"VtepMAC":"…"}} with the IPv6 device's MAC; null without it. */
    @Override
    public String backendV6Data() {
        return device6 == null ? null : new VtepData(vni, device6.mac()).toJson();
    }

    @Override
    public boolean carriesIpv6() {
        return true;
    }

    /** The IPv4 device's MTU (what flannel writes to subnet.env), or the IPv6 device's on an IPv6-only node. */
    @Override
    public int mtu() {
        return device != null ? device.mtu() : device6.mtu();
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
        if (device != null && local.subnet() != null) {
            configureDevice(local.subnet());
            if (config.backend().directRouting()) {
                directRouting = UnderlayNetworks.of(nl.addresses().list(iface.index()).stream()
                        .map(LinkAddress::network).toList());
                log.info("DirectRouting on: peers in {} are routed via {} without VXLAN", directRouting, iface.name());
            }
            peers.forgetAll();
            for (Lease peer : peerLeases) {
                if (peer.subnet() == null) {
                    continue; // an IPv6-only peer: nothing for flannel.<VNI>
                }
                if (peer.subnet().equals(local.subnet())) {
                    log.warn("Ignoring a peer lease for the local subnet {}", local.subnet());
                    continue;
                }
                added(peer, failures);
            }
            int stale = peers.reconcile(local.subnet(), config.network(), directRouting != null, failures);
            log.info("{} started for {}: {} peer(s) programmed, {} stale entr{} removed", device.name(),
                    local.subnet(), peers.programmedCount(), stale, stale == 1 ? "y" : "ies");
        }
        if (device6 != null && local.ipv6Subnet() != null) {
            configureDevice6(local.ipv6Subnet());
            if (config.backend().directRouting()) {
                directRouting6 = nl.addresses().list6(iface.index()).stream()
                        .filter(a -> a.scope() == LinkAddress6.SCOPE_UNIVERSE).map(LinkAddress6::network)
                        .distinct().toList();
                log.info("DirectRouting on: IPv6 peers in {} are routed via {} without VXLAN", directRouting6,
                        iface.name());
            }
            peers6.forgetAll();
            for (Lease peer : peerLeases) {
                if (peer.ipv6Subnet() == null) {
                    continue; // an IPv4-only peer: nothing for flannel-v6.<VNI>
                }
                if (peer.ipv6Subnet().equals(local.ipv6Subnet())) {
                    log.warn("Ignoring a peer lease for the local IPv6 subnet {}", local.ipv6Subnet());
                    continue;
                }
                added6(peer, failures);
            }
            Ip6Net network6 = config.ipv6() != null ? config.ipv6().network() : local.ipv6Subnet();
            int stale = peers6.reconcile(local.ipv6Subnet(), network6, directRouting6 != null, failures);
            log.info("{} started for {}: {} peer(s) programmed, {} stale entr{} removed", device6.name(),
                    local.ipv6Subnet(), peers6.programmedCount(), stale, stale == 1 ? "y" : "ies");
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
            Lease lease = event.lease();
            boolean v4 = peers != null && local.subnet() != null && lease.subnet() != null;
            boolean v6 = peers6 != null && local.ipv6Subnet() != null && lease.ipv6Subnet() != null;
            if (v4 && lease.subnet().equals(local.subnet())) {
                log.warn("Ignoring an event for the local subnet {}", local.subnet());
                v4 = false;
            }
            if (v6 && lease.ipv6Subnet().equals(local.ipv6Subnet())) {
                log.warn("Ignoring an event for the local IPv6 subnet {}", local.ipv6Subnet());
                v6 = false;
            }
            if (event instanceof LeaseEvent.Added) {
                if (v4) {
                    added(lease, failures);
                }
                if (v6) {
                    added6(lease, failures);
                }
            } else if (event instanceof LeaseEvent.Removed) {
                if (v4) {
                    removed(lease, failures);
                }
                if (v6) {
                    removed6(lease, failures);
                }
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
        return peers != null ? peers.programmedCount() : peers6.programmedCount();
    }

    /** IPv6 peers whose entries are all in place; 0 without flannel-v6.&lt;VNI&gt;. */
    public synchronized int peerCount6() {
        return peers6 == null ? 0 : peers6.programmedCount();
    }

    /** flannel.&lt;VNI&gt;, or flannel-v6.&lt;VNI&gt; on an IPv6-only node. */
    public String deviceName() {
        return device != null ? device.name() : device6.name();
    }

    @Override
    public synchronized int deviceIndex() {
        return device != null ? device.index() : device6.index();
    }

    /** The IPv4 device's MAC (the IPv6 device's on an IPv6-only node). */
    public MacAddress deviceMac() {
        return device != null ? device.mac() : device6.mac();
    }

    /** flannel-v6.&lt;VNI&gt;, if this node carries IPv6. */
    public synchronized Optional<VxlanDevice> device6() {
        return Optional.ofNullable(device6);
    }

    public int vni() {
        return vni;
    }

    public int port() {
        return port;
    }

    private void configureDevice(Ip4Net subnet) {
        LinkAddress own = new LinkAddress(device.index(), subnet.address(), 32);
        for (LinkAddress a : nl.addresses().list(device.index())) {
            if (!a.equals(own)) {
                // Left over from a previous lease: keeping it would answer for a subnet now someone else's.
                log.info("Removing old address {} from {}", a, device.name());
                try {
                    nl.addresses().delete(a);
                } catch (NetlinkException e) {
                    if (!e.notFound()) {
                        throw e;
                    }
                }
            }
        }
        nl.addresses().replace(own);
        nl.links().setUp(device.index());
    }

    /** The IPv6 subnet's first address as a /128, as flannel gives it to flannel-v6.&lt;VNI&gt;. */
    private LinkAddress6 ownAddress6(Ip6Net subnet) {
        return new LinkAddress6(device6.index(), subnet.address(), 128);
    }

    /** As {@link #configureDevice} for flannel-v6.&lt;VNI&gt;; its link-local address is the kernel's and stays. */
    private void configureDevice6(Ip6Net subnet) {
        LinkAddress6 own = ownAddress6(subnet);
        for (LinkAddress6 a : nl.addresses().list6(device6.index())) {
            if (!a.sameAddress(own) && !a.isLinkLocal()) {
                log.info("Removing old address {} from {}", a, device6.name());
                try {
                    nl.addresses().delete(a);
                } catch (NetlinkException e) {
                    if (!e.notFound()) {
                        throw e;
                    }
                }
            }
        }
        nl.addresses().replace(own);
        nl.links().setUp(device6.index());
    }

    private void added(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        Ip4Net subnet = lease.subnet();
        PeerEntries want;
        try {
            want = PeerEntries.fromLease(lease, directRouting);
        } catch (PeerEntries.UnusableLeaseException e) {
            log.warn("Skipping peer {}: {}", subnet, e.getMessage());
            if (peers.known(subnet).isPresent()) {
                // The host switched backend or broke its lease: what it had is wrong now.
                removed(lease, failures);
            }
            return;
        }
        try {
            peers.program(want);
        } catch (RuntimeException e) {
            log.error("Could not program peer {}: {}", subnet, e.getMessage());
            failures.add(new PeersNotProgrammedException.Failure("peer " + subnet, e));
        }
    }

    private void removed(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        Ip4Net subnet = lease.subnet();
        Optional<PeerEntries> fromLease;
        try {
            fromLease = Optional.of(PeerEntries.fromLease(lease, directRouting));
        } catch (PeerEntries.UnusableLeaseException e) {
            fromLease = Optional.empty();
        }
        try {
            peers.remove(subnet, fromLease);
        } catch (RuntimeException e) {
            log.error("Could not remove peer {}: {}", subnet, e.getMessage());
            failures.add(new PeersNotProgrammedException.Failure("removing peer " + subnet, e));
        }
    }

    private void added6(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        Ip6Net subnet = lease.ipv6Subnet();
        PeerEntries6 want;
        try {
            want = PeerEntries6.fromLease(lease, directRouting6);
        } catch (PeerEntries.UnusableLeaseException e) {
            log.warn("Skipping IPv6 peer {}: {}", subnet, e.getMessage());
            if (peers6.known(subnet).isPresent()) {
                removed6(lease, failures);
            }
            return;
        }
        try {
            peers6.program(want);
        } catch (RuntimeException e) {
            log.error("Could not program IPv6 peer {}: {}", subnet, e.getMessage());
            failures.add(new PeersNotProgrammedException.Failure("peer " + subnet, e));
        }
    }

    private void removed6(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        Ip6Net subnet = lease.ipv6Subnet();
        Optional<PeerEntries6> fromLease;
        try {
            fromLease = Optional.of(PeerEntries6.fromLease(lease, directRouting6));
        } catch (PeerEntries.UnusableLeaseException e) {
            fromLease = Optional.empty();
        }
        try {
            peers6.remove(subnet, fromLease);
        } catch (RuntimeException e) {
            log.error("Could not remove IPv6 peer {}: {}", subnet, e.getMessage());
            failures.add(new PeersNotProgrammedException.Failure("removing peer " + subnet, e));
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
