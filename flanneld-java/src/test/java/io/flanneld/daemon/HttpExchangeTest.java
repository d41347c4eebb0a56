package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.daemon.HttpRoutes.Response;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.embedded.EmbeddedChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One connection's HTTP on an in-memory channel (no socket): the answers, keep-alive, refusals and the deadline. An
 * EmbeddedChannel has no half-close, so a refused connection closes at once instead of shutting its output.
 */
class HttpExchangeTest {
    private static final long TIMEOUT_MS = 1000;
    private static final int MAX_REQUEST_BYTES = 256;
    private final HttpRoutes routes = new HttpRoutes();
    private EmbeddedChannel ch;

    HttpExchangeTest() {
        routes.add("/healthz", new HealthzHandler(HealthStatus::ok));
        routes.add("/echo", req -> Response.text(200, req.method() + " " + req.path()).withHeader("X-Echo", "1"));
    }

    @BeforeEach
    void connect() {
        // The clock stops before the channel becomes active: the deadline is scheduled on activation, and a clock
        // frozen after it would leave the test's "1 ms before the deadline" already past it on a slow machine.
        ch = new EmbeddedChannel(false, false, new ChannelInitializer<EmbeddedChannel>() {
            @Override
            protected void initChannel(EmbeddedChannel c) {
                HttpExchange.install(c.pipeline(), routes, TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS), MAX_REQUEST_BYTES);
            }
        });
        ch.freezeTime();
        try {
            ch.register();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Sends {@code request} and returns everything written back. */
    private String exchange(String request) {
        ch.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.ISO_8859_1));
        StringBuilder out = new StringBuilder();
        for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }

    private void advance(long millis) {
        ch.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
        ch.runScheduledPendingTasks();
    }

    @Test
    void keepAliveAnswerWithHeadersAndLength() {
        String a = exchange("GET /echo/x?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
        assertTrue(a.startsWith("HTTP/1.1 200 OK\r\n"), a);
        assertTrue(a.contains("X-Echo: 1\r\n") && a.contains("content-type: text/plain; charset=utf-8\r\n"), a);
        assertTrue(a.contains("content-length: 11\r\n") && a.endsWith("\r\n\r\nGET /echo/x"), a);
        assertFalse(a.contains("connection: close"), a);
        assertTrue(ch.isOpen(), "HTTP/1.1 keeps the connection");
        assertTrue(exchange("GET /nowhere HTTP/1.1\r\nHost: h\r\n\r\n").startsWith("HTTP/1.1 404 Not Found\r\n"));
    }

    @Test
    void headHasTheLengthButNoBody() {
        String a = exchange("HEAD /healthz HTTP/1.1\r\nHost: h\r\n\r\n");
        assertTrue(a.startsWith("HTTP/1.1 200 OK\r\n") && a.contains("content-length: 2\r\n") && a.endsWith("\r\n\r\n"), a);
    }

    @Test
    void closeIsAnsweredAndHonoured() {
        String a = exchange("GET /healthz HTTP/1.0\r\n\r\n");
        assertTrue(a.startsWith("HTTP/1.1 200 OK\r\n") && a.contains("connection: close\r\n") && a.endsWith("ok"), a);
        assertFalse(ch.isOpen());

        connectAgain();
        assertTrue(exchange("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n").contains("connection: close\r\n"));
        assertFalse(ch.isOpen());
    }

    @Test
    void oversizedAndMalformedRequestsAreRefused() {
        String body = "x".repeat(MAX_REQUEST_BYTES + 1);
        String a = exchange("POST /echo HTTP/1.1\r\nContent-Length: " + body.length() + "\r\n\r\n" + body);
        assertTrue(a.startsWith("HTTP/1.1 413 Request Entity Too Large\r\n") && a.endsWith("request too large\n"), a);
        assertFalse(ch.isOpen());

        connectAgain();
        a = exchange("GET /echo HTTP/1.1\r\nX-Big: " + "y".repeat(MAX_REQUEST_BYTES) + "\r\n\r\n");
        assertTrue(a.startsWith("HTTP/1.1 413 ") && a.contains("connection: close\r\n"), a);
        assertFalse(ch.isOpen());

        connectAgain();
        a = exchange("GET /echo HTTP/1.1\r\nContent-Length: many\r\n\r\n");
        assertTrue(a.startsWith("HTTP/1.1 400 Bad Request\r\n") && a.endsWith("bad request\n"), a);
        assertFalse(ch.isOpen());
    }

    @Test
    void eachResponseRestartsTheDeadline() {
        advance(TIMEOUT_MS - 200);
        assertTrue(ch.isOpen());
        assertTrue(exchange("GET /healthz HTTP/1.1\r\n\r\n").startsWith("HTTP/1.1 200 OK"));
        advance(TIMEOUT_MS - 200);
        assertTrue(ch.isOpen(), "the answer restarted the deadline");
        advance(300);
        assertFalse(ch.isOpen(), "idle past the deadline");
    }

    @Test
    void aPartialRequestIsClosedAtTheDeadline() {
        assertEquals("", exchange("GET /healthz HTTP/1.1\r\nHost:"));
        advance(TIMEOUT_MS - 1);
        assertTrue(ch.isOpen());
        advance(1);
        assertFalse(ch.isOpen());
    }

    private void connectAgain() {
        ch.finishAndReleaseAll();
        connect();
    }
}
