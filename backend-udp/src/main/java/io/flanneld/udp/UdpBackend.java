package io.flanneld.udp;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * flannel's {@code udp} backend: the TUN device {@code flannel0} holds the whole overlay Network's route, and this
 * process carries every packet the kernel routes into it to the peer host whose lease holds the destination, as the
 * entire payload of a UDP datagram (port {@code Backend.Port}, default 8285), and writes what peers send into it.
 * The wire format is flannel's, so hosts running flannel's own udp backend interoperate.
 *
 * <p>This class is the lifecycle: {@link OverlayDevice} is flannel0, {@link PeerSocket} the UDP socket,
 * {@link UdpLeases} decides which leases are peers, {@link UdpOptions} is the tuning the caller passes in. Threads:
 * one forwarding thread per direction, so both cores work, each driving the socket's file descriptor with batched
 * system calls. {@link TunToUdp} reads flannel0 and sends with sendmmsg; {@link UdpToTun} receives with recvmmsg
 * and writes flannel0. Both read the current {@link ForwardingTable} snapshot; {@link #apply} builds a new one and
 * swaps it in, so lease changes never pause traffic.
 *
 * <p>flannel0 outlives {@link #close} (a restart loses only the packets routed into it while no process holds it,
 * which the kernel drops): the next start attaches to it and checks its address, MTU, up state and route.
 * {@link #removeDevice} deletes it for good, as {@code ip link del flannel0} does.
 *
 * <p>Offloads ({@link Offloads}), probed at start and used where the kernel has them and the options allow:
 * flannel0 with IFF_VNET_HDR and TSO (TCP super-packets read whole, segmented here; coalesced TCP written whole),
 * UDP GSO (one send per super-packet) and UDP GRO (one receive for many datagrams). Without them everything still
 * works, a packet per system call or per batch slot.
 */
public final class UdpBackend implements Backend {
    private static final Logger log = LoggerFactory.getLogger(UdpBackend.class);

    public static final String TYPE = "udp";
    public static final String DEVICE = OverlayDevice.NAME;
    public static final int DEFAULT_PORT = 8285;
    /** Outer IPv4 header (20) and UDP header (8): the inner packet is the rest of the datagram. */
    public static final int OVERHEAD = 28;

    private final Rtnetlink nl;
    private final ExternalInterface iface;
    private final NetworkConfig config;
    private final UdpOptions options;
    private final String namespace;
    private final int port;

    private final AtomicReference<ForwardingTable> table = new AtomicReference<>(ForwardingTable.EMPTY);
    private final CounterCells tunToUdpCounters = new CounterCells();
    private final CounterCells udpToTunCounters = new CounterCells();

    private volatile OverlayDevice device;
    private PeerSocket socket;
    private volatile Offloads offloads = Offloads.NONE;
    private TunToUdp tunToUdp;
    private Thread tunToUdpThread;
    private UdpToTun udpToTun;
    private Thread udpToTunThread;
    private boolean started;
    /** The local subnet's first address, flannel0's own (set by start). */
    private int localAddress;
    private boolean closed;

    private UdpBackend(Rtnetlink nl, ExternalInterface iface, NetworkConfig config, UdpOptions options,
                       String namespace) {
        this.nl = Objects.requireNonNull(nl, "nl");
        this.iface = Objects.requireNonNull(iface, "iface");
        this.config = Objects.requireNonNull(config, "config");
        this.options = Objects.requireNonNull(options, "options");
        this.namespace = namespace;
        this.port = config.backend().portOr(DEFAULT_PORT);
    }

    /**
     * The backend for the daemon: nothing is created until {@link #start}. {@code nl} stays the caller's to close.
     */
    public static UdpBackend create(Rtnetlink nl, ExternalInterface iface, NetworkConfig config, UdpOptions options) {
        return new UdpBackend(nl, iface, config, options, null);
    }

    /**
     * The same, with the TUN device and the socket created inside network namespace {@code namespace} (tests and
     * benchmarks that simulate several hosts in one JVM; {@code nl} must be a connection into that namespace).
     */
    public static UdpBackend createInNamespace(Rtnetlink nl, ExternalInterface iface, NetworkConfig config,
                                               UdpOptions options, String namespace) {
        return new UdpBackend(nl, iface, config, options, Objects.requireNonNull(namespace, "namespace"));
    }

    @Override
    public String type() {
        return TYPE;
    }

    /** flannel's udp backend publishes no BackendData. */
    @Override
    public String backendData() {
        return null;
    }

    @Override
    public int mtu() {
        return iface.mtu() - OVERHEAD;
    }

    public int port() {
        return port;
    }

    public String deviceName() {
        return DEVICE;
    }

    @Override
    public synchronized void start(Lease local, List<Lease> peers) throws Exception {
        if (started || closed) {
            throw new IllegalStateException(closed ? "udp backend is closed" : "udp backend already started");
        }
        started = true;
        localAddress = local.subnet().address();
        try {
            device = new OverlayDevice(nl, namespace, config.network(), localAddress, mtu(), options);
            Offloads tun = device.open();

            table.set(ForwardingTable.of(udpPeers(peers)));

            socket = PeerSocket.open(iface.address(), port, namespace);
            boolean gso = options.gso() && socket.enableGso();
            boolean gro = options.gro() && socket.enableGro();
            offloads = new Offloads(tun.tso(), tun.uso(), options.coalesce(), gso, gro);
            startLoops();
            log.info("udp backend: {} {}/{} mtu {}, listening on {}:{}, offloads {}, {} peer(s)", DEVICE,
                    Ip4.format(localAddress), config.network().prefixLength(), mtu(), Ip4.format(iface.address()),
                    port, offloads.describe(), table.get().size());
        } catch (Exception | Error e) {
            shutdown();
            throw e;
        }
    }

    private void startLoops() {
        int maxDatagram = Math.max(iface.mtu(), 1500);
        udpToTun = new UdpToTun(device.fd(), socket.fd(), table, udpToTunCounters, offloads, options.rxBatch(),
                maxDatagram);
        udpToTunThread = new Thread(udpToTun, "flannel-udp-rx");
        udpToTunThread.setDaemon(true);
        udpToTunThread.start();
        tunToUdp = new TunToUdp(device.fd(), socket.fd(), port, localAddress, table, tunToUdpCounters, offloads,
                options.txBatch());
        tunToUdpThread = new Thread(tunToUdp, "flannel-udp-tx");
        tunToUdpThread.setDaemon(true);
        tunToUdpThread.start();
    }

    private void stopLoops() {
        if (tunToUdp != null) {
            tunToUdp.stop();
        }
        if (udpToTun != null) {
            udpToTun.stop();
        }
        join(tunToUdpThread);
        join(udpToTunThread);
    }

    /**
     * Puts back flannel0 if someone deleted it (the open descriptor then leads nowhere: the loops are stopped, the
     * device opened again with the offloads it had, configured, and the loops restarted on the same socket), its
     * address (and with it the connected route to the Network) or its up state, and the Network's route through it.
     */
    @Override
    public synchronized List<String> repair() {
        if (!started || closed) {
            return List.of();
        }
        if (!device.exists()) {
            stopLoops();
            device.close();
            Offloads tun = device.open();
            if (tun.tso() != offloads.tso()) {
                // The loops frame packets by whether a vnet header is there; keep what they were built for.
                offloads = new Offloads(tun.tso(), tun.uso(), offloads.coalesce(), offloads.udpGso(),
                        offloads.udpGro());
            }
            startLoops();
            log.info("udp backend: repaired {}: it was deleted; opened it again and restarted forwarding", DEVICE);
            return List.of("device");
        }
        return device.repair();
    }

    /** The offloads the data path runs with (all off before {@link #start}). */
    public Offloads offloads() {
        Offloads current = offloads;
        return tunToUdp != null && current.udpGso() && !tunToUdp.udpGso()
                ? new Offloads(current.tso(), current.uso(), current.coalesce(), false, current.udpGro()) : current;
    }

    @Override
    public void apply(List<LeaseEvent> events) {
        for (LeaseEvent event : events) {
            if (event instanceof LeaseEvent.Added added && !UdpLeases.isPeer(added.lease())) {
                warnIgnored(added.lease());
            }
        }
        List<LeaseEvent> effective = UdpLeases.effective(events);
        // Only the lease watch thread applies events; the loops see the old table until the new one is complete.
        table.updateAndGet(t -> t.apply(effective));
    }

    private static List<Lease> udpPeers(List<Lease> leases) {
        UdpLeases.ignored(leases).forEach(UdpBackend::warnIgnored);
        return UdpLeases.peers(leases);
    }

    private static void warnIgnored(Lease lease) {
        log.warn("udp backend: ignoring lease {} of backend type {}", lease.subnet(), lease.attrs().backendType());
    }

    @Override
    public int deviceIndex() {
        return device == null ? 0 : device.index();
    }

    @Override
    public int peerCount() {
        return table.get().size();
    }

    /** Packets, bytes and drops so far; cheap enough for every metrics scrape. */
    public UdpCounters counters() {
        return CounterCells.snapshot(tunToUdpCounters, udpToTunCounters);
    }

    /**
     * Stops both loops, closes the socket and the TUN descriptor. flannel0 stays, with its address and route, for
     * the next start; {@link #removeDevice} removes it.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        shutdown();
    }

    /**
     * Deletes flannel0 from {@code nl}'s namespace for good, if it is there (the cleanup after a last
     * {@link #close}, or when this host stops running the udp backend); whether it was there.
     */
    public static boolean removeDevice(Rtnetlink nl) {
        return OverlayDevice.remove(nl);
    }

    private void shutdown() {
        stopLoops();
        // Last: neither loop may touch an fd once it is closed (the number could be reused by another open).
        if (socket != null) {
            socket.close();
        }
        if (device != null) {
            device.close();
        }
    }

    private static void join(Thread thread) {
        if (thread == null) {
            return;
        }
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
