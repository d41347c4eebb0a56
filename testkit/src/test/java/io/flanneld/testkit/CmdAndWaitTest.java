package io.flanneld.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CmdAndWaitTest {
    @Test
    void capturesOutputAndExitCode() {
        Cmd.Result r = Cmd.run(Duration.ofSeconds(5), "sh", "-c", "echo out; echo err >&2; exit 3");
        assertEquals(3, r.exitCode());
        assertEquals("out\n", r.stdout());
        assertEquals("err\n", r.stderr());
        assertFalse(r.ok());
        Cmd.Failure f = assertThrows(Cmd.Failure.class, r::check);
        assertTrue(f.getMessage().contains("sh -c echo out"), f.getMessage());
        assertTrue(f.getMessage().contains("err"), f.getMessage());
        assertTrue(Cmd.run(Duration.ofSeconds(5), "true").check().ok());
    }

    @Test
    void timeoutKillsTheCommandAndItsChildren() {
        long t0 = System.nanoTime();
        // the child sleep keeps stdout open; output goes to files, so this cannot hang the caller
        Cmd.Result r = Cmd.run(Duration.ofMillis(300), "sh", "-c", "sleep 30 & echo started; wait");
        assertTrue(r.timedOut());
        assertEquals(Cmd.TIMEOUT_EXIT_CODE, r.exitCode());
        assertEquals("started\n", r.stdout());
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).toSeconds() < 10);
        assertThrows(Cmd.Failure.class, r::check);
    }

    @Test
    void waitReturnsOnceTrueAndNamesWhatOnTimeout() {
        AtomicInteger n = new AtomicInteger();
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(1), "three calls", () -> n.incrementAndGet() >= 3);
        assertEquals(3, n.get());

        AssertionError e = assertThrows(AssertionError.class,
                () -> Wait.until(Duration.ofMillis(100), Duration.ofMillis(10), "the impossible", () -> {
                    throw new IllegalStateException("boom");
                }));
        assertTrue(e.getMessage().contains("the impossible"), e.getMessage());
        assertTrue(e.getCause() instanceof IllegalStateException);
    }
}
