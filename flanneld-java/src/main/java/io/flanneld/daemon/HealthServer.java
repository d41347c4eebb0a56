package io.flanneld.daemon;

import io.flanneld.schema.Ip4;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listener on {@code --healthz-ip}:{@code --healthz-port}: serves {@code /healthz} ({@link HealthzHandler}) and
 * whatever else is added through {@link #addHandler} (e.g. {@code /metrics}). This class binds, bounds and closes;
 * {@link HttpExchange} speaks HTTP on each connection and {@link HttpRoutes} chooses the answer.
 *
 * <p>The listener is reachable by anything that can reach the node (the DaemonSet runs on the host network), and a
 * failing liveness probe restarts the daemon, so no client may be able to stop it answering. It is one Netty event
 * loop thread that never waits on a connection: handlers answer synchronously from memory. Every connection is
 * bounded:
 * <ul>
 *   <li>a request must arrive complete within {@link #HEADER_TIMEOUT} of the connection's accept or of its previous
 *       response, else the connection is closed (this also closes idle keep-alive connections);</li>
 *   <li>at most {@link #MAX_CONNECTIONS} are open; a new connection beyond that closes the oldest one
 *       ({@link ConnectionLimit});</li>
 *   <li>a request whose headers or body exceed {@link #MAX_REQUEST_BYTES} gets 413, a malformed one 400, and the
 *       connection is closed;</li>
 *   <li>a client that sends requests without reading the answers is closed once the unsent answers pass
 *       {@link #MAX_UNSENT_BYTES} (one answer is always sent, however large).</li>
 * </ul>
 * Memory therefore stays within {@code MAX_CONNECTIONS} times a few of those buffers, whatever the clients do.
 *
 * <p>Whether to serve at all is the daemon's decision (flanneld only does so when {@code --healthz-port} is set);
 * this class binds whatever it is given, port 0 meaning any free port (see {@link #port()}).
 */
public final class HealthServer implements AutoCloseable {
    public static final String PATH = HealthzHandler.PATH;
    /** How long a connection may take to deliver a complete request, counted from accept or the last response. */
    static final Duration HEADER_TIMEOUT = Duration.ofSeconds(5);
    /**
     * Open connections at most. A probe and a scrape need one each; 64 leaves room for several scrapers and probes
     * while keeping the worst case small: a connection holds at most one read (16 KiB), a partial request, and
     * {@link #MAX_UNSENT_BYTES} plus one answer (a /metrics page is about 10 KiB), under 100 KiB, so 64 of them stay
     * under about 6 MiB.
     */
    static final int MAX_CONNECTIONS = 64;
    /** Largest request headers, and largest body (the request line: 4 KiB); a probe or a scrape sends a few hundred bytes. */
    static final int MAX_REQUEST_BYTES = 8 * 1024;
    /** Answers waiting for a client to read them, beyond which it is closed instead of answered again. */
    static final int MAX_UNSENT_BYTES = 16 * 1024;
    /** How long close() lets the event loop finish before it is stopped regardless. */
    private static final long SHUTDOWN_TIMEOUT_MILLIS = 100;
    private static final Logger LOG = LoggerFactory.getLogger(HealthServer.class);

    private final EventLoopGroup group;
    private final Channel listener;
    private final HttpRoutes routes;
    private final ConnectionLimit connections;
    private final AtomicBoolean closed = new AtomicBoolean();

    private HealthServer(EventLoopGroup group, Channel listener, HttpRoutes routes, ConnectionLimit connections) {
        this.group = group;
        this.listener = listener;
        this.routes = routes;
        this.connections = connections;
    }

    /**
     * Binds {@code ip}:{@code port} and starts serving {@code /healthz}.
     *
     * @param ip the address to listen on, a literal such as "0.0.0.0" or "127.0.0.1" (never resolved through DNS)
     * @param status asked on every request, on the listener's thread; may throw, which counts as unhealthy
     * @throws IOException if the address cannot be bound (e.g. the port is taken)
     */
    public static HealthServer start(String ip, int port, Supplier<HealthStatus> status) throws IOException {
        return start(ip, port, status, HEADER_TIMEOUT, MAX_CONNECTIONS);
    }

    /** {@link #start(String, int, Supplier)} with other bounds, for tests. */
    static HealthServer start(String ip, int port, Supplier<HealthStatus> status, Duration headerTimeout, int maxConnections)
            throws IOException {
        Objects.requireNonNull(status, "status");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535: " + port);
        }
        if (headerTimeout.isNegative() || headerTimeout.isZero() || maxConnections < 1) {
            throw new IllegalArgumentException("header timeout and connection bound must be positive");
        }
        InetAddress address = InetAddress.getByAddress(literalBytes(ip));

        HttpRoutes routes = new HttpRoutes();
        routes.add(PATH, new HealthzHandler(status));
        ConnectionLimit connections = new ConnectionLimit(maxConnections);
        long timeoutNanos = headerTimeout.toNanos();

        boolean epoll = Epoll.isAvailable();
        DefaultThreadFactory threads = new DefaultThreadFactory("healthz", true);
        EventLoopGroup group = epoll ? new EpollEventLoopGroup(1, threads) : new NioEventLoopGroup(1, threads);
        Class<? extends ServerSocketChannel> channelType = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(channelType)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(MAX_UNSENT_BYTES / 2, MAX_UNSENT_BYTES))
                // Reads of at most 16 KiB: the decoder keeps no more than one read beyond its limits.
                .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(64, 1024, 16 * 1024))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.accepted(ch);
                        HttpExchange.install(ch.pipeline(), routes, timeoutNanos, MAX_REQUEST_BYTES);
                    }
                });
        Channel listener;
        try {
            listener = bootstrap.bind(new InetSocketAddress(address, port)).syncUninterruptibly().channel();
        } catch (Exception e) {
            // Netty rethrows the bind's checked exception (BindException, or its native equivalent) unchecked.
            group.shutdownGracefully(0, SHUTDOWN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
            throw new IOException("cannot listen on " + ip + ":" + port + ": " + e.getMessage(), e);
        }
        HealthServer hs = new HealthServer(group, listener, routes, connections);
        LOG.info("serving {} on {}:{} ({}, at most {} connections, {} ms per request)", PATH, ip, hs.port(),
                epoll ? "epoll" : "nio", maxConnections, headerTimeout.toMillis());
        return hs;
    }

    /** The port actually bound: the one asked for, or the one the kernel picked for port 0. */
    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    /**
     * Serves {@code path} and every path below it (e.g. {@code /metrics/x}) with {@code handler} on the same
     * listener; the longest registered path wins. Works before or after requests have started arriving.
     *
     * @param path "/" or a path starting with "/" and not ending with one
     * @throws IllegalArgumentException if the path is already served or is not such a path
     */
    public void addHandler(String path, HttpRoutes.Handler handler) {
        routes.add(path, handler);
    }

    /** Connections open now. */
    int openConnections() {
        return connections.open();
    }

    /** Connections closed because a newer one arrived while {@code maxConnections} were open. */
    long evictedConnections() {
        return connections.evicted();
    }

    /**
     * Stops listening and closes every connection at once: a request in flight is dropped, which a probe retries.
     * Returns once the listener's thread has ended, within about {@value #SHUTDOWN_TIMEOUT_MILLIS} ms.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        // No quiet period: the loop closes the listener and every connection, runs what is queued, and ends.
        group.shutdownGracefully(0, SHUTDOWN_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)
                .awaitUninterruptibly(SHUTDOWN_TIMEOUT_MILLIS * 10, TimeUnit.MILLISECONDS);
    }

    /** IPv4 or IPv6 literal to bytes, refusing host names: a listen address must not depend on DNS. */
    private static byte[] literalBytes(String ip) {
        Objects.requireNonNull(ip, "ip");
        if (!ip.contains(":")) {
            return Ip4.toBytes(Ip4.parse(ip));
        }
        try {
            // With a colon the JDK only ever parses an IPv6 literal, it never looks the string up.
            return InetAddress.getByName(ip).getAddress();
        } catch (IOException e) {
            throw new IllegalArgumentException("healthz address must be an IP literal: " + ip, e);
        }
    }
}
