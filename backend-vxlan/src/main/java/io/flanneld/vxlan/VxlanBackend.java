package io.flanneld.vxlan;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.MacAddress;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4Net;
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

    private static final Logger log = LoggerFactory.getLogger(VxlanBackend.class);

    private final Rtnetlink nl;
    private final ExternalInterface iface;
    private final NetworkConfig config;
    private final int vni;
    private final int port;
    private final VxlanDevice.Config deviceConfig;
    private VxlanDevice device;
    private PeerProgrammer peers;
    /** The underlay's networks when DirectRouting is on (read at start), else null. */
    private UnderlayNetworks directRouting;
    private Lease local;
    private boolean closed;

    private VxlanBackend(Rtnetlink nl, ExternalInterface iface, NetworkConfig config, int vni, int port,
                         VxlanDevice.Config deviceConfig, VxlanDevice device) {
        this.nl = nl;
        this.iface = iface;
        this.config = config;
        this.vni = vni;
        this.port = port;
        this.deviceConfig = deviceConfig;
        this.device = device;
        this.peers = new PeerProgrammer(nl, device.index(), device.name(), iface.index(), iface.name());
    }

    /**
     * Registers on this host: creates {@code flannel.<VNI>} on {@code iface} (or keeps a matching one, with its MAC)
     * with MTU = underlay MTU − 50.
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
        int mtu = iface.mtu() - ENCAP_OVERHEAD;
        if (mtu < 68) {
            throw new IllegalArgumentException("underlay " + iface + " leaves VXLAN an MTU of " + mtu
                    + ", below IPv4's minimum of 68");
        }
        VxlanDevice.Config want = new VxlanDevice.Config(VxlanDevice.nameFor(vni), vni, port, iface.address(),
                iface.index(), mtu);
        return new VxlanBackend(nl, iface, config, vni, port, want, VxlanDevice.ensure(nl.links(), want));
    }

    @Override
    public String type() {
        return TYPE;
    }

    /**
     * Puts back what someone else changed: {@code flannel.<VNI>} deleted or replaced by a device that does not match
     * (re-created with the same MAC, so the lease's VtepMAC stays true and peers need not follow), its address or its
     * up state gone, any peer's ARP, FDB or route entry missing or different; and retries peers refused before.
     */
    @Override
    public synchronized List<String> repair() {
        requireOpen();
        if (local == null) {
            return List.of();
        }
        List<String> repaired = new ArrayList<>();
        Optional<io.flanneld.net.Link> link = nl.links().byName(device.name());
        if (link.isEmpty() || link.get().index() != device.index() || !VxlanDevice.mismatches(link.get(), deviceConfig).isEmpty()) {
            MacAddress mac = device.mac();
            VxlanDevice again = VxlanDevice.ensure(nl.links(), deviceConfig, mac);
            log.info("Repaired {}: it was {}; re-created it (index {}, MAC {})", device.name(),
                    link.isEmpty() ? "deleted" : "replaced by another device", again.index(), again.mac());
            device = again;
            peers = peers.movedTo(again.index());
            repaired.add("device");
        }
        LinkAddress own = new LinkAddress(device.index(), local.subnet().address(), 32);
        boolean addressed = nl.addresses().list(device.index()).stream().anyMatch(own::equals);
        boolean up = nl.links().byIndex(device.index()).map(io.flanneld.net.Link::isUp).orElse(false);
        if (!addressed || !up) {
            configureDevice(local.subnet());
            if (!repaired.contains("device")) {
                log.info("Repaired {}: {}", device.name(), !addressed ? "put back its address " + own : "set it up again");
                repaired.add(!addressed ? "address" : "link_up");
            }
        }
        repaired.addAll(peers.repair());
        return repaired;
    }

    @Override
    public String backendData() {
        return new VtepData(vni, device.mac()).toJson();
    }

    @Override
    public int mtu() {
        return device.mtu();
    }

    /**
     * Gives the device the local subnet's first address as a /32 (removing any other), brings it up, programs every
     * peer and then removes entries no peer backs. Peers that fail do not stop the others.
     *
     * @throws PeerProgrammingException after everything else was done, if some peers or stale entries failed
     */
    @Override
    public synchronized void start(Lease local, List<Lease> peerLeases) {
        requireOpen();
        this.local = Objects.requireNonNull(local, "local");
        configureDevice(local.subnet());
        if (config.backend().directRouting()) {
            directRouting = UnderlayNetworks.of(nl.addresses().list(iface.index()).stream()
                    .map(LinkAddress::network).toList());
            log.info("DirectRouting on: peers in {} are routed via {} without VXLAN", directRouting, iface.name());
        }
        List<PeersNotProgrammedException.Failure> failures = new ArrayList<>();
        peers.forgetAll();
        for (Lease peer : peerLeases) {
            if (peer.subnet().equals(local.subnet())) {
                log.warn("Ignoring a peer lease for the local subnet {}", local.subnet());
                continue;
            }
            added(peer, failures);
        }
        int stale = peers.reconcile(local.subnet(), config.network(), directRouting != null, failures);
        log.info("{} started for {}: {} peer(s) programmed, {} stale entr{} removed", device.name(), local.subnet(),
                peers.programmedCount(), stale, stale == 1 ? "y" : "ies");
        throwIfAny(failures);
    }

    /**
     * Applies lease changes in order. A failing peer is logged and the rest still applied.
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
            if (event.lease().subnet().equals(local.subnet())) {
                log.warn("Ignoring an event for the local subnet {}", local.subnet());
                continue;
            }
            if (event instanceof LeaseEvent.Added added) {
                added(added.lease(), failures);
            } else if (event instanceof LeaseEvent.Removed removed) {
                removed(removed.lease(), failures);
            }
        }
        throwIfAny(failures);
    }

    /** Leaves the device and every entry in place: flannel keeps them so pods keep working across a restart. */
    @Override
    public synchronized void close() {
        closed = true;
    }

    /** Peers whose entries are all in place. */
    @Override
    public synchronized int peerCount() {
        return peers.programmedCount();
    }

    public String deviceName() {
        return device.name();
    }

    @Override
    public synchronized int deviceIndex() {
        return device.index();
    }

    public MacAddress deviceMac() {
        return device.mac();
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

    private static void throwIfAny(List<PeersNotProgrammedException.Failure> failures) {
        if (!failures.isEmpty()) {
            throw new PeerProgrammingException(failures);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException(device.name() + " backend is closed");
        }
    }
}
