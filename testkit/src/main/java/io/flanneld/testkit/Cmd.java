package io.flanneld.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs an external command to completion with a hard timeout and captures its output.
 *
 * <p>Standard output and standard error go to temporary files rather than pipes, so a command that leaves a
 * background child holding its output open can never block the caller. On timeout the command and all its
 * descendants are killed and the result is marked {@link Result#timedOut() timedOut}. Standard input is empty.
 */
public final class Cmd {
    /** Exit code reported when a command was killed because it ran past its timeout (as timeout(1) does). */
    public static final int TIMEOUT_EXIT_CODE = 124;

    private Cmd() {
    }

    /** Runs {@code command} bounded by {@code timeout}. */
    public static Result run(Duration timeout, String... command) {
        return run(timeout, Map.of(), List.of(command));
    }

    /** Runs {@code command} bounded by {@code timeout}. */
    public static Result run(Duration timeout, List<String> command) {
        return run(timeout, Map.of(), command);
    }

    /**
     * Runs {@code command} bounded by {@code timeout}, with {@code extraEnv} added to this JVM's environment.
     *
     * @throws UncheckedIOException if the command cannot be started at all (e.g. the binary is missing)
     */
    public static Result run(Duration timeout, Map<String, String> extraEnv, List<String> command) {
        List<String> cmd = List.copyOf(command);
        if (cmd.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("cmd-out-", ".txt");
            err = Files.createTempFile("cmd-err-", ".txt");
            ProcessBuilder pb = new ProcessBuilder(cmd)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile());
            pb.environment().putAll(extraEnv);
            Process p = pb.start();
            boolean done;
            try {
                done = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Processes.killTree(p.toHandle());
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while running " + String.join(" ", cmd), e);
            }
            int code;
            if (done) {
                code = p.exitValue();
            } else {
                Processes.killTree(p.toHandle());
                code = TIMEOUT_EXIT_CODE;
            }
            return new Result(cmd, code, read(out), read(err), !done);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + String.join(" ", cmd), e);
        } finally {
            deleteQuietly(out);
            deleteQuietly(err);
        }
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    private static void deleteQuietly(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException ignored) {
                // a leftover temp file is harmless
            }
        }
    }

    /**
     * The outcome of one command.
     *
     * @param command  the command line as run
     * @param exitCode the exit code, {@link #TIMEOUT_EXIT_CODE} if it was killed on timeout
     * @param stdout   everything written to standard output
     * @param stderr   everything written to standard error
     * @param timedOut whether the command was killed because it ran past its timeout
     */
    public record Result(List<String> command, int exitCode, String stdout, String stderr, boolean timedOut) {
        /** True if the command finished in time with exit code 0. */
        public boolean ok() {
            return exitCode == 0 && !timedOut;
        }

        /** The command line joined with spaces, for messages. */
        public String commandLine() {
            return String.join(" ", command);
        }

        /**
         * Returns this result if {@link #ok()}, else throws a {@link Failure} naming the command line, the exit code
         * and stderr.
         */
        public Result check() {
            if (!ok()) {
                throw new Failure(this);
            }
            return this;
        }
    }

    /** Thrown by {@link Result#check()} for a command that failed or timed out. */
    public static final class Failure extends RuntimeException {
        private final transient Result result;

        Failure(Result r) {
            super("command failed (" + (r.timedOut() ? "timed out" : "exit " + r.exitCode()) + "): "
                    + r.commandLine() + "\nstderr: " + r.stderr().strip()
                    + (r.stdout().isBlank() ? "" : "\nstdout: " + tail(r.stdout(), 2000)));
            this.result = r;
        }

        /** The failed command's result. */
        public Result result() {
            return result;
        }

        private static String tail(String s, int max) {
            String t = s.strip();
            return t.length() <= max ? t : "..." + t.substring(t.length() - max);
        }
    }
}
