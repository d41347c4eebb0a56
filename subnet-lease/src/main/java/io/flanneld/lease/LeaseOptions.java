package io.flanneld.lease;

import java.time.Duration;

/**
 * Timing of the lease life cycle.
 *
 * @param ttl the etcd lease TTL bound to the key (flannel: 24 h)
 * @param renewMargin renew this long before expiry (flannel: 60 min); when it exceeds two thirds
 *     of the TTL, renewal happens at a third of the TTL instead, so a short test TTL still renews
 * @param retryMin first wait after etcd failed to answer; doubled up to {@code retryMax}
 */
public record LeaseOptions(Duration ttl, Duration renewMargin, Duration retryMin, Duration retryMax) {
    public static final Duration DEFAULT_TTL = Duration.ofHours(24);
    public static final Duration DEFAULT_RENEW_MARGIN = Duration.ofMinutes(60);

    public LeaseOptions {
        if (ttl.toSeconds() < 2) {
            throw new IllegalArgumentException("lease TTL must be at least 2 s, got " + ttl);
        }
        if (renewMargin.isNegative()) {
            throw new IllegalArgumentException("renew margin must not be negative, got " + renewMargin);
        }
    }

    public static LeaseOptions defaults() {
        return new LeaseOptions(DEFAULT_TTL, DEFAULT_RENEW_MARGIN, Duration.ofMillis(500), Duration.ofSeconds(10));
    }

    public LeaseOptions withTtl(Duration newTtl, Duration newMargin) {
        return new LeaseOptions(newTtl, newMargin, retryMin, retryMax);
    }

    /**
     * How long to wait before renewing a lease that has {@code remaining} left: one margin before
     * expiry, but never closer to expiry than a third of the time left (capped at a minute), so
     * a zero margin does not race the expiry itself.
     */
    public Duration renewDelay(Duration remaining) {
        Duration guard = min(remaining.dividedBy(3), Duration.ofMinutes(1));
        Duration margin = renewMargin.compareTo(guard) < 0 ? guard : renewMargin;
        Duration byMargin = remaining.minus(margin);
        Duration floor = remaining.dividedBy(3);
        return byMargin.compareTo(floor) < 0 ? floor : byMargin;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) < 0 ? a : b;
    }
}
