package io.flanneld.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * A real Docker daemon (Debian's {@code docker.io}) inside one {@link NetnsFabric.Host}'s network namespace.
 *
 * <p>dockerd runs under {@code nsenter --net=/var/run/netns/<host>} (not {@code ip netns exec}, which remounts
 * {@code /sys} and hides the cgroup mounts dockerd needs), so the bridge, the iptables rules and the
 * {@code ip_forward} it sets are the host namespace's, never the machine's. Everything else it keeps is in a
 * directory of its own under {@code /tmp}: {@code --data-root}, {@code --exec-root} (where its own managed containerd
 * keeps its socket and state), {@code --pidfile}, the API socket, a {@code --config-file} (which also moves the
 * daemon's key out of {@code /etc/docker}), and {@code --storage-driver vfs}. Two instances never share state.
 *
 * <p>Images come without a registry: {@link #importBusybox()} imports a root file system made of the static
 * {@code /bin/busybox} ({@code busybox-static}) and one symlink per applet.
 *
 * <p>{@link #close()} removes every container, stops dockerd (SIGTERM, then SIGKILL after {@link #STOP_GRACE}),
 * kills any containerd shim or container process it left behind (a shim's command line names this directory; a
 * container's pid is in containerd's task directory), unmounts whatever is still mounted under its directory, and deletes the directory. It is idempotent,
 * and the host's fabric calls it before deleting the namespaces.
 */
public final class Dockerd implements AutoCloseable {
    /** The name {@link #importBusybox()} gives its image. */
    public static final String BUSYBOX_IMAGE = "flannel-test/busybox";
    /** Bound on dockerd answering {@code docker info} after it was started. */
    public static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    /** Grace between SIGTERM and SIGKILL when stopping dockerd. */
    public static final Duration STOP_GRACE = Duration.ofSeconds(20);
    /** Bound on each docker command run for the caller when none is given. */
    public static final Duration DOCKER_TIMEOUT = Duration.ofSeconds(60);

    private static final Path BUSYBOX = Path.of("/bin/busybox");
    private static final Path DEBIAN_DOCKER_CLI = Path.of("/usr/bin/docker");
    private static final Duration CMD_TIMEOUT = Duration.ofSeconds(30);
    private static final Path SHIM_SOCKET_DIR = Path.of("/run/containerd/s");

    private final NetnsFabric.Host host;
    private final Path dir;
    private final Path log;
    private final Process process;
    private final String socket;
    private final Map<String, String> cliEnv;
    private Duration startTime;
    private boolean closed;

    private Dockerd(NetnsFabric.Host host, Path dir, Path log, Process process) {
        this.host = host;
        this.dir = dir;
        this.log = log;
        this.process = process;
        this.socket = "unix://" + dir.resolve("docker.sock");
        this.cliEnv = Map.of("DOCKER_CONFIG", dir.resolve("cli").toString());
    }

    /**
     * Starts dockerd in {@code host}'s namespace with {@code options} added to the isolating ones (e.g. flannel's
     * {@code --bip}, {@code --mtu}, {@code --ip-masq}), its output appended to {@code logFile}, and waits until it
     * answers {@code docker info} (at most {@link #START_TIMEOUT}). The host's fabric owns the result.
     *
     * @throws AssertionError if dockerd exits or does not answer in time (with the end of its log)
     */
    public static Dockerd start(NetnsFabric.Host host, Path logFile, List<String> options) {
        Path dir;
        try {
            dir = Files.createTempDirectory(Path.of("/tmp"), "dkd-" + host.netns() + "-");
            Files.writeString(dir.resolve("daemon.json"),
                    "{\"deprecated-key-path\":\"" + dir.resolve("key.json") + "\"}\n", StandardCharsets.UTF_8);
            Path parent = logFile.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot prepare dockerd's directory for " + host, e);
        }
        List<String> cmd = new ArrayList<>(List.of(
                "nsenter", "--net=/var/run/netns/" + host.netns(), "dockerd",
                "--config-file", dir.resolve("daemon.json").toString(),
                "--data-root", dir.resolve("data").toString(),
                "--exec-root", dir.resolve("exec").toString(),
                "--pidfile", dir.resolve("docker.pid").toString(),
                "-H", "unix://" + dir.resolve("docker.sock"),
                "--storage-driver", "vfs"));
        cmd.addAll(options);
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        // dockerd finds iptables, runc, containerd and docker-proxy on PATH; /usr/sbin may be missing from it.
        pb.environment().merge("PATH", "/usr/local/sbin:/usr/sbin:/sbin", (a, b) -> a + ":" + b);
        long t0 = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            Files2.deleteTree(dir);
            throw new UncheckedIOException("cannot start " + String.join(" ", cmd), e);
        }
        Dockerd d = host.fabric().own(new Dockerd(host, dir, logFile, p));
        try {
            Wait.until(START_TIMEOUT, Duration.ofMillis(200), "dockerd in " + host.netns() + " to answer docker info",
                    () -> {
                        if (!p.isAlive()) {
                            throw new AssertionError("dockerd in " + host.netns() + " exited " + p.exitValue());
                        }
                        return d.docker(Duration.ofSeconds(10), "info", "--format", "{{.ServerVersion}}").ok();
                    });
        } catch (AssertionError | RuntimeException e) {
            String tail = d.logTail(30);
            d.close();
            throw new AssertionError(e.getMessage() + "\ndockerd's log ends:\n" + tail, e);
        }
        d.startTime = Duration.ofNanos(System.nanoTime() - t0);
        return d;
    }

    /** The host whose namespace dockerd runs in. */
    public NetnsFabric.Host host() {
        return host;
    }

    /** dockerd's own directory (data root, exec root, socket). */
    public Path dir() {
        return dir;
    }

    /** dockerd's process id. */
    public long pid() {
        return process.pid();
    }

    /** From starting dockerd to its first answer to {@code docker info}. */
    public Duration startTime() {
        return startTime;
    }

    /** The last {@code lines} lines of dockerd's log. */
    public String logTail(int lines) {
        return Files2.tailLines(Files2.readFrom(log, 0), lines);
    }

    /** Runs the docker CLI against this dockerd: {@code docker -H unix://… args}, bounded by {@code timeout}. */
    public Cmd.Result docker(Duration timeout, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Files.isExecutable(DEBIAN_DOCKER_CLI) ? DEBIAN_DOCKER_CLI.toString() : "docker");
        cmd.add("-H");
        cmd.add(socket);
        cmd.addAll(List.of(args));
        return Cmd.run(timeout, cliEnv, cmd);
    }

    /** Like {@link #docker(Duration, String...)} bounded by {@link #DOCKER_TIMEOUT}, failing unless it succeeds. */
    public Cmd.Result dockerOk(String... args) {
        return docker(DOCKER_TIMEOUT, args).check();
    }

    /**
     * Imports {@link #BUSYBOX_IMAGE} without a registry: a root file system of {@code /bin/busybox} (static), a
     * symlink per applet in {@code /bin} ({@code sh}, {@code ping}, {@code nc}, {@code ip}, {@code md5sum}, …),
     * and empty {@code /tmp}, {@code /etc}, {@code /proc}, {@code /sys}, {@code /dev}, {@code tar}'d and
     * {@code docker import}ed. Returns the image name.
     */
    public String importBusybox() {
        Path rootfs = dir.resolve("busybox-rootfs");
        Path tar = dir.resolve("busybox-rootfs.tar");
        try {
            Path bin = Files.createDirectories(rootfs.resolve("bin"));
            for (String d : List.of("tmp", "etc", "proc", "sys", "dev", "root")) {
                Files.createDirectories(rootfs.resolve(d));
            }
            Files.copy(BUSYBOX, bin.resolve("busybox"));
            bin.resolve("busybox").toFile().setExecutable(true, false);
            for (String applet : Cmd.run(CMD_TIMEOUT, BUSYBOX.toString(), "--list").check().stdout().split("\n")) {
                String a = applet.strip();
                if (!a.isEmpty() && !a.equals("busybox") && !a.contains("/")) {
                    Files.createSymbolicLink(bin.resolve(a), Path.of("busybox"));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot build the busybox root file system in " + rootfs, e);
        }
        Cmd.run(CMD_TIMEOUT, "tar", "-C", rootfs.toString(), "-cf", tar.toString(), ".").check();
        dockerOk("import", tar.toString(), BUSYBOX_IMAGE);
        Files2.deleteTree(rootfs);
        try {
            Files.deleteIfExists(tar);
        } catch (IOException ignored) {
            // removed with the directory on close
        }
        return BUSYBOX_IMAGE;
    }

    /** {@code docker run -d --name NAME IMAGE COMMAND…}; returns the container's id. */
    public String run(String name, String image, String... command) {
        List<String> args = new ArrayList<>(List.of("run", "-d", "--name", name, image));
        args.addAll(List.of(command));
        return dockerOk(args.toArray(String[]::new)).stdout().strip();
    }

    /** The container's address on its network (with the default bridge, an address of {@code --bip}'s subnet). */
    public String ip(String container) {
        return dockerOk("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container)
                .stdout().strip();
    }

    /** {@code docker exec CONTAINER COMMAND…}, bounded by {@code timeout}. */
    public Cmd.Result exec(String container, Duration timeout, String... command) {
        List<String> args = new ArrayList<>(List.of("exec", container));
        args.addAll(List.of(command));
        return docker(timeout, args.toArray(String[]::new));
    }

    /** {@code docker exec -d CONTAINER COMMAND…}: starts the command in the container and returns at once. */
    public void execDetached(String container, String... command) {
        List<String> args = new ArrayList<>(List.of("exec", "-d", container));
        args.addAll(List.of(command));
        dockerOk(args.toArray(String[]::new));
    }

    /**
     * Removes every container, stops dockerd, ends what it left running, unmounts what it left mounted under its
     * directory and deletes the directory. Idempotent; reports problems on stderr and carries on.
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (process.isAlive()) {
            removeContainers();
        }
        stopDaemon();
        killLeftoverTasks();
        List<String> mounted = unmountAll();
        if (mounted.isEmpty()) {
            try {
                Files2.deleteTree(dir);
            } catch (RuntimeException e) {
                System.err.println("testkit: cannot delete " + dir + ": " + e);
            }
        } else {
            System.err.println("testkit: " + dir + " kept, still mounted: " + mounted);
        }
    }

    private void removeContainers() {
        Cmd.Result ps = docker(CMD_TIMEOUT, "ps", "-aq");
        if (!ps.ok()) {
            return;
        }
        List<String> ids = ps.stdout().lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
        if (!ids.isEmpty()) {
            List<String> args = new ArrayList<>(List.of("rm", "-f"));
            args.addAll(ids);
            Cmd.Result rm = docker(CMD_TIMEOUT, args.toArray(String[]::new));
            if (!rm.ok()) {
                System.err.println("testkit: docker rm -f in " + host.netns() + " failed: " + rm.stderr().strip());
            }
        }
    }

    /** SIGTERM to dockerd alone (it stops its containerd itself), then SIGKILL to whatever of its tree is left. */
    private void stopDaemon() {
        List<ProcessHandle> tree = new ArrayList<>();
        tree.add(process.toHandle());
        try {
            process.toHandle().descendants().forEach(tree::add);
        } catch (RuntimeException ignored) {
            // gone already
        }
        process.destroy();
        if (!Processes.awaitExit(process.toHandle(), STOP_GRACE)) {
            System.err.println("testkit: dockerd " + process.pid() + " in " + host.netns() + " ignored SIGTERM for "
                    + STOP_GRACE.toSeconds() + " s; killing it");
        }
        for (ProcessHandle h : tree) {
            if (Processes.isRunning(h)) {
                h.destroyForcibly();
            }
        }
        for (ProcessHandle h : tree) {
            Processes.awaitExit(h, Duration.ofSeconds(5));
        }
    }

    /**
     * containerd's shims detach from it (their parent is init), so a dockerd that was killed can leave them and the
     * containers' processes running. A shim is known by its command line, which names containerd's socket under this
     * directory; a container's process by the pid containerd wrote in the task's directory under the exec root, if
     * that process's cgroup still names the container.
     */
    private void killLeftoverTasks() {
        List<ProcessHandle> leftovers = new ArrayList<>();
        List<Path> shimSockets = new ArrayList<>();
        Path tasks = dir.resolve("exec").resolve("containerd").resolve("daemon").resolve("io.containerd.runtime.v2.task");
        if (Files.isDirectory(tasks)) {
            try (DirectoryStream<Path> namespaces = Files.newDirectoryStream(tasks)) {
                for (Path ns : namespaces) {
                    try (DirectoryStream<Path> ids = Files.newDirectoryStream(ns)) {
                        for (Path task : ids) {
                            String id = task.getFileName().toString();
                            pidIn(task.resolve("init.pid"))
                                    .filter(h -> procText(h, "cgroup").contains(id))
                                    .ifPresent(leftovers::add);
                            shimSocket(task).ifPresent(shimSockets::add);
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                System.err.println("testkit: cannot list containerd's tasks under " + tasks + ": " + e);
            }
        }
        String under = dir + "/";
        ProcessHandle.allProcesses()
                .filter(Processes::isRunning)
                .filter(h -> procText(h, "comm").startsWith("containerd-shim"))
                .filter(h -> procText(h, "cmdline").contains(under))
                .forEach(leftovers::add);
        for (ProcessHandle h : leftovers) {
            System.err.println("testkit: killing " + procText(h, "comm").strip() + " (pid " + h.pid()
                    + ") left behind by dockerd in " + host.netns());
            h.destroyForcibly();
        }
        for (ProcessHandle h : leftovers) {
            Processes.awaitExit(h, Duration.ofSeconds(5));
        }
        // A shim removes its socket when it exits normally; a killed one leaves it in containerd's fixed directory.
        for (Path socketFile : shimSockets) {
            try {
                Files.deleteIfExists(socketFile);
            } catch (IOException e) {
                System.err.println("testkit: cannot delete shim socket " + socketFile + ": " + e);
            }
        }
    }

    /**
     * The socket of a task's shim, from the task's {@code address} file: containerd 1.6 puts every shim's socket in
     * {@code /run/containerd/s/} (whatever its own state directory), named by a hash of its address and the task.
     */
    private static java.util.Optional<Path> shimSocket(Path task) {
        try {
            String address = Files.readString(task.resolve("address")).strip();
            if (address.startsWith("unix://")) {
                Path socketFile = Path.of(address.substring("unix://".length())).normalize();
                if (socketFile.startsWith(SHIM_SOCKET_DIR) && !socketFile.equals(SHIM_SOCKET_DIR)) {
                    return java.util.Optional.of(socketFile);
                }
            }
        } catch (IOException | RuntimeException e) {
            // no address yet, or the task is gone
        }
        return java.util.Optional.empty();
    }

    private static java.util.Optional<ProcessHandle> pidIn(Path pidFile) {
        try {
            if (!Files.exists(pidFile)) {
                return java.util.Optional.empty();
            }
            long pid = Long.parseLong(Files.readString(pidFile).strip());
            return ProcessHandle.of(pid).filter(Processes::isRunning);
        } catch (IOException | NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    private static String procText(ProcessHandle h, String file) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), file)), StandardCharsets.UTF_8)
                    .replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    /** Mount points at or under this dockerd's directory, deepest first (from /proc/self/mountinfo). */
    public List<String> mountsUnderDir() {
        List<String> found = new ArrayList<>();
        String root = dir.toString();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                String[] f = line.split(" ");
                if (f.length > 4) {
                    String mountPoint = unescape(f[4]);
                    if (mountPoint.equals(root) || mountPoint.startsWith(root + "/")) {
                        found.add(mountPoint);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read /proc/self/mountinfo", e);
        }
        found.sort(Comparator.comparingInt(String::length).reversed());
        return found;
    }

    /** Unmounts everything under the directory (lazily if busy); returns what is still mounted afterwards. */
    private List<String> unmountAll() {
        for (int round = 0; round < 5; round++) {
            List<String> mounts;
            try {
                mounts = mountsUnderDir();
            } catch (RuntimeException e) {
                System.err.println("testkit: " + e);
                return List.of(dir.toString());
            }
            if (mounts.isEmpty()) {
                return mounts;
            }
            for (String m : mounts) {
                if (!Cmd.run(CMD_TIMEOUT, "umount", m).ok()) {
                    Cmd.Result lazy = Cmd.run(CMD_TIMEOUT, "umount", "-l", m);
                    if (!lazy.ok()) {
                        System.err.println("testkit: umount -l " + m + " failed: " + lazy.stderr().strip());
                    }
                }
            }
        }
        return mountsUnderDir();
    }

    /** mountinfo escapes space, tab, newline and backslash as three octal digits. */
    private static String unescape(String s) {
        if (s.indexOf('\\') < 0) {
            return s;
        }
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    @Override
    public String toString() {
        return "dockerd[pid " + process.pid() + " in " + host.netns() + ", " + dir + "]";
    }
}
