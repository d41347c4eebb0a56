package io.flanneld.lease;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with jitter and a cap, for every retry against etcd (acquiring, waiting for the config, the
 * watch's resume and re-list). Each failure doubles the base delay up to {@code max}; each wait is drawn uniformly
 * from [base/2, base], so that a thousand nodes that lost etcd at the same moment do not come back in step; a success
 * calls {@link #reset()}. Not thread-safe: one owner, one sequence of retries.
 */
final class Backoff {
    private final Duration min;
    private final Duration max;
    private final RandomGenerator random;
    private Duration base;

    Backoff(Duration min, Duration max) {
        this(min, max, RandomGenerator.getDefault());
    }

    Backoff(Duration min, Duration max, RandomGenerator random) {
        if (min.isNegative() || min.isZero() || max.compareTo(min) < 0) {
            throw new IllegalArgumentException("backoff bounds must be 0 < min <= max: " + min + ", " + max);
        }
        this.min = min;
        this.max = max;
        this.random = random;
        this.base = min;
    }

    /** The wait before the next attempt, and the base doubled for the one after it. */
    Duration next() {
        long baseMillis = base.toMillis();
        long half = baseMillis / 2;
        long wait = half + random.nextLong(baseMillis - half + 1);
        base = base.multipliedBy(2).compareTo(max) > 0 ? max : base.multipliedBy(2);
        return Duration.ofMillis(wait);
    }

    /** Back to the shortest wait, after a success. */
    void reset() {
        base = min;
    }

    void sleep() throws InterruptedException {
        Thread.sleep(next().toMillis());
    }
}
