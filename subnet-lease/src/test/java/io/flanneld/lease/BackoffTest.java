package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void doublesWithJitterUpToTheCapAndStartsOverAfterReset() {
        Backoff b = new Backoff(Duration.ofMillis(250), Duration.ofSeconds(30), new Random(1));
        long base = 250;
        for (int i = 0; i < 12; i++) {
            long wait = b.next().toMillis();
            assertTrue(wait >= base / 2 && wait <= base, "attempt " + i + ": " + wait + " ms for a base of " + base);
            base = Math.min(base * 2, 30_000);
        }
        assertEquals(30_000, base, "capped");
        b.reset();
        long wait = b.next().toMillis();
        assertTrue(wait >= 125 && wait <= 250, "after a success: " + wait);
    }

    @Test
    void jitterSpreadsNodesThatFailedTogether() {
        Set<Long> waits = new HashSet<>();
        for (int node = 0; node < 50; node++) {
            Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30), new Random(node));
            for (int i = 0; i < 5; i++) {
                b.next();
            }
            waits.add(b.next().toMillis());
        }
        assertTrue(waits.size() > 40, "50 nodes' sixth waits take " + waits.size() + " distinct values");
    }

    @Test
    void refusesBoundsThatCannotBackOff() {
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ZERO, Duration.ofSeconds(1)));
        assertThrows(IllegalArgumentException.class, () -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)));
    }
}
