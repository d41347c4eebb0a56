package io.flanneld.udp;

import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
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

    /** Opens and configures flannel0; returns the TUN side of the offloads ({@code tso}, {@code uso}). */
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
        boolean routed = nl.routes().list().stream()
                .anyMatch(r -> r.outputIndex() == link.index() && r.destination().equals(network));
        if (!routed) {
            nl.routes().replace(Route.throughDevice(network, link.index()).withProtocol(Route.PROTOCOL_KERNEL));
            log.info("udp backend: repaired {}: put back the route to {}", NAME, network);
            repaired.add("route");
        }
        return repaired;
    }

    /** Gives flannel0 its address with the Network's prefix, the MTU, its sysctls, and sets it up. */
    private void configure() {
        Link link = nl.links().byName(tun.name()).orElseThrow(
                () -> new IllegalStateException("TUN device " + NAME + " vanished after creation"));
        index = link.index();
        // The Network's prefix length, not the lease's: the connected route then sends all of the overlay here.
        nl.addresses().replace(ownAddress(link.index()));
        nl.links().setMtu(link.index(), mtu);
        DeviceSysctls.configure(tun.name(), namespace);
        nl.links().setUp(link.index());
    }

    private LinkAddress ownAddress(int linkIndex) {
        return new LinkAddress(linkIndex, localAddress, network.prefixLength());
    }

    /**
     * Opens flannel0 with IFF_VNET_HDR and TCP (and UDP) segmentation offload if the kernel takes it, else plain;
     * returns the TUN side's offloads. TUN_F_CSUM is required for TSO and USO.
     */
    private Offloads openTun() {
        TunOptions plain = TunOptions.named(NAME).withNonBlocking(true);
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
        tun = namespace == null ? TunDevice.open(plain) : TunDevice.openInNamespace(namespace, plain);
        return Offloads.NONE;
    }

    /** Opens flannel0 with {@code options} into {@link #tun}; null, or why the kernel refused. */
    private RuntimeException tryOpen(TunOptions tunOptions) {
        try {
            tun = namespace == null ? TunDevice.open(tunOptions) : TunDevice.openInNamespace(namespace, tunOptions);
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    /** Closes the descriptor, which removes flannel0 (it is not persistent). */
    @Override
    public void close() {
        if (tun != null) {
            tun.close();
        }
    }
}
