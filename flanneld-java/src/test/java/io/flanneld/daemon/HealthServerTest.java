package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** /healthz over real HTTP on 127.0.0.1, an ephemeral port. */
class HealthServerTest {
    private final AtomicReference<HealthStatus> status = new AtomicReference<>(HealthStatus.ok());
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private HealthServer server;

    @BeforeEach
    void start() throws IOException {
        server = HealthServer.start("127.0.0.1", 0, status::get);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpResponse<String> request(String method, String path) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .timeout(Duration.ofSeconds(5))
                .method(method, HttpRequest.BodyPublishers.noBody())
                .build();
        return client.send(req, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void healthyAnswers200Ok() throws Exception {
        HttpResponse<String> r = request("GET", "/healthz");
        assertEquals(200, r.statusCode());
        assertEquals("ok", r.body());
        assertTrue(server.port() > 0);
    }

    @Test
    void unhealthyAnswers503WithTheReason() throws Exception {
        status.set(HealthStatus.unhealthy("lease not held"));
        HttpResponse<String> r = request("GET", "/healthz");
        assertEquals(503, r.statusCode());
        assertEquals("lease not held", r.body());

        status.set(HealthStatus.ok());
        assertEquals(200, request("GET", "/healthz").statusCode(), "asked again on every request");
    }

    @Test
    void throwingStatusCountsAsUnhealthy() throws Exception {
        HealthServer failing = HealthServer.start("127.0.0.1", 0, () -> {
            throw new IllegalStateException("backend not running");
        });
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + failing.port() + "/healthz"))
                            .timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(503, r.statusCode());
            assertTrue(r.body().contains("backend not running"), r.body());
        } finally {
            failing.close();
        }
    }

    @Test
    void headHasNoBodyAndOtherMethodsAreRefused() throws Exception {
        HttpResponse<String> head = request("HEAD", "/healthz");
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());

        HttpResponse<String> post = request("POST", "/healthz");
        assertEquals(405, post.statusCode());
        assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(""));
    }

    @Test
    void otherPathsAreNotFound() throws Exception {
        assertEquals(404, request("GET", "/healthz/extra").statusCode());
        assertEquals(404, request("GET", "/").statusCode());
    }

    @Test
    void extraHandlerSharesTheListener() throws Exception {
        server.addHandler("/metrics", req -> HttpRoutes.Response.text(200, "flannel_up 1\n"));
        HttpResponse<String> r = request("GET", "/metrics");
        assertEquals(200, r.statusCode());
        assertEquals("flannel_up 1\n", r.body());
        assertEquals(200, request("GET", "/healthz").statusCode());
        assertThrows(IllegalArgumentException.class, () -> server.addHandler("/metrics", req -> null));
    }

    @Test
    void handlersServeThePathsBelowTheirsAndFailuresAre500() throws Exception {
        server.addHandler("/metrics", req -> HttpRoutes.Response.text(200, req.method() + " " + req.path()));
        server.addHandler("/broken", req -> {
            throw new IllegalStateException("bug");
        });
        assertEquals("GET /metrics/x", request("GET", "/metrics/x?name[]=1").body());
        assertEquals(404, request("GET", "/metricsx").statusCode());
        HttpResponse<String> head = request("HEAD", "/metrics");
        assertEquals(200, head.statusCode());
        assertEquals("", head.body());
        assertEquals("13", head.headers().firstValue("Content-Length").orElse(""), "the length of the body not sent");
        assertEquals(500, request("GET", "/broken").statusCode());
        assertEquals(200, request("GET", "/healthz?verbose").statusCode(), "the query is not part of the path");
        assertThrows(IllegalArgumentException.class, () -> server.addHandler("metrics", req -> null));
    }

    @Test
    void portInUseIsAnIoExceptionNamingTheAddress() {
        IOException e = assertThrows(IOException.class, () -> HealthServer.start("127.0.0.1", server.port(), HealthStatus::ok));
        assertTrue(e.getMessage().contains("127.0.0.1:" + server.port()), e.getMessage());
    }

    @Test
    void closeStopsListening() throws Exception {
        int port = server.port();
        server.close();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/healthz"))
                .timeout(Duration.ofSeconds(5)).build();
        assertThrows(ConnectException.class, () -> HttpClient.newHttpClient().send(req,
                HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    void hostNamesAndBadPortsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> HealthServer.start("localhost", 0, HealthStatus::ok));
        assertThrows(IllegalArgumentException.class, () -> HealthServer.start("127.0.0.1", 70000, HealthStatus::ok));
        assertThrows(IllegalArgumentException.class, () -> HealthStatus.unhealthy(" "));
    }
}
