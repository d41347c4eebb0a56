package io.flanneld.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class NetnsFabricTest {
    private static String netnsList() {
        return Cmd.run(Duration.ofSeconds(10), "ip", "netns", "list").check().stdout();
    }

    @Test
    void twoHostsPingOverTheBridgeAndCloseRemovesEverything() throws Exception {
        List<String> made;
        List<ProcessHandle> started = new ArrayList<>();
        Path log = Files.createTempFile("fabric-proc-", ".log");
        try (NetnsFabric fabric = NetnsFabric.create()) {
            assertEquals(5, fabric.suffix().length());
            NetnsFabric.Host h1 = fabric.addHost("h1", "198.18.0.1/16");
            NetnsFabric.Host h2 = fabric.addHost("h2", "198.18.0.2/16");
            assertEquals("h1-" + fabric.suffix(), h1.netns());
            assertEquals("198.18.0.1", h1.ip());
            assertEquals("eth0", h1.iface());
            assertTrue(h1.exec("ip", "-o", "-4", "addr", "show", "dev", "eth0").check().stdout()
                    .contains("198.18.0.1/16"));

            Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "h1 to ping h2 over br0",
                    () -> h1.exec(Duration.ofSeconds(5), "ping", "-c", "1", "-W", "1", h2.ip()).ok());
            h2.exec(Duration.ofSeconds(5), "ping", "-c", "1", "-W", "1", h1.ip()).check();

            // a tracked long-running process tree: a shell with a child
            Process p = h1.start(List.of("sh", "-c", "echo up; sleep 300 & wait"), log);
            started.add(p.toHandle());
            Wait.until(Duration.ofSeconds(5), "the tracked process to have a child",
                    () -> p.toHandle().descendants().findAny().isPresent());
            p.toHandle().descendants().forEach(started::add);

            made = fabric.namespaces();
            assertEquals(3, made.size());
            String list = netnsList();
            for (String ns : made) {
                assertTrue(list.contains(ns), ns + " in " + list);
            }
        } finally {
            Files.deleteIfExists(log);
        }
        String after = netnsList();
        for (String ns : made) {
            assertFalse(after.contains(ns), ns + " still listed after close: " + after);
        }
        for (ProcessHandle h : started) {
            assertFalse(Processes.isRunning(h), "process " + h.pid() + " alive after close");
        }
    }

    @Test
    void etcdInsideAHostServesTheOthers() {
        try (NetnsFabric fabric = NetnsFabric.create()) {
            NetnsFabric.Host etcdHost = fabric.addHost("etcd", "198.18.0.100/16");
            NetnsFabric.Host h1 = fabric.addHost("h1", "198.18.0.1/16");
            EtcdProcess etcd = fabric.own(EtcdProcess.startInNamespace(etcdHost.netns(), etcdHost.ip()));
            assertEquals("http://198.18.0.100:2379", etcd.endpoint());
            etcd.etcdctl("put", "/coreos.com/network/config", "x").check();
            String got = h1.exec(Duration.ofSeconds(15), "etcdctl", "--endpoints=" + etcd.endpoint(),
                    "get", "/coreos.com/network/config", "--print-value-only").check().stdout().strip();
            assertEquals("x", got);
        }
    }

    @Test
    void rejectsAddressesOutsideTheBenchmarkRangeAndBadNames() {
        try (NetnsFabric fabric = NetnsFabric.create()) {
            assertThrows(IllegalArgumentException.class, () -> fabric.addHost("h1", "10.0.0.1/24"));
            assertThrows(IllegalArgumentException.class, () -> fabric.addHost("h1", "192.168.1.1/24"));
            assertThrows(IllegalArgumentException.class, () -> fabric.addHost("averyveryverylongname", "198.18.0.1/16"));
            assertThrows(IllegalArgumentException.class, () -> fabric.addHost("H1", "198.18.0.1/16"));
            assertEquals(1, fabric.namespaces().size());
        }
    }
}
