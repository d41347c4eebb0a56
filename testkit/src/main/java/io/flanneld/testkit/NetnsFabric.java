package io.flanneld.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test "hosts" as network namespaces joined by one bridge: {@link #create()} makes a fabric namespace
 * {@code fab-<sfx>} holding bridge {@code br0}; {@link #addHost(String, String)} makes namespace
 * {@code <name>-<sfx>} whose {@code eth0} (one end of a veth pair, the other end attached to {@code br0}) carries the
 * given underlay address. The suffix is random per fabric, so concurrent runs do not collide.
 *
 * <p>Underlay addresses must lie in 198.18.0.0/15 (RFC 2544), so a test can never aim at a real network. Processes
 * started with {@link Host#start} are tracked; {@link #close()} ends them (whole process trees) and deletes every
 * namespace the fabric made. It is idempotent, carries on past individual failures, and also runs from a JVM shutdown
 * hook if the test never called it. Only ever processes the fabric itself started are signalled.
 */
public final class NetnsFabric implements AutoCloseable {
    /** The bridge's name inside the fabric namespace. */
    public static final String BRIDGE = "br0";
    /** The interface name of every host's underlay link. */
    public static final String IFACE = "eth0";
    /** Bound on each {@code ip} command the fabric runs. */
    public static final Duration IP_TIMEOUT = Duration.ofSeconds(10);

    private static final Pattern SHORT_NAME = Pattern.compile("[a-z][a-z0-9]{0,11}");
    private static final Pattern CIDR = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})/(\\d{1,2})");
    private static final int CREATE_ATTEMPTS = 5;
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);

    private final String suffix;
    private final String fabricNs;
    private final List<String> namespaces = new ArrayList<>();
    private final Map<String, Host> hosts = new LinkedHashMap<>();
    private final List<Process> processes = new ArrayList<>();
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private boolean closed;

    private NetnsFabric(String suffix) {
        this.suffix = suffix;
        this.fabricNs = "fab-" + suffix;
    }

    /**
     * Creates the fabric namespace with its bridge up. Picks another suffix if the name is taken (at most 5 tries).
     *
     * @throws Cmd.Failure if an {@code ip} command fails (after removing whatever was made)
     */
    public static NetnsFabric create() {
        Cmd.Failure last = null;
        for (int attempt = 1; attempt <= CREATE_ATTEMPTS; attempt++) {
            NetnsFabric f = new NetnsFabric(EtcdProcess.randomHex(5));
            Cmd.Result add = Cmd.run(IP_TIMEOUT, "ip", "netns", "add", f.fabricNs);
            if (!add.ok()) {
                last = new Cmd.Failure(add);
                if (add.stderr().contains("exists")) {
                    continue;
                }
                throw last;
            }
            synchronized (f) {
                f.namespaces.add(f.fabricNs);
            }
            Reaper.register(f);
            try {
                f.ip("-n", f.fabricNs, "link", "set", "lo", "up");
                f.ip("-n", f.fabricNs, "link", "add", BRIDGE, "type", "bridge");
                f.ip("-n", f.fabricNs, "link", "set", BRIDGE, "up");
                return f;
            } catch (RuntimeException e) {
                f.close();
                throw e;
            }
        }
        throw last;
    }

    /** The per-fabric random suffix (5 hex digits). */
    public String suffix() {
        return suffix;
    }

    /** The fabric namespace's name, {@code fab-<sfx>}. */
    public String fabricNetns() {
        return fabricNs;
    }

    /** Every namespace this fabric made and has not deleted yet, fabric first. */
    public synchronized List<String> namespaces() {
        return List.copyOf(namespaces);
    }

    /** The hosts added so far, in order. */
    public synchronized List<Host> hosts() {
        return List.copyOf(hosts.values());
    }

    /** The host added under {@code shortName}, or null. */
    public synchronized Host host(String shortName) {
        return hosts.get(shortName);
    }

    /**
     * Adds a host: namespace {@code <shortName>-<sfx>} with {@code lo} up and {@code eth0} carrying
     * {@code underlayCidr} (e.g. "198.18.0.1/16"), up and bridged to the other hosts.
     *
     * @param shortName   1 to 12 characters, [a-z][a-z0-9]*, unique in this fabric
     * @param underlayCidr an address with prefix length inside 198.18.0.0/15
     */
    public synchronized Host addHost(String shortName, String underlayCidr) {
        if (closed) {
            throw new IllegalStateException("fabric " + suffix + " is closed");
        }
        if (!SHORT_NAME.matcher(shortName).matches()) {
            throw new IllegalArgumentException("host name must match " + SHORT_NAME + ": " + shortName);
        }
        if (hosts.containsKey(shortName)) {
            throw new IllegalArgumentException("host " + shortName + " already exists");
        }
        Matcher m = CIDR.matcher(underlayCidr);
        if (!m.matches()) {
            throw new IllegalArgumentException("not an IPv4 CIDR: " + underlayCidr);
        }
        int[] o = new int[4];
        for (int i = 0; i < 4; i++) {
            o[i] = Integer.parseInt(m.group(i + 1));
            if (o[i] > 255) {
                throw new IllegalArgumentException("not an IPv4 CIDR: " + underlayCidr);
            }
        }
        int prefix = Integer.parseInt(m.group(5));
        if (o[0] != 198 || (o[1] != 18 && o[1] != 19) || prefix < 15 || prefix > 30) {
            throw new IllegalArgumentException("underlay address must be in 198.18.0.0/15 with prefix 15..30: "
                    + underlayCidr);
        }
        String ns = shortName + "-" + suffix;
        String fabEnd = "v-" + shortName;
        ip("netns", "add", ns);
        namespaces.add(ns);
        ip("-n", fabricNs, "link", "add", fabEnd, "type", "veth", "peer", "name", IFACE, "netns", ns);
        ip("-n", fabricNs, "link", "set", fabEnd, "master", BRIDGE, "up");
        ip("-n", ns, "link", "set", "lo", "up");
        ip("-n", ns, "addr", "add", underlayCidr, "dev", IFACE);
        ip("-n", ns, "link", "set", IFACE, "up");
        String addr = o[0] + "." + o[1] + "." + o[2] + "." + o[3];
        Host h = new Host(this, shortName, ns, addr, prefix);
        hosts.put(shortName, h);
        return h;
    }

    /**
     * Hands {@code resource} (e.g. an {@link EtcdProcess} in one of the hosts) to the fabric: {@link #close()}
     * closes it, newest first, before ending processes and deleting namespaces.
     */
    public synchronized <T extends AutoCloseable> T own(T resource) {
        owned.push(Objects.requireNonNull(resource));
        return resource;
    }

    synchronized Process track(Process p) {
        if (closed) {
            Processes.killTree(p.toHandle());
            throw new IllegalStateException("fabric " + suffix + " is closed");
        }
        processes.add(p);
        return p;
    }

    private void ip(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("ip");
        cmd.addAll(List.of(args));
        Cmd.run(IP_TIMEOUT, cmd).check();
    }

    /**
     * Closes owned resources, ends every process started through the fabric (SIGTERM to the whole tree, a bounded
     * wait, SIGKILL), then deletes every namespace it made. Idempotent; reports failures on stderr and carries on.
     */
    @Override
    public void close() {
        List<AutoCloseable> toClose;
        List<Process> procs;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toClose = new ArrayList<>(owned);
            owned.clear();
            procs = new ArrayList<>(processes);
            processes.clear();
        }
        for (AutoCloseable c : toClose) {
            try {
                c.close();
            } catch (Throwable t) {
                System.err.println("testkit: closing " + c + " failed: " + t);
            }
        }
        try {
            Processes.terminateTrees(procs.stream().map(Process::toHandle).toList(), STOP_GRACE);
        } catch (Throwable t) {
            System.err.println("testkit: ending processes of " + this + " failed: " + t);
        }
        List<String> nss;
        synchronized (this) {
            nss = new ArrayList<>(namespaces);
        }
        for (int i = nss.size() - 1; i >= 0; i--) {
            String ns = nss.get(i);
            try {
                Cmd.Result r = Cmd.run(IP_TIMEOUT, "ip", "netns", "del", ns);
                if (r.ok() || !Files.exists(Path.of("/run/netns", ns))) {
                    synchronized (this) {
                        namespaces.remove(ns);
                    }
                } else {
                    System.err.println("testkit: ip netns del " + ns + " failed: " + r.stderr().strip());
                }
            } catch (Throwable t) {
                System.err.println("testkit: ip netns del " + ns + " failed: " + t);
            }
        }
        Reaper.unregister(this);
    }

    @Override
    public String toString() {
        return "netns-fabric[" + suffix + "]";
    }

    /** One host of a {@link NetnsFabric}: a namespace with {@code eth0} on the fabric's bridge. */
    public static final class Host {
        /** Default bound for {@link #exec(String...)}. */
        public static final Duration DEFAULT_EXEC_TIMEOUT = Duration.ofSeconds(10);

        private final NetnsFabric fabric;
        private final String name;
        private final String netns;
        private final String ip;
        private final int prefixLength;

        private Host(NetnsFabric fabric, String name, String netns, String ip, int prefixLength) {
            this.fabric = fabric;
            this.name = name;
            this.netns = netns;
            this.ip = ip;
            this.prefixLength = prefixLength;
        }

        /** The short name given to {@link NetnsFabric#addHost}. */
        public String name() {
            return name;
        }

        /** The namespace name, {@code <name>-<sfx>}. */
        public String netns() {
            return netns;
        }

        /** The underlay address without prefix, e.g. "198.18.0.1". */
        public String ip() {
            return ip;
        }

        /** The underlay prefix length. */
        public int prefixLength() {
            return prefixLength;
        }

        /** The underlay address with prefix, e.g. "198.18.0.1/16". */
        public String cidr() {
            return ip + "/" + prefixLength;
        }

        /** The underlay interface's name, "eth0". */
        public String iface() {
            return IFACE;
        }

        /** The fabric this host belongs to. */
        public NetnsFabric fabric() {
            return fabric;
        }

        /** Runs {@code cmd} inside this host's namespace ({@code ip netns exec}), bounded by {@code timeout}. */
        public Cmd.Result exec(Duration timeout, String... cmd) {
            return Cmd.run(timeout, nsCommand(List.of(cmd)));
        }

        /** Runs {@code cmd} inside this host's namespace, bounded by {@link #DEFAULT_EXEC_TIMEOUT}. */
        public Cmd.Result exec(String... cmd) {
            return exec(DEFAULT_EXEC_TIMEOUT, cmd);
        }

        /**
         * Starts a long-running {@code cmd} inside this host's namespace, stdout and stderr appended to
         * {@code logFile} (null discards them). The fabric ends it (and its children) on close.
         */
        public Process start(List<String> cmd, Path logFile) {
            return start(cmd, logFile, Map.of());
        }

        /** Like {@link #start(List, Path)} with {@code extraEnv} added to the environment. */
        public Process start(List<String> cmd, Path logFile, Map<String, String> extraEnv) {
            List<String> full = nsCommand(cmd);
            ProcessBuilder pb = new ProcessBuilder(full)
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectErrorStream(true);
            pb.environment().putAll(extraEnv);
            try {
                if (logFile != null) {
                    Path parent = logFile.toAbsolutePath().getParent();
                    if (parent != null) {
                        Files.createDirectories(parent);
                    }
                    pb.redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
                } else {
                    pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
                }
                synchronized (fabric) {
                    return fabric.track(pb.start());
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start " + String.join(" ", full), e);
            }
        }

        private List<String> nsCommand(List<String> cmd) {
            if (cmd.isEmpty()) {
                throw new IllegalArgumentException("empty command");
            }
            List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", netns));
            full.addAll(cmd);
            return full;
        }

        @Override
        public String toString() {
            return "host[" + name + " " + cidr() + " netns " + netns + "]";
        }
    }
}
