package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.Dockerd;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Docker's path, with a real dockerd per node: dockerd takes {@code --bip}, {@code --mtu} and {@code --ip-masq}
 * from the node's subnet.env through {@code mk-docker-opts}, and on a fresh node (IP forwarding off) it turns
 * forwarding on and sets the FORWARD policy to DROP. Containers on different nodes then reach each other only
 * through the daemon's forward rules (chain FLANNEL-FWD, {@code --iptables-forward-rules}, on by default).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class DockerIT {
    private static final String NETWORK = "198.19.0.0/16";
    private static final int TRANSFER_BYTES = 1 << 20;
    private static final Pattern POLICY_COUNTER = Pattern.compile("Chain FORWARD \\(policy (\\w+) (\\d+) packets");

    private DaemonCluster cluster;
    private final List<Dockerd> dockerds = new ArrayList<>();
    private long startNanos;

    @TempDir
    Path dir;

    /** One node: our daemon, a dockerd configured from its subnet.env, and a busybox container. */
    private record Node(NetnsFabric.Host host, Daemons.Running daemon, Dockerd docker, String container, String ip) {
        Cmd.Result exec(Duration timeout, String... command) {
            return docker.exec(container, timeout, command);
        }
    }

    @BeforeEach
    void cluster() {
        startNanos = System.nanoTime();
        cluster = DaemonCluster.start();
        cluster.config(DaemonCluster.networkConfig("vxlan"));
    }

    @AfterEach
    void teardown(TestInfo test) {
        try {
            for (Dockerd d : dockerds) {
                d.close();
            }
        } finally {
            cluster.close();
        }
        StringBuilder starts = new StringBuilder();
        for (Dockerd d : dockerds) {
            starts.append(' ').append(d.host().name()).append(' ').append(d.startTime().toMillis()).append(" ms");
        }
        System.out.printf("DockerIT.%s: %.1f s in all, set-up and clean-up included; dockerd answered after:%s%n",
                test.getTestMethod().map(m -> m.getName()).orElse("?"), (System.nanoTime() - startNanos) / 1e9, starts);
    }

    /**
     * A fresh node {@code h<i>}: IP forwarding off, our daemon (with {@code --ip-masq}, so Docker must not
     * masquerade), dockerd started with the options {@code mk-docker-opts} derives from subnet.env, one container.
     */
    private Node node(int i, String... daemonFlags) {
        NetnsFabric.Host host = cluster.fabric().addHost("h" + i, "198.18.0." + i + "/16");
        host.exec("sysctl", "-qw", "net.ipv4.ip_forward=0").check();
        List<String> flags = new ArrayList<>(List.of("--ip-masq"));
        flags.addAll(List.of(daemonFlags));
        Daemons.Running daemon = Daemons.start(host, dir.resolve(host.name()), cluster.etcd().endpoint(),
                flags.toArray(String[]::new));
        daemon.awaitSubnetFile();
        daemon.awaitLog("backend vxlan started");

        Cmd.Result mk = Cmd.run(Duration.ofSeconds(60), "java", "-jar", Daemons.JAR.toString(), "mk-docker-opts",
                "-f", daemon.subnetFile().toString(), "-d", "-");
        assertEquals(0, mk.exitCode(), mk.stdout() + mk.stderr());
        String dockerOpts = mk.stdout().lines().filter(l -> l.startsWith("DOCKER_OPTS=")).findFirst()
                .orElseThrow(() -> new AssertionError("no DOCKER_OPTS in\n" + mk.stdout()))
                .replaceAll("^DOCKER_OPTS=\"(.*)\"$", "$1");
        assertEquals("--bip=" + daemon.subnet() + " --ip-masq=false --mtu=1450", dockerOpts);

        Dockerd docker = Dockerd.start(host, dir.resolve(host.name()).resolve("dockerd.log"), List.of(dockerOpts.split(" ")));
        dockerds.add(docker);
        docker.importBusybox();
        String container = "c" + i;
        docker.run(container, Dockerd.BUSYBOX_IMAGE, "sleep", "3600");
        String ip = docker.ip(container);
        String subnet = daemon.keyName().replace('-', '/');
        assertTrue(Ip4Net.parse(subnet).contains(Ip4.parse(ip)), "container address " + ip + " lies in the node's subnet " + subnet);
        return new Node(host, daemon, docker, container, ip);
    }

    private static void awaitRoutes(Node a, Node b) {
        for (Node[] pair : new Node[][] {{a, b}, {b, a}}) {
            String peerNet = pair[1].daemon().keyName().replace('-', '/');
            Wait.until(Duration.ofSeconds(15), Duration.ofMillis(100), pair[0].host().name() + " routes " + peerNet + " over flannel.1",
                    () -> pair[0].host().exec("ip", "route", "show", peerNet).stdout().contains("flannel.1"));
        }
    }

    /** {@code iptables -S} and the FORWARD chain with its counters, for failure messages. */
    private static String filterTable(NetnsFabric.Host host) {
        return host.name() + ":\n" + host.exec("iptables", "-S").stdout()
                + host.exec("iptables", "-L", "FORWARD", "-v", "-n", "-x").stdout();
    }

    /** The FORWARD chain's policy and how many packets it has dropped (or accepted) so far. */
    private static long policyPackets(NetnsFabric.Host host, String expectedPolicy) {
        String listing = host.exec("iptables", "-L", "FORWARD", "-v", "-n", "-x").check().stdout();
        Matcher m = POLICY_COUNTER.matcher(listing);
        assertTrue(m.find(), listing);
        assertEquals(expectedPolicy, m.group(1), "FORWARD policy on " + host.name() + ":\n" + listing);
        return Long.parseLong(m.group(2));
    }

    private static void assertDockerSetForwardPolicyToDrop(Node n) {
        assertEquals("1", n.host().exec("sysctl", "-n", "net.ipv4.ip_forward").check().stdout().strip(),
                "dockerd turned forwarding on on " + n.host().name());
        String forward = n.host().exec("iptables", "-S", "FORWARD").check().stdout();
        assertTrue(forward.startsWith("-P FORWARD DROP"), "dockerd set the FORWARD policy to DROP on " + n.host().name() + ":\n" + forward);
        assertTrue(forward.contains("-A FORWARD -i docker0 ! -o docker0 -j ACCEPT"), forward);
        policyPackets(n.host(), "DROP");
    }

    private static Cmd.Result ping(Node from, Node to) {
        return from.exec(Duration.ofSeconds(20), "ping", "-c", "3", "-W", "2", to.ip());
    }

    @Test
    void containersOnTwoNodesReachEachOtherThroughTheDaemonsForwardRules() {
        Node n1 = node(1);
        Node n2 = node(2);
        assertDockerSetForwardPolicyToDrop(n1);
        assertDockerSetForwardPolicyToDrop(n2);
        awaitRoutes(n1, n2);

        for (Node[] pair : new Node[][] {{n1, n2}, {n2, n1}}) {
            Cmd.Result r = ping(pair[0], pair[1]);
            assertTrue(r.ok(), pair[0].container() + " (" + pair[0].ip() + ") pings " + pair[1].container() + " (" + pair[1].ip()
                    + "): " + r.stdout() + r.stderr() + "\n" + filterTable(pair[1].host()) + filterTable(pair[0].host()));
        }
        for (Node n : List.of(n1, n2)) {
            String rules = n.host().exec("iptables", "-S").check().stdout();
            assertTrue(rules.contains("-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD"), rules);
            assertTrue(rules.contains("-A FLANNEL-FWD -s " + NETWORK + " -m comment --comment \"flanneld forward\" -j ACCEPT"), rules);
            assertTrue(rules.contains("-A FLANNEL-FWD -d " + NETWORK + " -m comment --comment \"flanneld forward\" -j ACCEPT"), rules);
        }

        // The receiver sees the sender's own address: the daemon masquerades (and leaves the Network alone), Docker does not.
        n2.docker().execDetached(n2.container(), "nc", "-l", "-p", "5002", "-e", "netstat", "-tn");
        awaitListening(n2, 5002);
        Cmd.Result seen = n1.exec(Duration.ofSeconds(20), "sh", "-c", "nc " + n2.ip() + " 5002 < /dev/null");
        assertTrue(seen.ok() && seen.stdout().contains(n2.ip() + ":5002") && seen.stdout().contains(n1.ip() + ":"),
                "the connection on " + n2.container() + " comes from " + n1.ip() + ":\n" + seen.stdout() + seen.stderr());

        // 1 MiB of random bytes over TCP, checked on the far side.
        String sent = n1.exec(Duration.ofSeconds(20), "sh", "-c",
                "head -c " + TRANSFER_BYTES + " /dev/urandom > /tmp/send && md5sum /tmp/send").check().stdout().split("\\s+")[0];
        n2.docker().execDetached(n2.container(), "nc", "-l", "-p", "5001", "-e", "sh", "-c", "cat > /tmp/recv");
        awaitListening(n2, 5001);
        long t0 = System.nanoTime();
        n1.exec(Duration.ofSeconds(60), "sh", "-c", "nc " + n2.ip() + " 5001 < /tmp/send").check();
        Wait.until(Duration.ofSeconds(30), Duration.ofMillis(100), TRANSFER_BYTES + " bytes in " + n2.container() + ":/tmp/recv",
                () -> n2.exec(Duration.ofSeconds(10), "sh", "-c", "wc -c < /tmp/recv").stdout().strip().equals(Integer.toString(TRANSFER_BYTES)));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        String received = n2.exec(Duration.ofSeconds(20), "md5sum", "/tmp/recv").check().stdout().split("\\s+")[0];
        assertEquals(sent, received, "md5 of what " + n2.container() + " received");
        System.out.printf("DockerIT: %d bytes from %s to %s over nc in %d ms%n", TRANSFER_BYTES, n1.ip(), n2.ip(), ms);
    }

    @Test
    void withoutTheForwardRulesDockersDropPolicyDropsTrafficBetweenNodes() {
        Node n1 = node(1, "--iptables-forward-rules=false");
        Node n2 = node(2, "--iptables-forward-rules=false");
        assertDockerSetForwardPolicyToDrop(n1);
        assertDockerSetForwardPolicyToDrop(n2);
        awaitRoutes(n1, n2);
        for (Node n : List.of(n1, n2)) {
            String rules = n.host().exec("iptables", "-S").check().stdout();
            assertFalse(rules.contains("FLANNEL-FWD"), "no forward rules with --iptables-forward-rules=false:\n" + rules);
        }
        // The underlay and the tunnel work: each node reaches the other's bridge address (delivered locally, not forwarded).
        String gw2 = n2.daemon().subnet().substring(0, n2.daemon().subnet().indexOf('/'));
        Cmd.Result toBridge = n1.host().exec(Duration.ofSeconds(15), "ping", "-c", "2", "-W", "2", gw2);
        assertTrue(toBridge.ok(), "h1 pings h2's docker0 " + gw2 + ": " + toBridge.stdout() + toBridge.stderr());

        for (Node[] pair : new Node[][] {{n1, n2}, {n2, n1}}) {
            Node from = pair[0];
            Node to = pair[1];
            long before = policyPackets(to.host(), "DROP");
            Cmd.Result r = ping(from, to);
            assertFalse(r.ok(), from.container() + " must not reach " + to.container() + " without the forward rules: " + r.stdout());
            assertTrue(r.stdout().contains("3 packets transmitted, 0 packets received"), r.stdout() + r.stderr());
            long after = policyPackets(to.host(), "DROP");
            assertTrue(after - before >= 3, "the 3 echo requests met " + to.host().name() + "'s FORWARD policy DROP (counter "
                    + before + " -> " + after + ")\n" + filterTable(to.host()));
        }
    }

    private static void awaitListening(Node n, int port) {
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), n.container() + " listens on " + port,
                () -> n.exec(Duration.ofSeconds(10), "netstat", "-ltn").stdout().contains(":" + port + " "));
    }
}
