package io.flanneld.testkit;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Bounded polling: waits for a condition with a deadline and fails with an {@link AssertionError} naming what was
 * awaited. A condition that throws a {@link RuntimeException} counts as not yet true; the last such exception is
 * attached as the cause of the timeout error.
 */
public final class Wait {
    /** Poll interval used by the overloads that take none. */
    public static final Duration DEFAULT_POLL = Duration.ofMillis(100);

    private Wait() {
    }

    /** Like {@link #until(Duration, Duration, String, BooleanSupplier)} polling every {@link #DEFAULT_POLL}. */
    public static void until(Duration timeout, String what, BooleanSupplier cond) {
        until(timeout, DEFAULT_POLL, what, cond);
    }

    /**
     * Polls {@code cond} every {@code poll} until it returns true; throws an AssertionError naming {@code what} if
     * it has not within {@code timeout}. The condition is always evaluated at least once, and once more at the
     * deadline.
     */
    public static void until(Duration timeout, Duration poll, String what, BooleanSupplier cond) {
        forValue(timeout, poll, what, () -> cond.getAsBoolean() ? Boolean.TRUE : null);
    }

    /**
     * Polls {@code supplier} every {@code poll} until it returns a non-null value and returns that value; throws an
     * AssertionError naming {@code what} if none came within {@code timeout}.
     */
    public static <T> T forValue(Duration timeout, Duration poll, String what, Supplier<T> supplier) {
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        long pollMillis = Math.max(1, poll.toMillis());
        RuntimeException last = null;
        int attempts = 0;
        while (true) {
            attempts++;
            try {
                T v = supplier.get();
                if (v != null) {
                    return v;
                }
            } catch (RuntimeException e) {
                last = e;
            }
            long now = System.nanoTime();
            if (now - deadline >= 0) {
                break;
            }
            long sleep = Math.min(pollMillis, Math.max(1, (deadline - now) / 1_000_000));
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted while waiting for " + what, e);
            }
        }
        String msg = "timed out after " + timeout.toMillis() + " ms (" + attempts + " attempts) waiting for " + what
                + (last != null ? "; last error: " + last : "");
        AssertionError err = new AssertionError(msg);
        if (last != null) {
            err.initCause(last);
        }
        throw err;
    }
}
