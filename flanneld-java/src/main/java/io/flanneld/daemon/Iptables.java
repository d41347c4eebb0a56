package io.flanneld.daemon;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs the {@code iptables} binary, as flannel does through go-iptables. Each call is bounded in time, and a
 * non-zero exit becomes an {@link IptablesException} naming the command and its stderr.
 *
 * <p>The command prefix lets the same code act on another network namespace (tests use
 * {@code ip netns exec <ns>}); the daemon uses an empty prefix because it runs in its host's namespace.
 */
public final class Iptables {
    /** Seconds iptables itself waits for the xtables lock (held briefly by kube-proxy and others) before failing. */
    private static final String LOCK_WAIT_SECONDS = "5";
    /** iptables learnt --random-fully in 1.6.2 (go-iptables' HasRandomFully uses the same bound). */
    private static final int[] RANDOM_FULLY_SINCE = {1, 6, 2};
    private static final Pattern VERSION = Pattern.compile("v(\\d+)\\.(\\d+)\\.(\\d+)");

    private final List<String> prefix;
    private final Duration timeout;
    /** {@code iptables}, or {@code ip6tables} for the IPv6 rules. */
    private final String binary;

    /**
     * @param commandPrefix prepended to every command line, e.g. {@code [ip, netns, exec, ns1]}; empty for this
     *     process's own namespace
     * @param timeout bound on each command, after which it is killed
     */
    public Iptables(List<String> commandPrefix, Duration timeout) {
        this(commandPrefix, timeout, "iptables");
    }

    private Iptables(List<String> commandPrefix, Duration timeout, String binary) {
        this.binary = binary;
        this.prefix = List.copyOf(commandPrefix);
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        this.timeout = timeout;
    }

    /** iptables in this process's own network namespace, each command bounded by 30 s. */
    public static Iptables local() {
        return new Iptables(List.of(), Duration.ofSeconds(30));
    }

    /**
     * The same, acting on the IPv6 tables through {@code ip6tables} (flannel's go-iptables with ProtocolIPv6): same
     * prefix, same bound on each command.
     */
    public Iptables ipv6() {
        return new Iptables(prefix, timeout, "ip6tables");
    }

    /** {@code iptables} or {@code ip6tables}: the binary this runs, which names its tables in messages. */
    public String binary() {
        return binary;
    }

    /** Whether the rule is present ({@code -C}); exit status 1 means it is not. */
    public boolean exists(IptablesRule rule) throws IptablesException {
        Result r = run(ruleCommand("-C", rule));
        if (r.exitCode() == 0) {
            return true;
        }
        if (r.exitCode() == 1) {
            return false;
        }
        throw r.failure();
    }

    public void append(IptablesRule rule) throws IptablesException {
        run(ruleCommand("-A", rule)).check();
    }

    public void delete(IptablesRule rule) throws IptablesException {
        run(ruleCommand("-D", rule)).check();
    }

    /**
     * Whether the table has the chain. Read from the table's listing rather than by listing the chain itself,
     * because iptables-nft reports a missing chain with an exit code it also uses for other failures.
     */
    public boolean chainExists(String table, String chain) throws IptablesException {
        String declaration = "-N " + chain;
        String builtIn = "-P " + chain + " ";
        for (String line : list(table, null)) {
            if (line.equals(declaration) || line.startsWith(builtIn)) {
                return true;
            }
        }
        return false;
    }

    public void newChain(String table, String chain) throws IptablesException {
        run(List.of("-t", table, "-N", chain)).check();
    }

    /** Deletes an empty, unreferenced user chain ({@code -X}); iptables refuses otherwise. */
    public void deleteChain(String table, String chain) throws IptablesException {
        run(List.of("-t", table, "-X", chain)).check();
    }

    /** The rules of a chain (or, with a null chain, of the whole table) in {@code iptables -S} form. */
    public List<String> list(String table, String chain) throws IptablesException {
        List<String> args = new ArrayList<>(List.of("-t", table, "-S"));
        if (chain != null) {
            args.add(chain);
        }
        return run(args).check().stdout().lines().toList();
    }

    /** Whether this iptables accepts MASQUERADE --random-fully, judged from its version as flannel does. */
    public boolean supportsRandomFully() throws IptablesException {
        String version = run(List.of("--version")).check().stdout();
        Matcher m = VERSION.matcher(version);
        if (!m.find()) {
            return false;
        }
        for (int i = 0; i < 3; i++) {
            int part = Integer.parseInt(m.group(i + 1));
            if (part != RANDOM_FULLY_SINCE[i]) {
                return part > RANDOM_FULLY_SINCE[i];
            }
        }
        return true;
    }

    private static List<String> ruleCommand(String action, IptablesRule rule) {
        List<String> args = new ArrayList<>(List.of("-t", rule.table(), action, rule.chain()));
        args.addAll(rule.spec());
        return args;
    }

    private static final FilterCommand.Failures<IptablesException> FAILURES = new FilterCommand.Failures<>() {
        @Override
        public IptablesException exited(List<String> command, int exitCode, String stderr) {
            return new IptablesException(command, exitCode, stderr);
        }

        @Override
        public IptablesException broken(List<String> command, String problem, Throwable cause) {
            return new IptablesException(command, problem, cause);
        }
    };

    /** Runs {@code iptables -w 5 <args>} (just {@code iptables --version} for a version query); ip6tables likewise. */
    private Result run(List<String> args) throws IptablesException {
        List<String> cmd = new ArrayList<>(prefix);
        cmd.add(binary);
        if (!args.equals(List.of("--version"))) {
            cmd.add("-w");
            cmd.add(LOCK_WAIT_SECONDS);
        }
        cmd.addAll(args);
        FilterCommand.Result r = FilterCommand.run(cmd, null, timeout, FAILURES);
        return new Result(r.command(), r.exitCode(), r.stdout(), r.stderr());
    }

    private record Result(List<String> command, int exitCode, String stdout, String stderr) {
        Result check() throws IptablesException {
            if (exitCode != 0) {
                throw failure();
            }
            return this;
        }

        IptablesException failure() {
            return new IptablesException(command, exitCode, stderr);
        }
    }
}
