package io.flanneld.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs one command of a packet-filter program ({@link Iptables}, {@link NfTables}) the way both need it: bounded in
 * time (killed with its children after the limit), its standard input written (or closed at once) and both outputs
 * drained while it runs, so that no pipe fills up and stalls it.
 */
final class FilterCommand {
    /** Threads that feed and drain the commands; daemon threads so an idle one never keeps the JVM alive. */
    private static final ExecutorService PIPES = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "filter-command-io");
        t.setDaemon(true);
        return t;
    });

    private FilterCommand() {
    }

    /** What a command did: its exit code and outputs. */
    record Result(List<String> command, int exitCode, String stdout, String stderr) {
    }

    /** How a program names its failures ({@link IptablesException}, {@link NfTablesException}). */
    interface Failures<E extends PacketFilterException> {
        E exited(List<String> command, int exitCode, String stderr);

        E broken(List<String> command, String problem, Throwable cause);
    }

    /**
     * @param stdin written to the command and then closed; null closes its input at once
     * @throws E when it cannot be started or read, is interrupted, or runs past {@code timeout} (a non-zero exit is a
     *           {@link Result}, for the caller to judge)
     */
    static <E extends PacketFilterException> Result run(List<String> cmd, String stdin, Duration timeout, Failures<E> failures) throws E {
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
        } catch (IOException e) {
            throw failures.broken(cmd, "cannot start", e);
        }
        try {
            CompletableFuture<IOException> in = CompletableFuture.supplyAsync(() -> writeAll(p.getOutputStream(), stdin), PIPES);
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()), PIPES);
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()), PIPES);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw failures.exited(cmd, -1, "no exit within " + timeout.toMillis() + " ms");
            }
            Result result = new Result(cmd, p.exitValue(), out.get(timeout.toMillis(), TimeUnit.MILLISECONDS),
                    err.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
            IOException writeFailure = in.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            // A program that stops reading early has refused its input and says why; a clean exit after a failed write
            // would mean it saw only part of it, so that is never taken for success.
            if (writeFailure != null && result.exitCode() == 0) {
                throw failures.broken(cmd, "cannot write its input", writeFailure);
            }
            return result;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw failures.broken(cmd, "interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            throw failures.broken(cmd, "cannot read its output", e);
        }
    }

    /** Writes {@code text} (nothing when null) and closes the stream; returns the failure, if any. */
    private static IOException writeAll(OutputStream out, String text) {
        try (out) {
            if (text != null) {
                out.write(text.getBytes(StandardCharsets.UTF_8));
            }
            return null;
        } catch (IOException e) {
            return e;
        }
    }

    private static String readAll(InputStream in) {
        try (in) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
