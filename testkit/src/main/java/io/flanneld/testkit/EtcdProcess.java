package io.flanneld.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A real etcd server (Debian's {@code etcd}, v3 API) run as a child process for a test.
 *
 * <p>{@link #start()} runs a single member on 127.0.0.1 with free client and peer ports and a fresh temporary data
 * dir; {@link #startInNamespace(String, String)} runs it inside a network namespace on an address that namespace
 * owns, ports 2379/2380. {@link #builder()} gives extra arguments, a given data dir, fixed ports. etcd runs with
 * {@code --unsafe-no-fsync} when the binary knows it, and logs to {@code etcd.log} in its data dir.
 *
 * <p>{@link #close()} stops the process and deletes a data dir the kit created (a data dir the caller gave is kept
 * unless {@link Builder#deleteDataDirOnClose(boolean)} says otherwise). Every instance is also closed by a JVM
 * shutdown hook, so no etcd outlives the test JVM. Binaries: system properties {@code testkit.etcd} and
 * {@code testkit.etcdctl} override {@code /usr/bin/etcd} and {@code /usr/bin/etcdctl}.
 */
public final class EtcdProcess implements AutoCloseable {
    /** How long {@link #start()} and {@link #restart()} wait for the server to answer, by default. */
    public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(15);
    /** Bound on each {@link #etcdctl(String...)} run. */
    public static final Duration ETCDCTL_TIMEOUT = Duration.ofSeconds(15);
    /** The log file's name inside the data dir. */
    public static final String LOG_FILE = "etcd.log";

    private static final int START_ATTEMPTS = 3;
    private static final String READY_MARK = "now serving peer/client/metrics";
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static volatile Boolean noFsyncSupported;
    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(1))
            .build();

    private final String name;
    private final String host;
    private final String netns;
    private final int clientPort;
    private final int peerPort;
    private final Path dataDir;
    private final boolean deleteDataDirOnClose;
    private final List<String> extraArgs;
    private final Duration startTimeout;
    private final String initialCluster;
    private final String clusterToken;
    private final TestPki tls;
    private volatile String authUser;
    private volatile String authPassword;
    private Process process;
    private long logOffset;
    private boolean closed;

    private EtcdProcess(Builder b, int clientPort, int peerPort, Path dataDir, boolean deleteDataDirOnClose) {
        this.name = b.name;
        this.host = b.listenIp;
        this.netns = b.netns;
        this.clientPort = clientPort;
        this.peerPort = peerPort;
        this.dataDir = dataDir;
        this.deleteDataDirOnClose = deleteDataDirOnClose;
        this.extraArgs = List.copyOf(b.extraArgs);
        this.startTimeout = b.startTimeout;
        this.tls = b.tls;
        this.initialCluster = b.initialCluster != null ? b.initialCluster : name + "=" + url(host, peerPort);
        this.clusterToken = b.clusterToken != null ? b.clusterToken : "tk-" + randomHex(8);
        Reaper.register(this);
    }

    /** A single member on 127.0.0.1, free ports, fresh data dir; returns once it answers. */
    public static EtcdProcess start() {
        return builder().start();
    }

    /**
     * A single member inside network namespace {@code netns}, listening on {@code listenIp} (an address the
     * namespace owns) ports 2379 (client) and 2380 (peer); returns once it answers.
     */
    public static EtcdProcess startInNamespace(String netns, String listenIp) {
        return builder().netns(netns, listenIp).start();
    }

    /** Options for starting etcd. */
    public static Builder builder() {
        return new Builder();
    }

    /** Options for one etcd member; {@link #start()} launches it. */
    public static final class Builder {
        private String name = "default";
        private String listenIp = "127.0.0.1";
        private String netns;
        private int clientPort;
        private int peerPort;
        private Path dataDir;
        private Boolean deleteDataDirOnClose;
        private final List<String> extraArgs = new ArrayList<>();
        private Duration startTimeout = DEFAULT_START_TIMEOUT;
        private String initialCluster;
        private String clusterToken;
        private TestPki tls;

        private Builder() {
        }

        /**
         * Serve clients over TLS with {@code pki}'s server certificate and require a client certificate signed by
         * its CA ({@code --client-cert-auth}); the client URL becomes {@code https://}. The kit's own etcdctl calls
         * and health checks present {@code pki}'s client certificate. Peers stay on plain http.
         */
        public Builder tls(TestPki pki) {
            this.tls = Objects.requireNonNull(pki);
            return this;
        }

        /** The member name ({@code --name}); default "default". */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name);
            return this;
        }

        /**
         * Run inside {@code netns} listening on {@code listenIp}. Ports default to 2379/2380 there, since the
         * namespace is the test's own.
         */
        public Builder netns(String netns, String listenIp) {
            this.netns = Objects.requireNonNull(netns);
            this.listenIp = Objects.requireNonNull(listenIp);
            return this;
        }

        /** A fixed client port; 0 (the default) picks a free one on loopback, 2379 in a namespace. */
        public Builder clientPort(int port) {
            this.clientPort = port;
            return this;
        }

        /** A fixed peer port; 0 (the default) picks a free one on loopback, 2380 in a namespace. */
        public Builder peerPort(int port) {
            this.peerPort = port;
            return this;
        }

        /**
         * Use this data dir (created if missing; existing data is reused, so a second process can start on the data
         * a closed one left). Such a dir is kept on close unless {@link #deleteDataDirOnClose(boolean)} is set.
         */
        public Builder dataDir(Path dir) {
            this.dataDir = Objects.requireNonNull(dir);
            return this;
        }

        /** Whether {@link EtcdProcess#close()} deletes the data dir; default: only if the kit created it. */
        public Builder deleteDataDirOnClose(boolean delete) {
            this.deleteDataDirOnClose = delete;
            return this;
        }

        /** Extra etcd flags, appended after the kit's own (so they win where etcd takes the last value). */
        public Builder extraArgs(String... args) {
            this.extraArgs.addAll(List.of(args));
            return this;
        }

        /** How long to wait for the server to answer; default {@link #DEFAULT_START_TIMEOUT}. */
        public Builder startTimeout(Duration timeout) {
            this.startTimeout = Objects.requireNonNull(timeout);
            return this;
        }

        Builder initialCluster(String initialCluster, String token) {
            this.initialCluster = initialCluster;
            this.clusterToken = token;
            return this;
        }

        /**
         * Launches etcd and waits until it answers. When ports were picked automatically and another process took
         * one first, retries with new ports (at most 3 attempts).
         *
         * @throws IllegalStateException with the tail of etcd's log if it did not come up in time
         */
        public EtcdProcess start() {
            IllegalStateException last = null;
            for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
                EtcdProcess e = create();
                try {
                    e.launch();
                    e.awaitReady(System.nanoTime() + startTimeout.toNanos());
                    return e;
                } catch (StartFailure f) {
                    e.close();
                    last = f;
                    if (!f.portClash || !autoPorts()) {
                        throw f;
                    }
                } catch (RuntimeException | Error t) {
                    e.close();
                    throw t;
                }
            }
            throw last;
        }

        private boolean autoPorts() {
            return netns == null && (clientPort == 0 || peerPort == 0);
        }

        /** Creates the instance with ports and data dir resolved, without launching it. */
        EtcdProcess create() {
            int cp = clientPort;
            int pp = peerPort;
            if (netns != null) {
                cp = cp == 0 ? 2379 : cp;
                pp = pp == 0 ? 2380 : pp;
            } else if (cp == 0 || pp == 0) {
                int[] free = Ports.free(2);
                cp = cp == 0 ? (free[0] != pp ? free[0] : free[1]) : cp;
                pp = pp == 0 ? (free[1] != cp ? free[1] : free[0]) : pp;
            }
            Path dir;
            boolean delete;
            try {
                if (dataDir == null) {
                    dir = Files.createTempDirectory("etcd-" + name + "-");
                    delete = deleteDataDirOnClose == null || deleteDataDirOnClose;
                } else {
                    dir = Files.createDirectories(dataDir);
                    delete = deleteDataDirOnClose != null && deleteDataDirOnClose;
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot create etcd data dir", e);
            }
            return new EtcdProcess(this, cp, pp, dir, delete);
        }
    }

    /** The client URL, e.g. {@code http://127.0.0.1:40123}, or {@code https://…} with {@link Builder#tls(TestPki)}. */
    public String endpoint() {
        return (tls != null ? "https://" : "http://") + host + ":" + clientPort;
    }

    /** The certificates it serves with, or null when it speaks plain http. */
    public TestPki tls() {
        return tls;
    }

    /**
     * Turns on etcd's authentication: adds user {@code root} with {@code password} and runs {@code auth enable}.
     * The kit's own etcdctl calls authenticate as root from then on.
     */
    public void enableAuth(String password) {
        etcdctl("user", "add", "root:" + password).check();
        etcdctl("auth", "enable").check();
        authUser = "root";
        authPassword = password;
    }

    /** The peer URL, e.g. {@code http://127.0.0.1:40124}. */
    public String peerUrl() {
        return url(host, peerPort);
    }

    /** The member name. */
    public String name() {
        return name;
    }

    /** The client port. */
    public int clientPort() {
        return clientPort;
    }

    /** The peer port. */
    public int peerPort() {
        return peerPort;
    }

    /** The network namespace it runs in, or null for the root namespace. */
    public String netns() {
        return netns;
    }

    /** The data dir. */
    public Path dataDir() {
        return dataDir;
    }

    /** etcd's log (stdout and stderr of every run, appended). */
    public Path logFile() {
        return dataDir.resolve(LOG_FILE);
    }

    /** The last {@code lines} lines of etcd's log. */
    public String logTail(int lines) {
        return Files2.tailLines(Files2.readFrom(logFile(), 0), lines);
    }

    /** Whether the etcd process is running. */
    public synchronized boolean isAlive() {
        return process != null && process.isAlive();
    }

    /** The running process's pid, or -1. */
    public synchronized long pid() {
        return process != null && process.isAlive() ? process.pid() : -1;
    }

    /** SIGTERM, a bounded wait (10 s), then SIGKILL. No-op if not running. */
    public synchronized void stop() {
        if (process != null) {
            Processes.terminateTree(process.toHandle(), STOP_GRACE);
            process = null;
        }
    }

    /** SIGKILL, then a bounded wait for it to be gone. No-op if not running. */
    public synchronized void kill() {
        if (process != null) {
            Processes.killTree(process.toHandle());
            process = null;
        }
    }

    /** Stops it if running and starts it again on the same data dir and ports; returns once it answers. */
    public synchronized void restart() {
        stop();
        launch();
        awaitReady(System.nanoTime() + startTimeout.toNanos());
    }

    /**
     * Stops it, deletes its data (the log is kept) and starts an empty server on the same ports. Meant for a
     * single-member server; a member of a multi-member cluster cannot rejoin that way.
     */
    public synchronized void wipeAndRestart() {
        stop();
        Files2.deleteTree(dataDir, LOG_FILE);
        launch();
        awaitReady(System.nanoTime() + startTimeout.toNanos());
    }

    /**
     * Runs {@code etcdctl} (API v3) against this server, bounded by {@link #ETCDCTL_TIMEOUT}; inside the namespace
     * if the server runs in one. {@code args} come after {@code --endpoints}, so they may override it.
     */
    public Cmd.Result etcdctl(String... args) {
        List<String> all = new ArrayList<>();
        if (tls != null) {
            all.addAll(List.of("--cacert=" + tls.caCert(), "--cert=" + tls.clientCert(), "--key=" + tls.clientKey()));
        }
        if (authUser != null) {
            all.add("--user=" + authUser + ":" + authPassword);
        }
        all.addAll(List.of(args));
        return etcdctl(netns, List.of(endpoint()), all.toArray(String[]::new));
    }

    static Cmd.Result etcdctl(String netns, List<String> endpoints, String... args) {
        List<String> cmd = new ArrayList<>();
        if (netns != null) {
            cmd.addAll(List.of("ip", "netns", "exec", netns));
        }
        cmd.add(etcdctlBinary());
        cmd.add("--endpoints=" + String.join(",", endpoints));
        cmd.add("--dial-timeout=2s");
        cmd.add("--command-timeout=5s");
        cmd.addAll(List.of(args));
        return Cmd.run(ETCDCTL_TIMEOUT, Map.of("ETCDCTL_API", "3"), cmd);
    }

    /** Stops the process and deletes the data dir if it is the kit's. Idempotent; never throws. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop();
        } catch (Throwable t) {
            System.err.println("testkit: stopping " + this + " failed: " + t);
            try {
                kill();
            } catch (Throwable ignored) {
                // best effort
            }
        }
        if (deleteDataDirOnClose) {
            try {
                Files2.deleteTree(dataDir);
            } catch (Throwable t) {
                System.err.println("testkit: deleting " + dataDir + " failed: " + t);
            }
        }
        Reaper.unregister(this);
    }

    @Override
    public String toString() {
        return "etcd[" + name + " " + endpoint() + (netns != null ? " netns " + netns : "") + " " + dataDir + "]";
    }

    // ---- launching ----

    synchronized void launch() {
        if (closed) {
            throw new IllegalStateException("closed: " + this);
        }
        if (isAlive()) {
            throw new IllegalStateException("already running: " + this);
        }
        List<String> cmd = new ArrayList<>();
        if (netns != null) {
            cmd.addAll(List.of("ip", "netns", "exec", netns));
        }
        cmd.add(etcdBinary());
        cmd.addAll(List.of(
                "--name", name,
                "--data-dir", dataDir.toString(),
                "--listen-client-urls", endpoint(),
                "--advertise-client-urls", endpoint(),
                "--listen-peer-urls", peerUrl(),
                "--initial-advertise-peer-urls", peerUrl(),
                "--initial-cluster", initialCluster,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", clusterToken,
                "--quota-backend-bytes", String.valueOf(512L * 1024 * 1024),
                "--logger", "zap",
                "--log-outputs", "stderr"));
        if (noFsyncSupported()) {
            cmd.add("--unsafe-no-fsync");
        }
        if (tls != null) {
            cmd.addAll(List.of("--cert-file", tls.serverCert().toString(), "--key-file", tls.serverKey().toString(),
                    "--trusted-ca-file", tls.caCert().toString(), "--client-cert-auth"));
        }
        cmd.addAll(extraArgs);
        Path log = logFile();
        logOffset = Files2.size(log);
        try {
            Files2.append(log, "---- testkit: starting " + String.join(" ", cmd) + "\n");
            logOffset = Files2.size(log);
            process = new ProcessBuilder(cmd)
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + String.join(" ", cmd), e);
        }
    }

    /** Waits until the server bound its ports and answers a health check, or throws {@link StartFailure}. */
    void awaitReady(long deadlineNanos) {
        long startedAt = System.nanoTime();
        int polls = 0;
        while (true) {
            polls++;
            Process p;
            synchronized (this) {
                p = process;
            }
            if (p == null || !p.isAlive()) {
                String log = Files2.readFrom(logFile(), logOffset);
                throw new StartFailure(this + " exited" + (p != null ? " with " + p.exitValue() : "")
                        + " before it was ready; log tail:\n" + Files2.tailLines(log, 30),
                        log.contains("address already in use"));
            }
            if (Files2.readFrom(logFile(), logOffset).contains(READY_MARK) && healthy()) {
                return;
            }
            if (System.nanoTime() - deadlineNanos >= 0) {
                String tail = Files2.tailLines(Files2.readFrom(logFile(), logOffset), 30);
                throw new StartFailure(this + " not healthy after "
                        + Duration.ofNanos(System.nanoTime() - startedAt).toMillis() + " ms (" + polls
                        + " polls); log tail:\n" + tail, false);
            }
            try {
                Thread.sleep(polls < 20 ? 50 : 200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + this, e);
            }
        }
    }

    /** One health check: GET /health on plain loopback, else {@code etcdctl endpoint health}. */
    public boolean healthy() {
        if (netns == null && tls == null) {
            try {
                HttpRequest req = HttpRequest.newBuilder(URI.create(endpoint() + "/health"))
                        .timeout(Duration.ofSeconds(2)).GET().build();
                HttpResponse<String> r = HTTP.send(req, HttpResponse.BodyHandlers.ofString());
                return r.statusCode() == 200 && r.body().contains("\"true\"");
            } catch (IOException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return etcdctl("endpoint", "health", "--command-timeout=2s").ok();
    }

    /** Thrown when etcd does not come up; {@code portClash} when it lost a port to another process. */
    static final class StartFailure extends IllegalStateException {
        final boolean portClash;

        StartFailure(String message, boolean portClash) {
            super(message);
            this.portClash = portClash;
        }
    }

    // ---- helpers ----

    static String url(String host, int port) {
        return "http://" + host + ":" + port;
    }

    static String randomHex(int n) {
        StringBuilder sb = new StringBuilder();
        ThreadLocalRandom r = ThreadLocalRandom.current();
        for (int i = 0; i < n; i++) {
            sb.append(Character.forDigit(r.nextInt(16), 16));
        }
        return sb.toString();
    }

    static String etcdBinary() {
        return binary("testkit.etcd", "/usr/bin/etcd", "etcd");
    }

    static String etcdctlBinary() {
        return binary("testkit.etcdctl", "/usr/bin/etcdctl", "etcdctl");
    }

    private static String binary(String property, String usual, String fallback) {
        String p = System.getProperty(property);
        if (p != null && !p.isBlank()) {
            return p;
        }
        return Files.isExecutable(Path.of(usual)) ? usual : fallback;
    }

    /** Whether this etcd binary accepts {@code --unsafe-no-fsync} (3.4.?+ and 3.5 do), probed once. */
    static boolean noFsyncSupported() {
        Boolean s = noFsyncSupported;
        if (s == null) {
            s = Cmd.run(Duration.ofSeconds(10), etcdBinary(), "--unsafe-no-fsync", "--version").ok();
            noFsyncSupported = s;
        }
        return s;
    }
}
