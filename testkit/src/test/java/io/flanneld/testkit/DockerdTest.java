package io.flanneld.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A real dockerd in a namespace host: a busybox container runs and answers, and close leaves nothing behind. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DockerdTest {
    @TempDir
    Path tmp;

    @Test
    void runsABusyboxContainerInTheHostsNamespaceAndCloseLeavesNothing() {
        String rootForward = Cmd.run(Duration.ofSeconds(10), "iptables", "-S", "FORWARD").check().stdout();
        Path dir;
        long pid;
        List<ProcessHandle> tree = new ArrayList<>();
        try (NetnsFabric fabric = NetnsFabric.create()) {
            NetnsFabric.Host h1 = fabric.addHost("h1", "198.18.0.1/16");
            Dockerd docker = Dockerd.start(h1, tmp.resolve("dockerd.log"), List.of("--bip", "198.19.7.1/24", "--mtu", "1450"));
            System.out.println("dockerd in " + h1.netns() + " answered after " + docker.startTime().toMillis() + " ms");
            dir = docker.dir();
            pid = docker.pid();
            tree.add(ProcessHandle.of(pid).orElseThrow());
            ProcessHandle.of(pid).orElseThrow().descendants().forEach(tree::add);
            assertTrue(tree.size() >= 2, "dockerd runs its own containerd: " + tree);

            assertEquals(Dockerd.BUSYBOX_IMAGE, docker.importBusybox());
            docker.run("c1", Dockerd.BUSYBOX_IMAGE, "sleep", "3600");
            String ip = docker.ip("c1");
            assertTrue(ip.startsWith("198.19.7."), ip);
            Cmd.Result addr = docker.exec("c1", Duration.ofSeconds(20), "ip", "-o", "-4", "addr", "show", "eth0").check();
            assertTrue(addr.stdout().contains(ip + "/24"), addr.stdout());
            assertEquals("ok", docker.exec("c1", Duration.ofSeconds(20), "sh", "-c", "echo ok").check().stdout().strip());
            // The bridge is the host namespace's, and the host reaches the container.
            assertTrue(h1.exec("ip", "-o", "-4", "addr", "show", "docker0").check().stdout().contains("198.19.7.1/24"));
            h1.exec(Duration.ofSeconds(10), "ping", "-c", "1", "-W", "2", ip).check();
            assertTrue(docker.mountsUnderDir().size() >= 1, "the data root and the container's netns are mounted");
            // containerd's shim detaches from containerd: it is not in dockerd's tree, but names dockerd's directory.
            String d = dir.toString();
            ProcessHandle.allProcesses()
                    .filter(h -> h.info().arguments().map(a -> String.join(" ", a).contains(d)).orElse(false))
                    .filter(h -> !tree.contains(h))
                    .forEach(shim -> {
                        tree.add(shim);
                        shim.descendants().forEach(tree::add);
                    });
            assertTrue(tree.stream().anyMatch(h -> h.info().command().orElse("").contains("containerd-shim")),
                    "a shim runs the container: " + tree.stream().map(h -> h.info().command().orElse("?")).toList());
        } // the fabric closes the dockerd it owns before deleting the namespace
        for (ProcessHandle h : tree) {
            assertFalse(Processes.isRunning(h), "process " + h.pid() + " alive after close");
        }
        assertFalse(Files.exists(dir), dir + " deleted");
        try {
            assertFalse(Files.readString(Path.of("/proc/self/mountinfo")).contains(dir.toString()), "nothing mounted under " + dir);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertEquals(rootForward, Cmd.run(Duration.ofSeconds(10), "iptables", "-S", "FORWARD").check().stdout(),
                "the machine's own FORWARD chain is untouched");
    }

    @Test
    void closeCleansUpAfterADockerdThatWasKilled() {
        Path dir;
        List<ProcessHandle> started = new ArrayList<>();
        try (NetnsFabric fabric = NetnsFabric.create()) {
            NetnsFabric.Host h1 = fabric.addHost("h1", "198.18.0.1/16");
            Dockerd docker = Dockerd.start(h1, tmp.resolve("dockerd.log"), List.of());
            dir = docker.dir();
            docker.importBusybox();
            docker.run("c1", Dockerd.BUSYBOX_IMAGE, "sleep", "3600");
            String d = dir.toString();
            ProcessHandle.allProcesses()
                    .filter(h -> h.info().arguments().map(a -> String.join(" ", a).contains(d)).orElse(false))
                    .forEach(started::add);
            ProcessHandle dockerd = ProcessHandle.of(docker.pid()).orElseThrow();
            dockerd.descendants().forEach(started::add);
            assertTrue(started.size() >= 3, "dockerd, containerd and a shim: " + started);
            List<Path> shimSockets = new ArrayList<>();
            try (var tasks = Files.walk(dir.resolve("exec/containerd/daemon/io.containerd.runtime.v2.task"), 2)) {
                for (Path task : tasks.filter(t -> Files.exists(t.resolve("address"))).toList()) {
                    shimSockets.add(Path.of(Files.readString(task.resolve("address")).strip().substring("unix://".length())));
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            assertEquals(1, shimSockets.size(), "one task, one shim socket");
            assertTrue(Files.exists(shimSockets.get(0)), shimSockets.toString());
            dockerd.destroyForcibly();
            assertTrue(Processes.awaitExit(dockerd, Duration.ofSeconds(10)));
            docker.close();
            assertTrue(docker.mountsUnderDir().isEmpty(), "unmounted: " + docker.mountsUnderDir());
            assertFalse(Files.exists(shimSockets.get(0)), "the killed shim's socket " + shimSockets.get(0) + " is removed");
        }
        for (ProcessHandle h : started) {
            assertFalse(Processes.isRunning(h), "process " + h.pid() + " " + h.info().command().orElse("") + " alive after close");
        }
        assertFalse(Files.exists(dir), dir + " deleted");
    }
}
