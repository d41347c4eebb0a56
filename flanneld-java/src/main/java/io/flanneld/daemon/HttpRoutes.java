package io.flanneld.daemon;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The paths {@link HealthServer} serves and the answer to a request: the handler registered for the path or the
 * closest path above it, 400 for a URI that does not parse, 404 for an unserved path, 500 when the handler fails.
 * No I/O: {@link HttpExchange} turns the answer into HTTP.
 */
public final class HttpRoutes {
    // Logged under the listener's name, the subsystem an operator knows.
    private static final Logger LOG = LoggerFactory.getLogger(HealthServer.class);

    /** What a handler is asked: the method and the decoded path (no query). */
    public record Request(String method, String path) {
    }

    /**
     * A handler's answer. The exchange adds Content-Length and Connection, and sends no body for HEAD.
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

    private final Map<String, Handler> handlers = new ConcurrentHashMap<>();

    /**
     * Serves {@code path} and every path below it (e.g. {@code /metrics/x}) with {@code handler}; the longest
     * registered path wins. Safe while requests are being answered.
     *
     * @param path "/" or a path starting with "/" and not ending with one
     * @throws IllegalArgumentException if the path is already served or is not such a path
     */
    void add(String path, Handler handler) {
        Objects.requireNonNull(handler, "handler");
        if (!path.startsWith("/") || (path.length() > 1 && path.endsWith("/"))) {
            throw new IllegalArgumentException("path must start and not end with '/': " + path);
        }
        if (handlers.putIfAbsent(path, handler) != null) {
            // A second registration for a path is a wiring bug, not a replacement.
            throw new IllegalArgumentException("path already served: " + path);
        }
    }

    /** The answer to {@code method} on {@code uri} (the request line's target, query and all). */
    Response answer(String method, String uri) {
        String path;
        try {
            path = URI.create(uri).getPath();
        } catch (IllegalArgumentException e) {
            return Response.text(400, "bad request\n");
        }
        Handler handler = path == null ? null : route(path);
        if (handler == null) {
            return Response.text(404, "not found\n");
        }
        try {
            Response r = handler.handle(new Request(method, path));
            if (r == null) {
                throw new IllegalStateException("handler returned no response");
            }
            return r;
        } catch (RuntimeException e) {
            LOG.warn("{} {}: handler failed", method, path, e);
            return Response.text(500, "internal error\n");
        }
    }

    /** The handler registered for {@code path} or the closest path above it, else null. */
    private Handler route(String path) {
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
}
