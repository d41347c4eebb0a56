package io.flanneld.daemon;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import io.flanneld.net.Ipv4;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@code /healthz} on {@code --healthz-ip}:{@code --healthz-port}: 200 "ok" while the supplied status is
 * healthy, else 503 with the reason as the body, so a liveness probe both fails and says why. Other handlers (e.g.
 * {@code /metrics}) can share the listener through {@link #addHandler}.
 *
 * <p>Uses the JDK's built-in HTTP server: a probe endpoint needs no extra dependency. Whether to serve at all is the
 * daemon's decision (flanneld only does so when {@code --healthz-port} is set); this class binds whatever it is
 * given, port 0 meaning any free port (see {@link #port()}).
 */
public final class HealthServer implements AutoCloseable {
    public static final String PATH = "/healthz";
    /** Two threads: a slow /metrics scrape must not stall a liveness probe. */
    private static final int THREADS = 2;
    /** Seconds close() lets an exchange in progress finish. */
    private static final int STOP_DELAY_SECONDS = 1;
    private static final Logger LOG = LoggerFactory.getLogger(HealthServer.class);

    private final HttpServer server;
    private final ExecutorService executor;
    private final Set<String> paths = new HashSet<>(Set.of(PATH));

    private HealthServer(HttpServer server, ExecutorService executor) {
        this.server = server;
        this.executor = executor;
    }

    /**
     * Binds {@code ip}:{@code port} and starts serving {@code /healthz}.
     *
     * @param ip the address to listen on, a literal such as "0.0.0.0" or "127.0.0.1" (never resolved through DNS)
     * @param status asked on every request; may throw, which counts as unhealthy
     * @throws IOException if the address cannot be bound (e.g. the port is taken)
     */
    public static HealthServer start(String ip, int port, Supplier<HealthStatus> status) throws IOException {
        Objects.requireNonNull(status, "status");
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port must be 0..65535: " + port);
        }
        InetAddress address = InetAddress.getByAddress(literalBytes(ip));
        HttpServer server = HttpServer.create(new InetSocketAddress(address, port), 0);
        AtomicInteger n = new AtomicInteger();
        ExecutorService executor = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "healthz-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(executor);
        server.createContext(PATH, new HealthHandler(status));
        server.start();
        HealthServer hs = new HealthServer(server, executor);
        LOG.info("serving {} on {}:{}", PATH, ip, hs.port());
        return hs;
    }

    /** The port actually bound: the one asked for, or the one the kernel picked for port 0. */
    public int port() {
        return server.getAddress().getPort();
    }

    /**
     * Serves {@code path} (and, as the JDK server does, every path below it) with {@code handler} on the same
     * listener. Works before or after requests have started arriving.
     *
     * @throws IllegalArgumentException if the path is already served
     */
    public void addHandler(String path, HttpHandler handler) {
        Objects.requireNonNull(handler, "handler");
        // The JDK server silently keeps both contexts for a repeated path; a second registration is a wiring bug.
        synchronized (paths) {
            if (!paths.add(path)) {
                throw new IllegalArgumentException("path already served: " + path);
            }
        }
        server.createContext(path, handler);
    }

    /** Stops listening, letting exchanges in progress finish for up to a second. */
    @Override
    public void close() {
        server.stop(STOP_DELAY_SECONDS);
        executor.shutdownNow();
    }

    /** IPv4 or IPv6 literal to bytes, refusing host names: a listen address must not depend on DNS. */
    private static byte[] literalBytes(String ip) {
        Objects.requireNonNull(ip, "ip");
        if (!ip.contains(":")) {
            return Ipv4.parse(ip).getAddress();
        }
        try {
            // With a colon the JDK only ever parses an IPv6 literal, it never looks the string up.
            return InetAddress.getByName(ip).getAddress();
        } catch (IOException e) {
            throw new IllegalArgumentException("healthz address must be an IP literal: " + ip, e);
        }
    }

    private static final class HealthHandler implements HttpHandler {
        private final Supplier<HealthStatus> status;

        HealthHandler(Supplier<HealthStatus> status) {
            this.status = status;
        }

        @Override
        public void handle(HttpExchange exchange) throws IOException {
            try (exchange) {
                String method = exchange.getRequestMethod();
                if (!exchange.getRequestURI().getPath().equals(PATH)) {
                    respond(exchange, 404, "not found\n");
                } else if (!method.equals("GET") && !method.equals("HEAD")) {
                    exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                    respond(exchange, 405, "method not allowed\n");
                } else {
                    HealthStatus s = current();
                    respond(exchange, s.healthy() ? 200 : 503, s.healthy() ? "ok" : s.reason());
                }
            }
        }

        private HealthStatus current() {
            try {
                HealthStatus s = status.get();
                return s != null ? s : HealthStatus.unhealthy("health status unknown");
            } catch (RuntimeException e) {
                return HealthStatus.unhealthy("health check failed: " + e);
            }
        }

        private static void respond(HttpExchange exchange, int code, String body) throws IOException {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
            boolean head = exchange.getRequestMethod().equals("HEAD");
            // -1: no body; HEAD must not carry one even though its headers describe the GET answer.
            exchange.sendResponseHeaders(code, head ? -1 : bytes.length);
            if (!head) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        }
    }
}
