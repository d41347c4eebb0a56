package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the daemon writes (subnet.env, subnet.env.lease, the CNI conflist, and the directories it creates for them)
 * has the same modes under a restrictive umask (077) and a permissive one (000): files 0644, directories 0755, and no
 * temporary file left beside them.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class DaemonFilesIT {
    @TempDir
    Path dir;
    private DaemonCluster cluster;

    @AfterEach
    void teardown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void modesDoNotDependOnTheUmask() throws Exception {
        cluster = DaemonCluster.start();
        cluster.config(DaemonCluster.networkConfig("alloc"));
        NetnsFabric.Host host = cluster.fabric().addHost("h1", "198.18.0.1/16");
        for (String umask : List.of("077", "000")) {
            Path run = dir.resolve("umask-" + umask);
            Path subnetFile = run.resolve("run/flannel/subnet.env");
            Path cniDir = run.resolve("etc/cni/net.d");
            Files.createDirectories(run);
            Path log = run.resolve("flanneld.log");
            Process daemon = host.start(List.of("sh", "-c", "umask " + umask + " && exec \"$@\"", "sh",
                    "java", "-Xmx256m", "-jar", Daemons.JAR.toString(), "--etcd-endpoints", cluster.etcd().endpoint(),
                    "--iface", host.iface(), "--subnet-file", subnetFile.toString(), "--cni-conf-dir", cniDir.toString()), log);
            try {
                Wait.until(Duration.ofSeconds(60), Duration.ofMillis(100), "umask " + umask + ": the CNI config is written",
                        () -> Files.exists(cniDir.resolve(CniConfig.FILE_NAME)) || !daemon.isAlive());
                assertTrue(daemon.isAlive(), Files.readString(log));
                for (Path file : List.of(subnetFile, subnetFile.resolveSibling("subnet.env.lease"), cniDir.resolve(CniConfig.FILE_NAME))) {
                    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)), "umask " + umask + ": " + file);
                }
                for (Path created : List.of(run.resolve("run"), subnetFile.getParent(), run.resolve("etc"), run.resolve("etc/cni"), cniDir)) {
                    assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(created)), "umask " + umask + ": " + created);
                }
                for (Path d : List.of(subnetFile.getParent(), cniDir)) {
                    try (var files = Files.list(d)) {
                        List<String> names = files.map(p -> p.getFileName().toString()).sorted().toList();
                        assertTrue(names.stream().noneMatch(n -> n.endsWith(".tmp")), "no temporary file left: " + names);
                    }
                }
            } finally {
                daemon.destroy();
                assertTrue(daemon.waitFor(20, TimeUnit.SECONDS), "the daemon stops on SIGTERM");
            }
        }
    }
}
