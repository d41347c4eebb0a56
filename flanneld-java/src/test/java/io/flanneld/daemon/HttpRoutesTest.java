package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.flanneld.daemon.HttpRoutes.Response;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Routing and the answers that do not come from a handler, without a socket. */
class HttpRoutesTest {
    private final HttpRoutes routes = new HttpRoutes();

    private static String text(Response r) {
        return r.status() + " " + new String(r.body(), StandardCharsets.UTF_8);
    }

    @Test
    void longestRegisteredPathAboveTheRequestWins() {
        routes.add("/metrics", req -> Response.text(200, "m " + req.method() + " " + req.path()));
        routes.add("/metrics/x", req -> Response.text(200, "x " + req.path()));
        assertEquals("200 m GET /metrics", text(routes.answer("GET", "/metrics?name=a")));
        assertEquals("200 m POST /metrics/y/z", text(routes.answer("POST", "/metrics/y/z")));
        assertEquals("200 x /metrics/x/1", text(routes.answer("GET", "/metrics/x/1")));
        assertEquals("200 m GET /metrics/a b", text(routes.answer("GET", "/metrics/a%20b")), "the path is decoded");
        assertEquals("404 not found\n", text(routes.answer("GET", "/metricsx")));
        assertEquals("404 not found\n", text(routes.answer("GET", "/")));
    }

    @Test
    void rootServesWhatNothingElseDoes() {
        routes.add("/", req -> Response.text(200, "root " + req.path()));
        routes.add("/a", req -> Response.text(200, "a"));
        assertEquals("200 root /", text(routes.answer("GET", "/")));
        assertEquals("200 root /b/c", text(routes.answer("GET", "/b/c")));
        assertEquals("200 a", text(routes.answer("GET", "/a/b")));
    }

    @Test
    void badUriIs400AndFailingHandlersAre500() {
        routes.add("/throws", req -> {
            throw new IllegalStateException("boom");
        });
        routes.add("/null", req -> null);
        assertEquals("400 bad request\n", text(routes.answer("GET", "/a b")));
        assertEquals("404 not found\n", text(routes.answer("GET", "*")), "a target that is not a path under /");
        assertEquals("500 internal error\n", text(routes.answer("GET", "/throws")));
        assertEquals("500 internal error\n", text(routes.answer("GET", "/null")));
    }

    @Test
    void pathsAreCheckedAndServedOnce() {
        routes.add("/a", req -> Response.text(200, ""));
        assertThrows(IllegalArgumentException.class, () -> routes.add("/a", req -> Response.text(200, "")));
        assertThrows(IllegalArgumentException.class, () -> routes.add("a", req -> Response.text(200, "")));
        assertThrows(IllegalArgumentException.class, () -> routes.add("/b/", req -> Response.text(200, "")));
        assertThrows(NullPointerException.class, () -> routes.add("/c", null));
    }

    @Test
    void responseWithHeaderKeepsTheRest() {
        Response r = Response.text(405, "no").withHeader("Allow", "GET").withHeader("X", "1");
        assertEquals("text/plain; charset=utf-8", r.contentType());
        assertEquals("{Allow=GET, X=1}", r.headers().toString());
        assertEquals("405 no", text(r));
    }
}
