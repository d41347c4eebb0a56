package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.daemon.HttpRoutes.Request;
import io.flanneld.daemon.HttpRoutes.Response;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** /healthz's answers from the status, without a socket. */
class HealthzHandlerTest {
    private static String answer(Supplier<HealthStatus> status, String method, String path) {
        Response r = new HealthzHandler(status).handle(new Request(method, path));
        return r.status() + " " + new String(r.body(), StandardCharsets.UTF_8) + (r.headers().isEmpty() ? "" : " " + r.headers());
    }

    @Test
    void statusIsAskedOnEveryRequest() {
        AtomicReference<HealthStatus> s = new AtomicReference<>(HealthStatus.ok());
        assertEquals("200 ok", answer(s::get, "GET", "/healthz"));
        s.set(HealthStatus.unhealthy("lease not held"));
        assertEquals("503 lease not held", answer(s::get, "GET", "/healthz"));
        assertEquals("503 lease not held", answer(s::get, "HEAD", "/healthz"));
    }

    @Test
    void noStatusOrAFailingOneIsUnhealthy() {
        assertEquals("503 health status unknown", answer(() -> null, "GET", "/healthz"));
        assertEquals("503 health check failed: java.lang.IllegalStateException: boom", answer(() -> {
            throw new IllegalStateException("boom");
        }, "GET", "/healthz"));
    }

    @Test
    void otherMethodsAndPathsBelowAreRefused() {
        assertEquals("405 method not allowed\n {Allow=GET, HEAD}", answer(HealthStatus::ok, "POST", "/healthz"));
        assertEquals("404 not found\n", answer(HealthStatus::ok, "GET", "/healthz/x"));
    }
}
