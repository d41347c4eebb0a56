package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/bin/flanneld-java with the real JVM and the real jar: the class list a first start records, the archive the
 * next start dumps from it in the background, and a third start that maps it, picocli's classes included (compiled
 * for Java 5, they are what an archive written at exit cannot hold). The starts are daemon starts that end at once
 * on a flag error, which loads the same early classes without a node.
 */
class LauncherIT {
    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    @TempDir
    Path dir;

    private record Run(int exit, String out) {
    }

    private Run launch(Path home, Path cache, String javaOpts) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(home.resolve("flanneld-java").toString(),
                "--etcd-endpoints", "http://127.0.0.1:1", "--no-such-flag"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("FLANNELD_JAVA_CACHE", cache.toString());
        pb.environment().put("JAVA", JAVA);
        pb.environment().put("JAVA_OPTS", javaOpts);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the start ends");
        return new Run(p.exitValue(), out);
    }

    private static List<Path> files(Path cache, String suffix) throws Exception {
        try (Stream<Path> s = Files.list(cache)) {
            return s.filter(f -> f.getFileName().toString().endsWith(suffix)).toList();
        }
    }

    @Test
    void theSecondStartDumpsAnArchiveFromTheFirstStartsClassesAndTheThirdMapsIt() throws Exception {
        Path home = Files.createDirectories(dir.resolve("opt"));
        Path cache = dir.resolve("cache");
        Files.copy(Path.of("..", "deploy", "bin", "flanneld-java"), home.resolve("flanneld-java"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.copy(Path.of("..", "deploy", "bin", "jvm.options"), home.resolve("jvm.options"));
        Files.copy(Daemons.JAR, home.resolve("flanneld-java.jar"));

        Run first = launch(home, cache, "");
        assertTrue(first.out().contains("--no-such-flag"), first.out());
        List<Path> lists = files(cache, ".classlist");
        assertEquals(1, lists.size(), "one class list recorded: " + lists);
        assertTrue(Files.readString(lists.get(0)).contains("picocli/CommandLine"), "it names the classes the start loaded");

        Run second = launch(home, cache, "");
        assertEquals(first.exit(), second.exit(), second.out());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (files(cache, ".jsa").isEmpty() && Files.exists(lists.get(0)) && System.nanoTime() < deadline) {
            Thread.sleep(200);
        }
        List<Path> archives = files(cache, ".jsa");
        assertEquals(1, archives.size(), "the background dump wrote one archive: " + archives);

        // -Xshare:on: a JVM that cannot map the archive refuses to start instead of carrying on without it.
        Run third = launch(home, cache, "-Xshare:on -Xlog:class+load=info:stdout");
        assertEquals(first.exit(), third.exit(), third.out().lines().filter(l -> !l.contains("class,load")).toList().toString());
        assertTrue(third.out().contains("picocli.CommandLine source: shared objects file"), "picocli's classes come from the archive");
        assertTrue(third.out().contains("io.flanneld.daemon.Main source: shared objects file"), "and the daemon's");
    }
}
