package io.flanneld.daemon;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

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

    private static final FilterCommand.Failures<NfTablesException> FAILURES = new FilterCommand.Failures<>() {
        @Override
        public NfTablesException exited(List<String> command, int exitCode, String stderr) {
            return new NfTablesException(command, exitCode, stderr);
        }

        @Override
        public NfTablesException broken(List<String> command, String problem, Throwable cause) {
            return new NfTablesException(command, problem, cause);
        }
    };

    /** Runs {@code nft <args>}, with {@code stdin} (a script) on its standard input when not null. */
    private Result run(List<String> args, String stdin) throws NfTablesException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add("nft");
        cmd.addAll(args);
        FilterCommand.Result r = FilterCommand.run(cmd, stdin, timeout, FAILURES);
        return new Result(r.command(), r.exitCode(), r.stdout(), r.stderr());
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
