package io.flanneld.udp;

import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Route;
import io.flanneld.net.Rtnetlink;
import io.flanneld.net.TunDevice;
import io.flanneld.net.TunOptions;
import io.flanneld.schema.Ip4Net;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * flannel0: the TUN device the kernel routes the whole overlay Network into. Opens it (with IFF_VNET_HDR and TCP/UDP
 * segmentation offload where the kernel takes them and the options allow), gives it the local subnet's first
 * address with the Network's prefix (the connected route then sends all of the overlay here), the MTU, its sysctls,
 * and sets it up; puts back what someone else removed.
 *
 * <p>flannel0 is persistent (TUNSETPERSIST): closing leaves it in place with its address and route, so a restarted
 * daemon attaches to it instead of building it again, and pod traffic routed into it meanwhile is dropped by the
 * kernel rather than answered as unreachable. An existing flannel0 whose flags are not the ones this start wants
 * (a vnet header or not, as the options ask; or not a plain TUN device at all) is deleted and created again, since
 * the loops frame packets by those flags. {@link #remove(Rtnetlink)} deletes it for good.
 */
final class OverlayDevice implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OverlayDevice.class);
    static final String NAME = "flannel0";

    private final Rtnetlink nl;
    private final String namespace;
    private final Ip4Net network;
    private final int localAddress;
    private final int mtu;
    private final UdpOptions options;
    private TunDevice tun;
    private volatile int index;

    /**
     * @param nl a connection into the namespace the device lives in
     * @param namespace where to open the device, or null for the calling thread's namespace
     * @param localAddress flannel0's own address: the local subnet's first
     */
    OverlayDevice(Rtnetlink nl, String namespace, Ip4Net network, int localAddress, int mtu, UdpOptions options) {
        this.nl = nl;
        this.namespace = namespace;
        this.network = network;
        this.localAddress = localAddress;
        this.mtu = mtu;
        this.options = options;
    }

    /**
     * Opens flannel0, attaching to the one left by an earlier start when its flags match, and configures it
     * (idempotent: whatever is already right stays); returns the TUN side of the offloads ({@code tso}, {@code uso}).
     */
    Offloads open() {
        Offloads offloads = openTun();
        configure();
        return offloads;
    }

    int fd() {
        return tun.fd();
    }

    /** flannel0's interface index (0 before {@link #open}). */
    int index() {
        return index;
    }

    /** Whether flannel0 still exists (someone may have deleted it: the open descriptor then leads nowhere). */
    boolean exists() {
        return nl.links().byName(NAME).isPresent();
    }

    /**
     * Puts back flannel0's address (and with it the connected route to the Network), its up state and the Network's
     * route through it, whichever is missing; what was repaired ({@code address}, {@code link_up}, {@code route}).
     * A deleted device is the caller's to reopen ({@link #exists}).
     */
    List<String> repair() {
        Optional<Link> found = nl.links().byName(NAME);
        if (found.isEmpty()) {
            return List.of();
        }
        Link link = found.get();
        List<String> repaired = new ArrayList<>();
        LinkAddress own = ownAddress(link.index());
        if (nl.addresses().list(link.index()).stream().noneMatch(a -> a.equals(own))) {
            nl.addresses().replace(own);
            log.info("udp backend: repaired {}: put back its address {}", NAME, own);
            repaired.add("address");
        }
        if (!link.isUp()) {
            nl.links().setUp(link.index());
            log.info("udp backend: repaired {}: set it up again", NAME);
            repaired.add("link_up");
        }
        if (!routed(link.index())) {
            nl.routes().replace(Route.throughDevice(network, link.index()).withProtocol(Route.PROTOCOL_KERNEL));
            log.info("udp backend: repaired {}: put back the route to {}", NAME, network);
            repaired.add("route");
        }
        return repaired;
    }

    /**
     * Gives flannel0 its address with the Network's prefix (dropping any other, left by an earlier lease), the MTU,
     * its sysctls, sets it up and makes sure of the route to the Network. Every step is a replace, so a device
     * carried over from an earlier start passes through unchanged where it is already right.
     */
    private void configure() {
        Link link = nl.links().byName(tun.name()).orElseThrow(
                () -> new IllegalStateException("TUN device " + NAME + " vanished after creation"));
        index = link.index();
        LinkAddress own = ownAddress(link.index());
        for (LinkAddress a : nl.addresses().list(link.index())) {
            if (!a.equals(own)) {
                // Left over from a previous lease: keeping it would answer for a subnet now someone else's.
                log.info("udp backend: removing old address {} from {}", a, NAME);
                try {
                    nl.addresses().delete(a);
                } catch (NetlinkException e) {
                    if (!e.notFound()) {
                        throw e;
                    }
                }
            }
        }
        // The Network's prefix length, not the lease's: the connected route then sends all of the overlay here.
        nl.addresses().replace(own);
        nl.links().setMtu(link.index(), mtu);
        DeviceSysctls.configure(tun.name(), namespace);
        nl.links().setUp(link.index());
        if (!routed(link.index())) {
            nl.routes().replace(Route.throughDevice(network, link.index()).withProtocol(Route.PROTOCOL_KERNEL));
        }
    }

    private boolean routed(int linkIndex) {
        return nl.routes().list().stream()
                .anyMatch(r -> r.outputIndex() == linkIndex && r.destination().equals(network));
    }

    private LinkAddress ownAddress(int linkIndex) {
        return new LinkAddress(linkIndex, localAddress, network.prefixLength());
    }

    /**
     * Opens flannel0 with IFF_VNET_HDR and TCP (and UDP) segmentation offload if the kernel takes it, else plain;
     * returns the TUN side's offloads. TUN_F_CSUM is required for TSO and USO. The offloads are set on every open,
     * so a device attached to again gets exactly the ones asked for now.
     */
    private Offloads openTun() {
        TunOptions plain = TunOptions.named(NAME).withNonBlocking(true).withPersistent(true);
        if (options.tso()) {
            int tso = TunOptions.TUN_F_CSUM | TunOptions.TUN_F_TSO4;
            // USO needs a kernel of 6.2 or later; older ones refuse the unknown flags with EINVAL.
            if (options.uso() && tryOpen(plain.withVnetHeader(true)
                    .withOffload(tso | TunOptions.TUN_F_USO4 | TunOptions.TUN_F_USO6)) == null) {
                return new Offloads(true, true, false, false, false);
            }
            RuntimeException refused = tryOpen(plain.withVnetHeader(true).withOffload(tso));
            if (refused == null) {
                return new Offloads(true, false, false, false, false);
            }
            log.warn("udp backend: {} without offloads ({})", NAME, refused.getMessage());
        }
        tun = attach(plain);
        return Offloads.NONE;
    }

    /** Opens flannel0 with {@code options} into {@link #tun}; null, or why the kernel refused. */
    private RuntimeException tryOpen(TunOptions tunOptions) {
        try {
            tun = attach(tunOptions);
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    /**
     * Opens flannel0 as {@code tunOptions} ask: attaches to an existing one whose flags match, after deleting one
     * whose flags do not (or whose flags this kernel does not report).
     */
    private TunDevice attach(TunOptions tunOptions) {
        Optional<Link> existing = nl.links().byName(NAME);
        if (existing.isPresent()) {
            Link link = existing.get();
            boolean matches = link.isKind("tun") && link.tun().map(tunOptions::matches).orElse(false);
            if (!matches) {
                log.info("udp backend: deleting the existing {} ({}): it is not the TUN device this start opens "
                        + "(vnet header {})", NAME, link.tun().map(Object::toString).orElse(link.kind().orElse("?")),
                        tunOptions.vnetHeader() ? "on" : "off");
                delete(link.index());
            }
        }
        return namespace == null ? TunDevice.open(tunOptions) : TunDevice.openInNamespace(namespace, tunOptions);
    }

    /** Closes the descriptor; flannel0 stays, with its address and route, for the next start. */
    @Override
    public void close() {
        if (tun != null) {
            tun.close();
        }
    }

    /** Deletes flannel0 from {@code nl}'s namespace if it is there; whether it was. */
    static boolean remove(Rtnetlink nl) {
        Optional<Link> link = nl.links().byName(NAME);
        if (link.isEmpty()) {
            return false;
        }
        log.info("udp backend: deleting {}", NAME);
        return deleteIfPresent(nl, link.get().index());
    }

    private void delete(int linkIndex) {
        deleteIfPresent(nl, linkIndex);
    }

    private static boolean deleteIfPresent(Rtnetlink nl, int linkIndex) {
        try {
            nl.links().delete(linkIndex);
            return true;
        } catch (NetlinkException e) {
            if (e.notFound()) {
                return false;
            }
            throw e;
        }
    }
}
