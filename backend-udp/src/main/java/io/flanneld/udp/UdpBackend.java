package io.flanneld.udp;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.net.Ipv4;
import io.flanneld.net.Ipv4Prefix;
import io.flanneld.net.Link;
import io.flanneld.net.NetworkNamespaces;
import io.flanneld.net.Rtnetlink;
import io.flanneld.net.TunDevice;
import io.flanneld.net.TunOptions;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * flannel's {@code udp} backend: the TUN device {@code flannel0} holds the whole overlay Network's route, and this
 * process carries every packet the kernel routes into it to the peer host whose lease holds the destination, as the
 * entire payload of a UDP datagram (port {@code Backend.Port}, default 8285), and writes what peers send into it.
 * The wire format is flannel's, so hosts running flannel's own udp backend interoperate.
 *
 * <p>Threads: one forwarding thread per direction, so both cores work. {@link TunToUdp} reads flannel0 and sends
 * with sendmmsg; the single Netty epoll event loop receives (recvmmsg) and runs {@link UdpToTun}. Both read the
 * current {@link ForwardingTable} snapshot; {@link #apply} builds a new one and swaps it in, so lease changes never
 * pause traffic.
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
    static final int SEND_BATCH = Math.max(1, Math.min(TunToUdp.BATCH, Integer.getInteger("flanneld.udp.txBatch",
            TunToUdp.BATCH)));
    private static final int SOCKET_BUFFER = 4 << 20;
    private static final int SOL_SOCKET = 1;
    private static final int SO_SNDBUFFORCE = 32;
    private static final int SO_RCVBUFFORCE = 33;

    private final Rtnetlink nl;
    private final ExternalInterface iface;
    private final NetworkConfig config;
    private final String namespace;
    private final int port;

    private final AtomicReference<ForwardingTable> table = new AtomicReference<>(ForwardingTable.EMPTY);
    private final CounterCells tunToUdpCounters = new CounterCells();
    private final CounterCells udpToTunCounters = new CounterCells();

    private TunDevice tun;
    private EventLoopGroup group;
    private Channel channel;
    private TunToUdp tunToUdp;
    private Thread tunToUdpThread;
    private boolean started;
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
        Epoll.ensureAvailability();
        int localAddress = local.subnet().address();
        try {
            TunOptions options = TunOptions.named(DEVICE).withNonBlocking(true);
            tun = namespace == null ? TunDevice.open(options) : TunDevice.openInNamespace(namespace, options);
            Link link = nl.links().byName(tun.name()).orElseThrow(
                    () -> new IllegalStateException("TUN device " + DEVICE + " vanished after creation"));
            // The Network's prefix length, not the lease's: the connected route then sends all of the overlay here.
            nl.addresses().replace(link.index(),
                    Ipv4Prefix.of(Ipv4.fromInt(localAddress), config.network().prefixLength()));
            nl.links().setMtu(link.index(), mtu());
            DeviceSysctls.configure(tun.name(), namespace);
            nl.links().setUp(link.index());

            table.set(ForwardingTable.of(udpLeases(peers)));

            FileDescriptor tunFd = new FileDescriptor(tun.fd());
            group = new EpollEventLoopGroup(1, new DefaultThreadFactory("flannel-udp-rx", true));
            int payload = Math.max(iface.mtu(), 1500);
            ChannelFactory<EpollDatagramChannel> factory = namespace == null
                    ? () -> new EpollDatagramChannel(InternetProtocolFamily.IPv4)
                    : () -> NetworkNamespaces.callIn(namespace, () -> new EpollDatagramChannel(InternetProtocolFamily.IPv4));
            Bootstrap bootstrap = new Bootstrap()
                    .group(group)
                    .channelFactory(factory)
                    .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                    .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                    // recvmmsg: several datagrams per system call into one pooled buffer of RECV_BATCH slots.
                    .option(EpollChannelOption.MAX_DATAGRAM_PAYLOAD_SIZE, RECV_BATCH > 1 ? payload : 0)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(payload * RECV_BATCH))
                    .handler(new UdpToTun(tunFd, table, udpToTunCounters));
            InetSocketAddress bindTo = new InetSocketAddress(Ipv4.fromInt(iface.address()), port);
            channel = bootstrap.bind(bindTo).sync().channel();
            int socketFd = ((EpollDatagramChannel) channel).fd().intValue();
            forceSocketBuffers((EpollDatagramChannel) channel);

            tunToUdp = new TunToUdp(tunFd, socketFd, port, localAddress, table, tunToUdpCounters, SEND_BATCH);
            tunToUdpThread = new Thread(tunToUdp, "flannel-udp-tx");
            tunToUdpThread.setDaemon(true);
            tunToUdpThread.start();
            log.info("udp backend: {} {}/{} mtu {}, listening on {}:{}, {} peer(s)", DEVICE, Ip4.format(localAddress),
                    config.network().prefixLength(), mtu(), Ip4.format(iface.address()), port, table.get().size());
        } catch (Exception | Error e) {
            shutdown();
            throw e;
        }
    }

    @Override
    public void apply(List<LeaseEvent> events) {
        List<LeaseEvent> effective = new ArrayList<>(events.size());
        for (LeaseEvent event : events) {
            if (event instanceof LeaseEvent.Added added && !TYPE.equals(added.lease().attrs().backendType())) {
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
    private static void forceSocketBuffers(EpollDatagramChannel channel) {
        try {
            io.netty.channel.unix.Socket socket = (io.netty.channel.unix.Socket) channel.fd();
            socket.setIntOpt(SOL_SOCKET, SO_RCVBUFFORCE, SOCKET_BUFFER);
            socket.setIntOpt(SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFFER);
        } catch (java.io.IOException e) {
            log.debug("udp backend: socket buffers stay capped: {}", e.toString());
        }
    }

    private static List<Lease> udpLeases(List<Lease> peers) {
        List<Lease> kept = new ArrayList<>(peers.size());
        for (Lease lease : peers) {
            if (TYPE.equals(lease.attrs().backendType())) {
                kept.add(lease);
            } else {
                log.warn("udp backend: ignoring lease {} of backend type {}", lease.subnet(),
                        lease.attrs().backendType());
            }
        }
        return kept;
    }

    @Override
    public int peerCount() {
        return table.get().size();
    }

    /** The current forwarding table (for logs and tests). */
    public ForwardingTable forwardingTable() {
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
        if (tunToUdp != null) {
            tunToUdp.stop();
            try {
                tunToUdpThread.join(2_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (channel != null) {
            channel.close().awaitUninterruptibly(2_000);
        }
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3_000);
        }
        // Last: neither loop may touch the fd once it is closed (the number could be reused by another open).
        if (tun != null) {
            tun.close();
        }
    }
}
