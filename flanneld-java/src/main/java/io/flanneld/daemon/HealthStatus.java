package io.flanneld.daemon;

import java.util.Objects;

/**
 * Whether the daemon is doing its job, and if not, why: the answer /healthz gives.
 *
 * @param reason empty when healthy; otherwise what is wrong, e.g. "lease not held"
 */
public record HealthStatus(boolean healthy, String reason) {
    private static final HealthStatus OK = new HealthStatus(true, "");

    public HealthStatus {
        Objects.requireNonNull(reason, "reason");
        if (!healthy && reason.isBlank()) {
            throw new IllegalArgumentException("an unhealthy status needs a reason");
        }
    }

    public static HealthStatus ok() {
        return OK;
    }

    public static HealthStatus unhealthy(String reason) {
        return new HealthStatus(false, reason);
    }
}
