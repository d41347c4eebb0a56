package io.flanneld.daemon;

import io.flanneld.daemon.HttpRoutes.Request;
import io.flanneld.daemon.HttpRoutes.Response;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * {@code /healthz}: 200 "ok" while the supplied status is healthy, else 503 with the reason as the body, so a
 * liveness probe both fails and says why. GET and HEAD only; a path below {@code /healthz} is not found.
 */
final class HealthzHandler implements HttpRoutes.Handler {
    static final String PATH = "/healthz";
    private final Supplier<HealthStatus> status;

    /** @param status asked on every request, on the listener's thread; may throw, which counts as unhealthy */
    HealthzHandler(Supplier<HealthStatus> status) {
        this.status = Objects.requireNonNull(status, "status");
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
