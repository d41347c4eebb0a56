package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.Dockerd;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Processes;
import io.flanneld.testkit.TestPki;
import io.flanneld.testkit.Wait;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The built image, run as the DaemonSet runs it. {@code deploy/image/build} builds it first (a no-op when the saved
 * image was built from the same repository content). Two namespace hosts each get a dockerd of their own, the
 * saved image {@code docker load}ed into it, and the DaemonSet's two containers with the arguments of
 * {@link DaemonSetRun} (which {@code DaemonSetRunTest} holds to the manifest): the init container writes the network
 * config to etcd (over TLS with client certificates, from the files of the Secret's volume), then the daemon's
 * container runs in the host's network, with NET_ADMIN and NET_RAW and not privileged. On each host it leases a
 * subnet, writes subnet.env and the CNI conflist to the host's directories, installs its iptables rules in the host's
 * tables and answers the probe; pods on the two hosts reach each other over vxlan; {@code docker stop} is a clean stop
 * (exit 0) that keeps the lease; after the config is switched to udp, the same containers start again with the same
 * subnets, open /dev/net/tun for flannel0, and the pods reach each other over udp.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class ImageIT {
    private static final Path REPO = Path.of("..").toAbsolutePath().normalize();
    private static final Path BUILD_SCRIPT = REPO.resolve("deploy/image/build");
    private static final Path IMAGE_TAR = REPO.resolve("deploy/image/target/flanneld-java-image.tar");
    /** Bound on deploy/image/build; from scratch it takes about 2 minutes on 2 cores. */
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(15);
    private static final Duration T = Duration.ofSeconds(60);
    private static final String DAEMON = "flanneld-java";
    private static final String INIT = "write-net-conf";

    @TempDir
    Path dir;
    private DaemonCluster cluster;
    private final List<Dockerd> dockerds = new ArrayList<>();

    /** One node: its namespace host, its dockerd and where its host paths live. */
    private record Node(NetnsFabric.Host host, Dockerd docker, DaemonSetRun.Node spec) {
        Path subnetEnv() {
            return spec.hostPath("/run/flannel/subnet.env");
        }

        Path conflist() {
            return spec.hostPath("/etc/cni/net.d/" + CniConfig.FILE_NAME);
        }

        String logs() {
            Cmd.Result r = docker.docker(T, "logs", DAEMON);
            return r.stdout() + r.stderr();
        }

        String inspect(String format) {
            return docker.dockerOk("inspect", "-f", format, DAEMON).stdout().strip();
        }

        String env(String name) {
            try {
                return Files.readString(subnetEnv()).lines().filter(l -> l.startsWith(name + "=")).findFirst()
                        .orElseThrow(() -> new AssertionError("no " + name + " in " + subnetEnv()))
                        .substring(name.length() + 1);
            } catch (IOException e) {
                throw new AssertionError("cannot read " + subnetEnv(), e);
            }
        }

        /** The lease key name, e.g. 198.19.7.0-24, from FLANNEL_SUBNET. */
        String keyName() {
            String s = env("FLANNEL_SUBNET");
            String ip = s.substring(0, s.indexOf('/'));
            return ip.substring(0, ip.lastIndexOf('.')) + ".0-" + s.substring(s.indexOf('/') + 1);
        }
    }

    /** Builds the image (or finds it up to date) and checks the build left the machine's FORWARD chain as it was. */
    @BeforeAll
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    static void buildImage() throws IOException {
        String forwardBefore = Cmd.run(T, "iptables", "-S", "FORWARD").check().stdout();
        Path log = Path.of("target", "image-build.out").toAbsolutePath();
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(BUILD_SCRIPT.toString()).directory(REPO.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = false;
        try {
            done = p.waitFor(BUILD_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (!done) {
                stopBuild(p);
            }
        }
        String out = Files.readString(log);
        assertTrue(done, "deploy/image/build did not finish within " + BUILD_TIMEOUT.toMinutes() + " min:\n" + out);
        assertEquals(0, p.exitValue(), "deploy/image/build failed:\n" + out);
        out.lines().filter(l -> l.startsWith("build: ")).forEach(l -> System.out.println("ImageIT: " + l));
        System.out.printf("ImageIT: deploy/image/build took %.1f s%n", (System.nanoTime() - t0) / 1e9);
        assertTrue(Files.size(IMAGE_TAR) > 0, IMAGE_TAR + " is there");
        assertEquals(forwardBefore, Cmd.run(T, "iptables", "-S", "FORWARD").check().stdout(),
                "the machine's FORWARD chain is as it was before the build");
    }

    /** SIGTERM to the build script, whose trap stops its dockerd and unmounts what it left; then its whole tree. */
    private static void stopBuild(Process p) {
        boolean interrupted = Thread.interrupted();
        p.destroy();
        if (!Processes.awaitExit(p.toHandle(), Duration.ofSeconds(60))) {
            Processes.terminateTree(p.toHandle(), Duration.ofSeconds(5));
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @AfterEach
    void teardown() {
        try {
            for (Dockerd d : dockerds) {
                d.close();
            }
        } finally {
            if (cluster != null) {
                cluster.close();
            }
        }
    }

    @Test
    void theDaemonSetsContainersRunFromTheImageOnTwoHosts() throws Exception {
        long t0 = System.nanoTime();
        TestPki pki = TestPki.create(dir.resolve("pki"), "198.18.0.100");
        cluster = DaemonCluster.start(pki);
        Path tls = secretVolume(pki);
        Path netConf = Files.createDirectories(dir.resolve("net-conf"));
        Files.writeString(netConf.resolve("net-conf.json"), DaemonCluster.networkConfig("vxlan"));
        List<Node> nodes = List.of(node(1, tls, netConf), node(2, tls, netConf));
        System.out.printf("ImageIT: two hosts with dockerd and the image loaded after %.1f s%n", (System.nanoTime() - t0) / 1e9);

        // The init container writes the config on the first node and leaves it alone on the second.
        for (Node n : nodes) {
            Cmd.Result init = n.docker().docker(T, DaemonSetRun.initContainer(n.spec(), INIT).toArray(String[]::new));
            assertEquals(0, init.exitCode(), n.host().name() + "'s init container:\n" + init.stdout() + init.stderr());
        }
        assertEquals(DaemonCluster.networkConfig("vxlan"),
                cluster.etcd().etcdctl("get", DaemonCluster.PREFIX + "/config", "--print-value-only").check().stdout().strip());

        // vxlan
        for (Node n : nodes) {
            n.docker().dockerOk(DaemonSetRun.container(n.spec(), DAEMON).toArray(String[]::new));
        }
        Map<Node, String> keys = new HashMap<>();
        for (Node n : nodes) {
            awaitLog(n, "backend vxlan started", 1);
            keys.put(n, n.keyName());
            assertRunsAsTheDaemonSetSays(n);
            assertWroteTheHostsFiles(n);
            assertLease(n, keys.get(n), "vxlan");
            assertProbeAnswers200(n);
            assertRulesInTheHostsTables(n);
        }
        assertSubcommandAndMetricsWork(nodes);
        Map<Node, Pods.Pod> pods = new HashMap<>();
        for (Node n : nodes) {
            pods.put(n, cluster.pods().attach(n.host(), n.env("FLANNEL_SUBNET"), n.env("FLANNEL_MTU")));
        }
        assertPodsReachEachOther(nodes, pods, "flannel.1");
        System.out.printf("ImageIT: vxlan pods reach each other after %.1f s%n", (System.nanoTime() - t0) / 1e9);

        // docker stop: SIGTERM, exit 0, the lease stays in etcd for the next start.
        for (Node n : nodes) {
            assertCleanStopKeepsTheLease(n, keys.get(n), "vxlan", 1);
        }

        // udp: the operator switches the config and removes the vxlan device; the same containers start again.
        cluster.config(DaemonCluster.networkConfig("udp"));
        for (Node n : nodes) {
            n.host().exec("ip", "link", "del", "flannel.1").check();
            n.docker().dockerOk("start", DAEMON);
        }
        for (Node n : nodes) {
            awaitLog(n, "backend udp started", 1);
            assertEquals(keys.get(n), n.keyName(), n.host().name() + " keeps its subnet across the restart");
            assertLease(n, keys.get(n), "udp");
            assertTrue(n.host().exec("ip", "link", "show", "flannel0").ok(), n.host().name() + " has flannel0 (/dev/net/tun)\n" + n.logs());
            assertProbeAnswers200(n);
        }
        assertPodsReachEachOther(nodes, pods, "flannel0");
        for (Node n : nodes) {
            assertCleanStopKeepsTheLease(n, keys.get(n), "udp", 2);
        }
        System.out.printf("ImageIT: %.1f s in all (without the image build)%n", (System.nanoTime() - t0) / 1e9);
    }

    /** The Secret's volume: its three items, with its defaultMode. */
    private Path secretVolume(TestPki pki) throws IOException {
        Path tls = Files.createDirectories(dir.resolve("etcd-tls"));
        Map<String, Path> items = Map.of("ca.crt", pki.caCert(), "client.crt", pki.clientCert(), "client.key", pki.clientKey());
        for (var item : items.entrySet()) {
            Path f = tls.resolve(item.getKey());
            Files.copy(item.getValue(), f, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(DaemonSetRun.SECRET_FILE_MODE));
        }
        return tls;
    }

    /**
     * Host {@code h<i>} as a node: a default route (the daemon picks the interface of the default route, as the
     * manifest gives no --iface; the gateway is an unused fabric address, so nothing leaves the fabric), the host
     * paths kubelet would create (DirectoryOrCreate, FileOrCreate), and a dockerd of its own with the image loaded.
     */
    private Node node(int i, Path tls, Path netConf) throws IOException {
        NetnsFabric.Host host = cluster.fabric().addHost("h" + i, "198.18.0." + i + "/16");
        host.exec("ip", "route", "add", "default", "via", "198.18.0.254", "dev", "eth0").check();
        Path root = dir.resolve("node-" + host.name());
        DaemonSetRun.Node spec = new DaemonSetRun.Node(root, host.ip(), cluster.etcd().endpoint(), tls, netConf);
        Files.createDirectories(spec.hostPath("/run/flannel"));
        Files.createDirectories(spec.hostPath("/etc/cni/net.d"));
        Files.createFile(spec.hostPath("/run/xtables.lock"));
        // No bridge: the host's containers all use the host's network; iptables stays on, so dockerd sets the
        // FORWARD policy to DROP as on a real node and pod traffic needs the daemon's forward rules.
        Dockerd docker = Dockerd.start(host, dir.resolve(host.name()).resolve("dockerd.log"), List.of("--bridge=none"));
        dockerds.add(docker);
        long t0 = System.nanoTime();
        docker.docker(Duration.ofMinutes(3), "load", "-i", IMAGE_TAR.toString()).check();
        System.out.printf("ImageIT: docker load into %s's dockerd: %d ms%n", host.name(), (System.nanoTime() - t0) / 1_000_000);
        assertEquals(DaemonSetRun.IMAGE, docker.dockerOk("image", "ls", "--format", "{{.Repository}}:{{.Tag}}").stdout().strip());
        return new Node(host, docker, spec);
    }

    /** Waits until the container's log shows {@code text} {@code times} times (once per start). */
    private static void awaitLog(Node n, String text, int times) {
        Wait.until(T, Duration.ofMillis(250), n.host().name() + "'s container logs \"" + text + "\" " + times + " time(s)",
                () -> {
                    String logs = n.logs();
                    if (n.inspect("{{.State.Running}}").equals("false")) {
                        throw new AssertionError(n.host().name() + "'s container exited " + n.inspect("{{.State.ExitCode}}")
                                + ":\n" + logs);
                    }
                    return logs.split(java.util.regex.Pattern.quote(text), -1).length - 1 >= times;
                });
    }

    private static void assertRunsAsTheDaemonSetSays(Node n) {
        assertEquals("host", n.inspect("{{.HostConfig.NetworkMode}}"));
        assertEquals("false", n.inspect("{{.HostConfig.Privileged}}"));
        assertEquals("[NET_ADMIN NET_RAW]", n.inspect("{{.HostConfig.CapAdd}}"));
        assertEquals(DaemonSetRun.IMAGE, n.inspect("{{.Config.Image}}"));
        String logs = n.logs();
        assertTrue(logs.contains("interface eth0"), "the daemon picked eth0, the default route's interface:\n" + logs);
        assertTrue(logs.contains("(TLS)"), "etcd over TLS:\n" + logs);
    }

    private static void assertWroteTheHostsFiles(Node n) throws IOException {
        assertTrue(Files.exists(n.subnetEnv()), n.subnetEnv().toString());
        assertEquals("198.19.0.0/16", n.env("FLANNEL_NETWORK"));
        assertEquals("true", n.env("FLANNEL_IPMASQ"));
        String conflist = Files.readString(n.conflist());
        assertTrue(conflist.contains("\"type\" : \"bridge\"") || conflist.contains("\"type\":\"bridge\""), conflist);
        assertTrue(conflist.contains(n.keyName().replace('-', '/')), "the conflist hands out " + n.keyName() + ":\n" + conflist);
    }

    private void assertLease(Node n, String key, String backend) {
        String lease = cluster.leaseValue(key);
        assertTrue(lease.contains("\"PublicIP\":\"" + n.host().ip() + "\"") && lease.contains("\"BackendType\":\"" + backend + "\""),
                n.host().name() + "'s lease " + key + ": " + lease);
    }

    private static void assertProbeAnswers200(Node n) {
        Wait.until(Duration.ofSeconds(30), Duration.ofMillis(250), n.host().name() + " answers GET " + DaemonSetRun.PROBE_PATH,
                () -> Daemons.httpGet(n.host(), DaemonSetRun.PROBE_PORT, DaemonSetRun.PROBE_PATH).startsWith("HTTP/1.1 200"));
    }

    /** {@code leases} in the running container (its environment names etcd and the TLS files) and /metrics. */
    private static void assertSubcommandAndMetricsWork(List<Node> nodes) {
        Node n = nodes.get(0);
        Cmd.Result leases = n.docker().exec(DAEMON, T, "/opt/flanneld-java/bin/java", "-jar", "/opt/flanneld-java/flanneld-java.jar", "leases");
        assertEquals(0, leases.exitCode(), leases.stdout() + leases.stderr());
        for (Node other : nodes) {
            assertTrue(leases.stdout().contains(other.host().ip()), "leases lists " + other.host().ip() + ":\n" + leases.stdout());
        }
        String metrics = Daemons.httpGet(n.host(), DaemonSetRun.PROBE_PORT, "/metrics");
        assertEquals(1.0, Daemons.metric(metrics, "flannel_lease_held"), metrics);
    }

    /** The container's iptables wrote into the host's tables (the ones the host's own iptables shows). */
    private static void assertRulesInTheHostsTables(Node n) {
        String filter = n.host().exec("iptables", "-S").check().stdout();
        assertTrue(filter.contains("-A FLANNEL-FWD -s 198.19.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT"), filter);
        String nat = n.host().exec("iptables", "-t", "nat", "-S").check().stdout();
        assertTrue(nat.contains("-A POSTROUTING -m comment --comment \"flanneld masq\" -j FLANNEL-POSTRTG"), nat);
    }

    private static void assertPodsReachEachOther(List<Node> nodes, Map<Node, Pods.Pod> pods, String device) {
        for (Node from : nodes) {
            for (Node to : nodes) {
                if (from == to) {
                    continue;
                }
                String dst = pods.get(to).ip();
                String route = from.host().exec("ip", "route", "get", dst).check().stdout();
                assertTrue(route.contains("dev " + device), from.host().name() + " routes " + dst + " over " + device + ": " + route);
                Cmd.Result r = pods.get(from).ping(dst, 3);
                assertTrue(r.ok(), "pod on " + from.host().name() + " pings pod " + dst + " on " + to.host().name() + ": "
                        + r.stdout() + r.stderr() + "\n" + from.logs());
            }
        }
    }

    private void assertCleanStopKeepsTheLease(Node n, String key, String backend, int stops) {
        long t0 = System.nanoTime();
        n.docker().docker(Duration.ofSeconds(DaemonSetRun.STOP_GRACE_SECONDS + 30L), "stop", "-t",
                Integer.toString(DaemonSetRun.STOP_GRACE_SECONDS), DAEMON).check();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        String logs = n.logs();
        assertEquals("0", n.inspect("{{.State.ExitCode}}"), n.host().name() + "'s daemon exits 0 on docker stop:\n" + logs);
        assertEquals(stops, logs.split("stopped; lease kept for the next start", -1).length - 1, logs);
        assertFalse(logs.contains("\tat "), "no stack trace:\n" + logs);
        assertLease(n, key, backend);
        assertTrue(Files.exists(n.subnetEnv()), "subnet.env stays for the next start");
        System.out.printf("ImageIT: docker stop of %s's daemon (%s) took %d ms%n", n.host().name(), backend, ms);
    }
}
