package io.flanneld.udp;

import static io.flanneld.net.LinuxAbi.*;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.net.LibC;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.Route;
import io.flanneld.net.NetworkNamespaces;
import io.flanneld.net.Rtnetlink;
import io.flanneld.net.TunDevice;
import io.flanneld.net.TunOptions;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
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
 * <p>The socket is a netty-transport-native-epoll datagram channel: Netty creates it (inside the host's namespace
 * when there is one), binds it and sets its buffers, and owns its lifetime; Netty never reads it (auto-read off).
 * Threads: one forwarding thread per direction, so both cores work, each driving the channel's file descriptor with
 * batched system calls. {@link TunToUdp} reads flannel0 and sends with sendmmsg; {@link UdpToTun} receives with
 * recvmmsg and writes flannel0. (Netty's own read path hands over a DatagramPacket and an InetSocketAddress per
 * datagram, and no GSO super-packets: allocation per packet on the hottest path.) Both read the current
 * {@link ForwardingTable} snapshot; {@link #apply} builds a new one and swaps it in, so lease changes never pause
 * traffic.
 *
 * <p>Offloads ({@link Offloads}), probed at start and used where the kernel has them: flannel0 with IFF_VNET_HDR and
 * TSO (TCP super-packets read whole, segmented here; coalesced TCP written whole), UDP GSO (one send per
 * super-packet) and UDP GRO (one receive for many datagrams). Without them everything still works, a packet per
 * system call or per batch slot.
 */
public final class UdpBackend implements Backend {
    private static final Logger log = LoggerFactory.getLogger(UdpBackend.class);

    public static final String TYPE = "udp";
    public static final String DEVICE = "flannel0";
    public static final int DEFAULT_PORT = 8285;
    /** Outer IPv4 header (20) and UDP header (8): the inner packet is the rest of the datagram. */
    public static final int OVERHEAD = 28;
    /**
     * Datagrams received per recvmmsg call, and packets sent per sendmmsg call. The system properties exist to
     * measure what batching buys (backend-udp/README.md); 1 turns batching off.
     */
    static final int RECV_BATCH = Math.max(1, Math.min(64, Integer.getInteger("flanneld.udp.rxBatch", 32)));
    static final int SEND_BATCH = Math.max(1, Math.min(TunToUdp.MAX_MESSAGES,
            Integer.getInteger("flanneld.udp.txBatch", TunToUdp.MAX_MESSAGES)));
    private static final int SOCKET_BUFFER = 4 << 20;

    private final Rtnetlink nl;
    private final ExternalInterface iface;
    private final NetworkConfig config;
    private final String namespace;
    private final int port;

    private final AtomicReference<ForwardingTable> table = new AtomicReference<>(ForwardingTable.EMPTY);
    private final CounterCells tunToUdpCounters = new CounterCells();
    private final CounterCells udpToTunCounters = new CounterCells();

    private final LibC sys = LibC.Native.libc();
    private TunDevice tun;
    private EventLoopGroup socketGroup;
    private EpollDatagramChannel channel;
    private int socketFd = -1;
    private volatile Offloads offloads = Offloads.NONE;
    private TunToUdp tunToUdp;
    private Thread tunToUdpThread;
    private UdpToTun udpToTun;
    private Thread udpToTunThread;
    private boolean started;
    /** flannel0's interface index, for the daemon's kernel notifications (0 before start). */
    private volatile int deviceIndex;
    /** The local subnet's first address, flannel0's own (set by start). */
    private int localAddress;
    private boolean closed;

    private UdpBackend(Rtnetlink nl, ExternalInterface iface, NetworkConfig config, String namespace) {
        this.nl = Objects.requireNonNull(nl, "nl");
        this.iface = Objects.requireNonNull(iface, "iface");
        this.config = Objects.requireNonNull(config, "config");
        this.namespace = namespace;
        this.port = config.backend().portOr(DEFAULT_PORT);
    }

    /**
     * The backend for the daemon: nothing is created until {@link #start}. {@code nl} stays the caller's to close.
     */
    public static UdpBackend create(Rtnetlink nl, ExternalInterface iface, NetworkConfig config) {
        return new UdpBackend(nl, iface, config, null);
    }

    /**
     * The same, with the TUN device and the socket created inside network namespace {@code namespace} (tests and
     * benchmarks that simulate several hosts in one JVM; {@code nl} must be a connection into that namespace).
     */
    public static UdpBackend createInNamespace(Rtnetlink nl, ExternalInterface iface, NetworkConfig config,
                                               String namespace) {
        return new UdpBackend(nl, iface, config, Objects.requireNonNull(namespace, "namespace"));
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
            Offloads device = openTun();
            configureTun();

            table.set(ForwardingTable.of(udpLeases(peers)));

            socketFd = openSocket();
            boolean gso = enabled("flanneld.udp.gso") && setIntOption(SOL_UDP, UDP_SEGMENT, 0);
            boolean gro = enabled("flanneld.udp.gro") && setIntOption(SOL_UDP, UDP_GRO, 1);
            offloads = new Offloads(device.tso(), device.uso(), enabled("flanneld.udp.coalesce"), gso, gro);
            startLoops();
            log.info("udp backend: {} {}/{} mtu {}, listening on {}:{}, offloads {}, {} peer(s)", DEVICE,
                    Ip4.format(localAddress), config.network().prefixLength(), mtu(), Ip4.format(iface.address()),
                    port, offloads.describe(), table.get().size());
        } catch (Exception | Error e) {
            shutdown();
            throw e;
        }
    }

    /** Gives flannel0 the local subnet's first address with the Network's prefix, the MTU, its sysctls, and sets it up. */
    private void configureTun() {
        Link link = nl.links().byName(tun.name()).orElseThrow(
                () -> new IllegalStateException("TUN device " + DEVICE + " vanished after creation"));
        deviceIndex = link.index();
        // The Network's prefix length, not the lease's: the connected route then sends all of the overlay here.
        nl.addresses().replace(ownAddress(link.index()));
        nl.links().setMtu(link.index(), mtu());
        DeviceSysctls.configure(tun.name(), namespace);
        nl.links().setUp(link.index());
    }

    private LinkAddress ownAddress(int linkIndex) {
        return new LinkAddress(linkIndex, localAddress, config.network().prefixLength());
    }

    private void startLoops() {
        int maxDatagram = Math.max(iface.mtu(), 1500);
        udpToTun = new UdpToTun(tun.fd(), socketFd, table, udpToTunCounters, offloads, RECV_BATCH, maxDatagram);
        udpToTunThread = new Thread(udpToTun, "flannel-udp-rx");
        udpToTunThread.setDaemon(true);
        udpToTunThread.start();
        tunToUdp = new TunToUdp(tun.fd(), socketFd, port, localAddress, table, tunToUdpCounters, offloads, SEND_BATCH);
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
        List<String> repaired = new ArrayList<>();
        java.util.Optional<Link> link = nl.links().byName(DEVICE);
        if (link.isEmpty()) {
            stopLoops();
            tun.close();
            Offloads device = openTun();
            if (device.tso() != offloads.tso()) {
                // The loops frame packets by whether a vnet header is there; keep what they were built for.
                offloads = new Offloads(device.tso(), device.uso(), offloads.coalesce(), offloads.udpGso(), offloads.udpGro());
            }
            configureTun();
            startLoops();
            log.info("udp backend: repaired {}: it was deleted; opened it again and restarted forwarding", DEVICE);
            return List.of("device");
        }
        LinkAddress own = ownAddress(link.get().index());
        if (nl.addresses().list(link.get().index()).stream().noneMatch(a -> a.equals(own))) {
            nl.addresses().replace(own);
            log.info("udp backend: repaired {}: put back its address {}", DEVICE, own);
            repaired.add("address");
        }
        if (!link.get().isUp()) {
            nl.links().setUp(link.get().index());
            log.info("udp backend: repaired {}: set it up again", DEVICE);
            repaired.add("link_up");
        }
        Ip4Net network = config.network();
        boolean routed = nl.routes().list().stream()
                .anyMatch(r -> r.outputIndex() == link.get().index() && r.destination().equals(network));
        if (!routed) {
            nl.routes().replace(Route.throughDevice(network, link.get().index())
                    .withProtocol(Route.PROTOCOL_KERNEL));
            log.info("udp backend: repaired {}: put back the route to {}", DEVICE, network);
            repaired.add("route");
        }
        return repaired;
    }

    /**
     * Opens flannel0 with IFF_VNET_HDR and TCP (and UDP) segmentation offload if the kernel takes it, else plain;
     * returns the TUN side's offloads. TUN_F_CSUM is required for TSO and USO.
     */
    private Offloads openTun() {
        TunOptions plain = TunOptions.named(DEVICE).withNonBlocking(true);
        if (enabled("flanneld.udp.tso")) {
            int tso = TunOptions.TUN_F_CSUM | TunOptions.TUN_F_TSO4;
            // USO needs a kernel of 6.2 or later; older ones refuse the unknown flags with EINVAL.
            if (enabled("flanneld.udp.uso") && tryOpen(plain.withVnetHeader(true)
                    .withOffload(tso | TunOptions.TUN_F_USO4 | TunOptions.TUN_F_USO6)) == null) {
                return new Offloads(true, true, false, false, false);
            }
            RuntimeException refused = tryOpen(plain.withVnetHeader(true).withOffload(tso));
            if (refused == null) {
                return new Offloads(true, false, false, false, false);
            }
            log.warn("udp backend: {} without offloads ({})", DEVICE, refused.getMessage());
        }
        tun = namespace == null ? TunDevice.open(plain) : TunDevice.openInNamespace(namespace, plain);
        return Offloads.NONE;
    }

    /** Opens flannel0 with {@code options} into {@link #tun}; null, or why the kernel refused. */
    private RuntimeException tryOpen(TunOptions options) {
        try {
            tun = namespace == null ? TunDevice.open(options) : TunDevice.openInNamespace(namespace, options);
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    /**
     * The UDP socket: a Netty epoll datagram channel bound to the interface address and the backend port, with
     * large buffers; returns its file descriptor, which the forwarding loops use.
     */
    private int openSocket() throws UnknownHostException {
        Epoll.ensureAvailability();
        socketGroup = new EpollEventLoopGroup(1, new DefaultThreadFactory("flannel-udp-socket", true));
        ChannelFactory<EpollDatagramChannel> factory = namespace == null
                ? () -> new EpollDatagramChannel(InternetProtocolFamily.IPv4)
                : () -> NetworkNamespaces.callIn(namespace, () -> new EpollDatagramChannel(InternetProtocolFamily.IPv4));
        ChannelFuture bound = new Bootstrap()
                .group(socketGroup)
                .channelFactory(factory)
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                .handler(new ChannelInboundHandlerAdapter())
                .bind(new InetSocketAddress(InetAddress.getByAddress(Ip4.toBytes(iface.address())), port))
                .awaitUninterruptibly();
        if (!bound.isSuccess()) {
            throw new IllegalStateException("udp backend: cannot bind " + Ip4.format(iface.address()) + ":" + port
                    + " (Backend.Port): " + bound.cause().getMessage(), bound.cause());
        }
        channel = (EpollDatagramChannel) bound.channel();
        socketFd = channel.fd().intValue();
        forceSocketBuffers();
        return socketFd;
    }

    private static boolean enabled(String property) {
        return !"false".equalsIgnoreCase(System.getProperty(property, "true"));
    }

    private boolean setIntOption(int level, int option, int value) {
        ByteBuffer v = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, value);
        return sys.setsockopt(socketFd, level, option, LibC.Native.address(v), 4) == 0;
    }

    /** The offloads the data path runs with (all off before {@link #start}). */
    public Offloads offloads() {
        Offloads current = offloads;
        return tunToUdp != null && current.udpGso() && !tunToUdp.udpGso()
                ? new Offloads(current.tso(), current.uso(), current.coalesce(), false, current.udpGro()) : current;
    }

    @Override
    public void apply(List<LeaseEvent> events) {
        List<LeaseEvent> effective = new ArrayList<>(events.size());
        for (LeaseEvent event : events) {
            if (event instanceof LeaseEvent.Added added && !TYPE.equals(added.lease().attrs().backend())) {
                // As flannel: a host running another backend cannot be reached this way. If it used to be udp, it
                // must stop being forwarded to.
                log.warn("udp backend: ignoring lease {} of backend type {}", added.lease().subnet(),
                        added.lease().attrs().backendType());
                effective.add(new LeaseEvent.Removed(added.lease()));
            } else {
                effective.add(event);
            }
        }
        // Only the lease watch thread applies events; the loops see the old table until the new one is complete.
        table.updateAndGet(t -> t.apply(effective));
    }

    /**
     * SO_RCVBUF/SO_SNDBUF are capped by net.core.rmem_max/wmem_max (about 200 KiB by default), which a burst of
     * datagrams overflows while the event loop is busy writing to the TUN device. The FORCE variants (root or
     * CAP_NET_ADMIN, which this daemon has anyway) ignore the cap; without the capability the capped size stays.
     */
    private void forceSocketBuffers() {
        if (!setIntOption(SOL_SOCKET, SO_RCVBUFFORCE, SOCKET_BUFFER)
                || !setIntOption(SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFFER)) {
            log.debug("udp backend: socket buffers stay capped: errno {}", LibC.Native.errno());
        }
    }

    private static List<Lease> udpLeases(List<Lease> peers) {
        List<Lease> kept = new ArrayList<>(peers.size());
        for (Lease lease : peers) {
            if (TYPE.equals(lease.attrs().backend())) {
                kept.add(lease);
            } else {
                log.warn("udp backend: ignoring lease {} of backend type {}", lease.subnet(),
                        lease.attrs().backendType());
            }
        }
        return kept;
    }

    @Override
    public int deviceIndex() {
        return deviceIndex;
    }

    @Override
    public int peerCount() {
        return table.get().size();
    }

    /** The current forwarding table (tests in this package look into it). */
    ForwardingTable forwardingTable() {
        return table.get();
    }

    /** Packets, bytes and drops so far; cheap enough for every metrics scrape. */
    public UdpCounters counters() {
        return CounterCells.snapshot(tunToUdpCounters, udpToTunCounters);
    }

    /** Stops both loops, closes the socket and the TUN device (which removes flannel0). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        shutdown();
    }

    private void shutdown() {
        stopLoops();
        // Last: neither loop may touch an fd once it is closed (the number could be reused by another open).
        if (channel != null) {
            channel.close().awaitUninterruptibly();
            channel = null;
            socketFd = -1;
        }
        if (socketGroup != null) {
            socketGroup.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).awaitUninterruptibly();
            socketGroup = null;
        }
        if (tun != null) {
            tun.close();
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
