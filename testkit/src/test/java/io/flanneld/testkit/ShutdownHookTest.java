package io.flanneld.testkit;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ShutdownHookTest {
    @Test
    void aTerminatedJvmLeavesNoProcessNamespaceOrDataDir() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                ShutdownHookProbe.class.getName())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            String line = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (Exception e) {
                    return null;
                }
            }).get(30, TimeUnit.SECONDS);
            assertTrue(line != null && line.startsWith("READY "), "probe said: " + line);
            String[] f = line.split(" ");
            long etcdPid = Long.parseLong(f[1]);
            long sleepPid = Long.parseLong(f[2]);
            Path dataDir = Path.of(f[3]);
            List<String> namespaces = Arrays.asList(f).subList(4, f.length);
            assertTrue(Files.isDirectory(dataDir));

            child.destroy(); // SIGTERM: shutdown hooks run
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "probe JVM exited");

            for (long pid : new long[] {etcdPid, sleepPid}) {
                assertFalse(ProcessHandle.of(pid).map(Processes::isRunning).orElse(false), "pid " + pid + " gone");
            }
            assertFalse(Files.exists(dataDir), "data dir removed");
            String list = Cmd.run(Duration.ofSeconds(10), "ip", "netns", "list").check().stdout();
            for (String ns : namespaces) {
                assertFalse(list.contains(ns), ns + " removed");
            }
        } finally {
            if (child.isAlive()) {
                Processes.killTree(child.toHandle());
            }
        }
    }
}
