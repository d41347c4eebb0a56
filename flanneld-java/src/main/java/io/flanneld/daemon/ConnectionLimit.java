package io.flanneld.daemon;

import io.netty.channel.Channel;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At most {@code max} open connections: accepting one more closes the oldest, so a client holding connections open
 * cannot lock out the next probe (refusing the newcomer instead would). Touched only on the listener's event loop;
 * the counters are read by tests.
 */
final class ConnectionLimit {
    /** Warnings about evicted connections: at most one per interval, with the count since the last one. */
    private static final long EVICTION_WARNING_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);
    // Logged under the listener's name, the subsystem an operator knows.
    private static final Logger LOG = LoggerFactory.getLogger(HealthServer.class);

    private final int max;
    private final ArrayDeque<Channel> byAge = new ArrayDeque<>();
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicLong evicted = new AtomicLong();
    private long evictedSinceWarning;
    private long lastWarning = System.nanoTime() - EVICTION_WARNING_INTERVAL_NANOS;

    ConnectionLimit(int max) {
        this.max = max;
    }

    /** Counts {@code ch} until it closes, and closes the oldest connections beyond {@code max}. */
    void accepted(Channel ch) {
        byAge.addLast(ch);
        open.incrementAndGet();
        ch.closeFuture().addListener(f -> {
            byAge.remove(ch);
            open.decrementAndGet();
        });
        while (byAge.size() > max) {
            // The oldest has had the longest to send its request; a probe sends its own at once and is answered.
            Channel oldest = byAge.pollFirst();
            oldest.close();
            evicted.incrementAndGet();
            evictedSinceWarning++;
        }
        long now = System.nanoTime();
        if (evictedSinceWarning > 0 && now - lastWarning >= EVICTION_WARNING_INTERVAL_NANOS) {
            LOG.warn("{} connection(s) to {} closed early: more than {} open at once (the last from {})",
                    evictedSinceWarning, HealthServer.PATH, max, ch.remoteAddress());
            evictedSinceWarning = 0;
            lastWarning = now;
        }
    }

    /** Connections open now. */
    int open() {
        return open.get();
    }

    /** Connections closed because a newer one arrived while {@code max} were open. */
    long evicted() {
        return evicted.get();
    }
}
