package io.flanneld.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EtcdProcessTest {
    private static String get(EtcdProcess etcd, String key) {
        return etcd.etcdctl("get", key, "--print-value-only").check().stdout().strip();
    }

    @Test
    void putGetRestartWipeAndClose() throws Exception {
        EtcdProcess etcd = EtcdProcess.start();
        Path dir = etcd.dataDir();
        long pid = etcd.pid();
        try {
            assertTrue(etcd.endpoint().startsWith("http://127.0.0.1:"), etcd.endpoint());
            assertTrue(etcd.healthy());
            assertTrue(Files.exists(etcd.logFile()));

            etcd.etcdctl("put", "/coreos.com/network/config", "{\"Network\":\"198.19.0.0/16\"}").check();
            assertEquals("{\"Network\":\"198.19.0.0/16\"}", get(etcd, "/coreos.com/network/config"));

            String endpoint = etcd.endpoint();
            etcd.restart();
            assertEquals(endpoint, etcd.endpoint());
            assertNotEquals(pid, etcd.pid());
            assertEquals("{\"Network\":\"198.19.0.0/16\"}", get(etcd, "/coreos.com/network/config"),
                    "restart keeps the data");

            etcd.wipeAndRestart();
            assertEquals(endpoint, etcd.endpoint());
            assertEquals("", get(etcd, "/coreos.com/network/config"), "wipeAndRestart loses the data");
            pid = etcd.pid();
        } finally {
            etcd.close();
        }
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        assertTrue(h.isEmpty() || !Processes.isRunning(h.get()), "etcd process gone after close");
        assertFalse(Files.exists(dir), "data dir deleted after close");
        assertFalse(etcd.isAlive());
        etcd.close(); // idempotent
    }

    @Test
    void killThenCloseDoesNotThrowAndGivenDataDirIsReused() throws Exception {
        Path dir = Files.createTempDirectory("etcd-given-");
        try {
            try (EtcdProcess a = EtcdProcess.builder().dataDir(dir).name("given").start()) {
                a.etcdctl("put", "k", "v1").check();
                a.kill();
                assertFalse(a.isAlive());
            }
            assertTrue(Files.isDirectory(dir.resolve("member")), "a given data dir is kept");
            try (EtcdProcess b = EtcdProcess.builder().dataDir(dir).name("given").extraArgs("--snapshot-count", "5000")
                    .start()) {
                assertEquals("v1", get(b, "k"));
            }
        } finally {
            Files2.deleteTree(dir);
        }
    }

    @Test
    void aServerThatCannotStartFailsWithItsLogAndLeavesNothing() throws Exception {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> EtcdProcess.builder().extraArgs("--no-such-flag").start());
        assertTrue(e.getMessage().contains("no-such-flag"), e.getMessage());
    }
}
