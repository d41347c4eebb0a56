package io.flanneld.daemon;

import io.flanneld.schema.Ip4;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@code /healthz} on {@code --healthz-ip}:{@code --healthz-port}: 200 "ok" while the supplied status is
 * healthy, else 503 with the reason as the body, so a liveness probe both fails and says why. Other handlers (e.g.
 * {@code /metrics}) can share the listener through {@link #addHandler}.
 *
 * <p>The listener is reachable by anything that can reach the node (the DaemonSet runs on the host network), and a
 * failing liveness probe restarts the daemon, so no client may be able to stop it answering. It is one Netty event
 * loop thread that never waits on a connection: handlers answer synchronously from memory. Every connection is
 * bounded:
 * <ul>
 *   <li>a request must arrive complete within {@link #HEADER_TIMEOUT} of the connection's accept or of its previous
 *       response, else the connection is closed (this also closes idle keep-alive connections);</li>
 *   <li>at most {@link #MAX_CONNECTIONS} are open; a new connection beyond that closes the oldest one, so a client
 *       holding connections open cannot lock out the next probe (refusing the newcomer instead would);</li>
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
    public static final String PATH = "/healthz";
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
    /** Warnings about evicted connections: at most one per interval, with the count since the last one. */
    private static final long EVICTION_WARNING_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
    private static final Logger LOG = LoggerFactory.getLogger(HealthServer.class);

    /** What a handler is asked: the method and the decoded path (no query). */
    public record Request(String method, String path) {
    }

    /**
     * A handler's answer. The server adds Content-Length and Connection, and sends no body for HEAD.
     *
     * @param headers further response headers, e.g. Allow (not copied: do not change the map or body afterwards)
     */
    public record Response(int status, String contentType, byte[] body, Map<String, String> headers) {
        public Response {
            Objects.requireNonNull(contentType, "contentType");
            Objects.requireNonNull(body, "body");
            Objects.requireNonNull(headers, "headers");
        }

        public Response(int status, String contentType, byte[] body) {
            this(status, contentType, body, Map.of());
        }

        /** A UTF-8 plain-text answer. */
        public static Response text(int status, String body) {
            return new Response(status, "text/plain; charset=utf-8", body.getBytes(StandardCharsets.UTF_8));
        }

        /** This response with one more header. */
        public Response withHeader(String name, String value) {
            Map<String, String> more = new LinkedHashMap<>(headers);
            more.put(name, value);
            return new Response(status, contentType, body, more);
        }
    }

    /**
     * Answers requests for a path. Runs on the listener's only thread, so it must answer from memory without
     * blocking: while it runs, no other request (including a liveness probe) is served.
     */
    @FunctionalInterface
    public interface Handler {
        Response handle(Request request);
    }

    private final EventLoopGroup group;
    private final Channel listener;
    private final Map<String, Handler> handlers;
    private final Connections connections;
    private final AtomicBoolean closed = new AtomicBoolean();

    private HealthServer(EventLoopGroup group, Channel listener, Map<String, Handler> handlers, Connections connections) {
        this.group = group;
        this.listener = listener;
        this.handlers = handlers;
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

        Map<String, Handler> handlers = new ConcurrentHashMap<>();
        handlers.put(PATH, new HealthHandler(status));
        Connections connections = new Connections(maxConnections);
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
                        ch.pipeline()
                                .addLast(new HttpServerCodec(4096, MAX_REQUEST_BYTES, MAX_REQUEST_BYTES))
                                .addLast(new Aggregator(MAX_REQUEST_BYTES))
                                .addLast(new Exchange(handlers, timeoutNanos));
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
        HealthServer hs = new HealthServer(group, listener, handlers, connections);
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
    public void addHandler(String path, Handler handler) {
        Objects.requireNonNull(handler, "handler");
        if (!path.startsWith("/") || (path.length() > 1 && path.endsWith("/"))) {
            throw new IllegalArgumentException("path must start and not end with '/': " + path);
        }
        if (handlers.putIfAbsent(path, handler) != null) {
            // A second registration for a path is a wiring bug, not a replacement.
            throw new IllegalArgumentException("path already served: " + path);
        }
    }

    /** Connections open now. */
    int openConnections() {
        return connections.open.get();
    }

    /** Connections closed because a newer one arrived while {@code maxConnections} were open. */
    long evictedConnections() {
        return connections.evicted.get();
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

    /** The handler registered for {@code path} or the closest path above it, else null. */
    private static Handler route(Map<String, Handler> handlers, String path) {
        String p = path;
        while (true) {
            Handler h = handlers.get(p);
            if (h != null) {
                return h;
            }
            int slash = p.lastIndexOf('/');
            if (slash <= 0) {
                return p.equals("/") ? null : handlers.get("/");
            }
            p = p.substring(0, slash);
        }
    }

    /** Open connections in accept order, touched only on the event loop (the counters are read by tests). */
    private static final class Connections {
        private final int max;
        private final ArrayDeque<Channel> byAge = new ArrayDeque<>();
        final AtomicInteger open = new AtomicInteger();
        final AtomicLong evicted = new AtomicLong();
        private long evictedSinceWarning;
        private long lastWarning = System.nanoTime() - EVICTION_WARNING_INTERVAL_NANOS;

        Connections(int max) {
            this.max = max;
        }

        void accepted(Channel ch) {
            byAge.addLast(ch);
            open.incrementAndGet();
            ch.closeFuture().addListener(f -> {
                byAge.remove(ch);
                open.decrementAndGet();
            });
            while (byAge.size() > max) {
                // The oldest has had the longest to send its request; a probe sends its own at once and is answered.
                Channel oldest = byAge.pollFirst();
                oldest.close();
                evicted.incrementAndGet();
                evictedSinceWarning++;
            }
            long now = System.nanoTime();
            if (evictedSinceWarning > 0 && now - lastWarning >= EVICTION_WARNING_INTERVAL_NANOS) {
                LOG.warn("{} connection(s) to {} closed early: more than {} open at once (the last from {})",
                        evictedSinceWarning, PATH, max, ch.remoteAddress());
                evictedSinceWarning = 0;
                lastWarning = now;
            }
        }
    }

    /** Answers an oversized request with 413 and closes, whether or not the client asked for keep-alive. */
    private static final class Aggregator extends HttpObjectAggregator {
        Aggregator(int maxContentLength) {
            super(maxContentLength);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            // The base class releases the message.
            Exchange.refuse(ctx, Response.text(413, "request too large\n"));
        }
    }

    /** One connection's requests: the deadline for the next one, routing, and the answer. */
    private static final class Exchange extends SimpleChannelInboundHandler<FullHttpRequest> {
        /** Set once a request was refused: what else arrives on the connection is read and dropped. */
        private static final AttributeKey<Boolean> REFUSED = AttributeKey.valueOf(Exchange.class, "refused");
        private final Map<String, Handler> handlers;
        private final long timeoutNanos;
        private ScheduledFuture<?> deadline;

        Exchange(Map<String, Handler> handlers, long timeoutNanos) {
            this.handlers = handlers;
            this.timeoutNanos = timeoutNanos;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            arm(ctx);
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            disarm();
            ctx.fireChannelInactive();
        }

        private void arm(ChannelHandlerContext ctx) {
            disarm();
            deadline = ctx.executor().schedule(() -> {
                ctx.close();
            }, timeoutNanos, TimeUnit.NANOSECONDS);
        }

        private void disarm() {
            if (deadline != null) {
                deadline.cancel(false);
                deadline = null;
            }
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            if (!ctx.channel().isActive() || ctx.channel().hasAttr(REFUSED)) {
                return; // closed (evicted, timed out) or refused while pipelined requests were being decoded
            }
            if (request.decoderResult().isFailure()) {
                refuse(ctx, request.decoderResult().cause() instanceof TooLongFrameException
                        ? Response.text(413, "request too large\n")
                        : Response.text(400, "bad request\n"));
                return;
            }
            boolean head = request.method().equals(HttpMethod.HEAD);
            if (!ctx.channel().isWritable()) {
                ctx.close(); // earlier answers are still unsent: the client is not reading them
                return;
            }
            Response response = answer(request);
            boolean keepAlive = request.protocolVersion().equals(HttpVersion.HTTP_1_1) && HttpUtil.isKeepAlive(request);
            if (keepAlive) {
                ctx.writeAndFlush(encode(response, head, true)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
                arm(ctx);
            } else {
                sendAndClose(ctx, response, head);
            }
        }

        private Response answer(FullHttpRequest request) {
            String path;
            try {
                path = URI.create(request.uri()).getPath();
            } catch (IllegalArgumentException e) {
                return Response.text(400, "bad request\n");
            }
            Handler handler = path == null ? null : route(handlers, path);
            if (handler == null) {
                return Response.text(404, "not found\n");
            }
            try {
                Response r = handler.handle(new Request(request.method().name(), path));
                if (r == null) {
                    throw new IllegalStateException("handler returned no response");
                }
                return r;
            } catch (RuntimeException e) {
                LOG.warn("{} {}: handler failed", request.method(), path, e);
                return Response.text(500, "internal error\n");
            }
        }

        private static void sendAndClose(ChannelHandlerContext ctx, Response response, boolean head) {
            ctx.writeAndFlush(encode(response, head, false)).addListener(ChannelFutureListener.CLOSE);
        }

        /**
         * Answers a request that will not be served (too large, malformed) and ends the connection. The client may
         * still be sending it: closing at once would make the kernel answer those bytes with a reset, which can
         * destroy the answer before the client reads it. So the output is shut after the answer, the rest of the
         * input is read and dropped, and the connection closes when the client closes its side or at the deadline
         * already running (at most the header timeout).
         */
        static void refuse(ChannelHandlerContext ctx, Response response) {
            Channel ch = ctx.channel();
            ch.attr(REFUSED).set(Boolean.TRUE);
            ctx.writeAndFlush(encode(response, false, false)).addListener((ChannelFuture f) -> {
                if (f.isSuccess() && ch instanceof DuplexChannel duplex) {
                    duplex.shutdownOutput();
                } else {
                    ch.close();
                }
            });
        }

        private static FullHttpResponse encode(Response r, boolean head, boolean keepAlive) {
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()),
                    head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(r.body()));
            r.headers().forEach((name, value) -> response.headers().set(name, value));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType());
            // HEAD describes the GET answer: its length, without the body.
            response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, r.body().length);
            if (!keepAlive) {
                response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            return response;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Resets and the like: nothing to answer, and no reason to fill the log at a client's request.
            LOG.debug("healthz connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    private static final class HealthHandler implements Handler {
        private final Supplier<HealthStatus> status;

        HealthHandler(Supplier<HealthStatus> status) {
            this.status = status;
        }

        @Override
        public Response handle(Request request) {
            String method = request.method();
            if (!request.path().equals(PATH)) {
                return Response.text(404, "not found\n");
            }
            if (!method.equals("GET") && !method.equals("HEAD")) {
                return Response.text(405, "method not allowed\n").withHeader("Allow", "GET, HEAD");
            }
            HealthStatus s = current();
            return Response.text(s.healthy() ? 200 : 503, s.healthy() ? "ok" : s.reason());
        }

        private HealthStatus current() {
            try {
                HealthStatus s = status.get();
                return s != null ? s : HealthStatus.unhealthy("health status unknown");
            } catch (RuntimeException e) {
                return HealthStatus.unhealthy("health check failed: " + e);
            }
        }
    }
}
