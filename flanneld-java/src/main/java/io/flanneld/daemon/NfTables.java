package io.flanneld.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs the {@code nft} binary (Debian's nftables package), as flannel does through knftables: scripts go in on
 * stdin ({@code nft -f -}), so each one is a single transaction the kernel applies whole or not at all. Each call is
 * bounded in time, and a non-zero exit becomes an {@link NfTablesException} naming the command and its stderr. Only
 * I/O lives here; what to write and how to read listings is {@link NfTablesScript}'s.
 *
 * <p>The command prefix lets the same code act on another network namespace (tests use
 * {@code ip netns exec <ns>}); the daemon uses an empty prefix because it runs in its host's namespace.
 */
public final class NfTables {
    /** How nft reports a table or chain that does not exist (ENOENT from the kernel). */
    private static final String NO_SUCH_OBJECT = "No such file or directory";
    /** Threads that feed and drain the commands; daemon threads so an idle one never keeps the JVM alive. */
    private static final ExecutorService PIPES = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "nft-io");
        t.setDaemon(true);
        return t;
    });

    private final List<String> prefix;
    private final Duration timeout;

    /**
     * @param commandPrefix prepended to every command line, e.g. {@code [ip, netns, exec, ns1]}; empty for this
     *     process's own namespace
     * @param timeout bound on each command, after which it is killed
     */
    public NfTables(List<String> commandPrefix, Duration timeout) {
        this.prefix = List.copyOf(commandPrefix);
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        this.timeout = timeout;
    }

    /** nft in this process's own network namespace, each command bounded by 30 s. */
    public static NfTables local() {
        return new NfTables(List.of(), Duration.ofSeconds(30));
    }

    /** Applies {@code script} as one transaction ({@code nft -f -}). */
    public void apply(String script) throws NfTablesException {
        run(List.of("-f", "-"), script).check();
    }

    /** Whether the kernel would accept {@code script} ({@code nft -c -f -}); nothing is changed either way. */
    public boolean check(String script) throws NfTablesException {
        return run(List.of("-c", "-f", "-"), script).exitCode() == 0;
    }

    /**
     * {@code nft list <object...>}, e.g. {@code list("chain", "ip", "flannel-ipv4", "postrtg")}; empty when the
     * table or chain does not exist.
     */
    public Optional<String> list(String... object) throws NfTablesException {
        List<String> args = new ArrayList<>(List.of("list"));
        args.addAll(List.of(object));
        Result r = run(args, null);
        if (r.exitCode() != 0 && r.stderr().contains(NO_SUCH_OBJECT)) {
            return Optional.empty();
        }
        return Optional.of(r.check().stdout());
    }

    /** Whether this kernel and nft accept {@code masquerade fully-random}, probed as flannel does with a check run. */
    public boolean supportsFullyRandom() throws NfTablesException {
        return check(NfTablesScript.fullyRandomProbe());
    }

    private Result run(List<String> args, String stdin) throws NfTablesException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add("nft");
        cmd.addAll(args);
        Process p;
        try {
            p = new ProcessBuilder(cmd).start();
        } catch (IOException e) {
            throw new NfTablesException(cmd, "cannot start", e);
        }
        try {
            // stdin is written and both outputs drained while waiting, so no pipe can fill up and stall nft.
            CompletableFuture<IOException> in = CompletableFuture.supplyAsync(() -> writeAll(p.getOutputStream(), stdin), PIPES);
            CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> readAll(p.getInputStream()), PIPES);
            CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> readAll(p.getErrorStream()), PIPES);
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new NfTablesException(cmd, -1, "no exit within " + timeout.toMillis() + " ms");
            }
            Result result = new Result(cmd, p.exitValue(), out.get(timeout.toMillis(), TimeUnit.MILLISECONDS),
                    err.get(timeout.toMillis(), TimeUnit.MILLISECONDS));
            IOException writeFailure = in.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            // nft that stops reading early has refused the script and says why; a clean exit after a failed write
            // would mean it saw only part of the script, so that is never taken for success.
            if (writeFailure != null && result.exitCode() == 0) {
                throw new NfTablesException(cmd, "cannot write its input", writeFailure);
            }
            return result;
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new NfTablesException(cmd, "interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            p.destroyForcibly();
            throw new NfTablesException(cmd, "cannot read its output", e);
        }
    }

    /** Writes the script (nothing for commands without one) and closes stdin; returns the failure, if any. */
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

    private record Result(List<String> command, int exitCode, String stdout, String stderr) {
        Result check() throws NfTablesException {
            if (exitCode != 0) {
                throw new NfTablesException(command, exitCode, stderr);
            }
            return this;
        }
    }
}
