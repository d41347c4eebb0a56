package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/bin/flanneld-java, the launcher the systemd unit and the image run: an install directory as the image has it
 * (the launcher, jvm.options, the jar and a runtime in bin/), with a java that prints the arguments it was given (and,
 * asked to dump an archive, writes one).
 */
class LauncherTest {
    private static final Path LAUNCHER = Path.of("..", "deploy", "bin", "flanneld-java");
    private static final Path OPTIONS = Path.of("..", "deploy", "bin", "jvm.options");

    @TempDir
    Path dir;
    Path home;
    Path cache;

    /** The flags of deploy/bin/jvm.options as java reads an @argfile: words, # to the end of a line a comment. */
    static List<String> jvmOptions() throws IOException {
        List<String> flags = new ArrayList<>();
        for (String line : Files.readAllLines(OPTIONS)) {
            String text = line.contains("#") ? line.substring(0, line.indexOf('#')) : line;
            for (String word : text.strip().split("\\s+")) {
                if (!word.isEmpty()) {
                    flags.add(word);
                }
            }
        }
        return flags;
    }

    @BeforeEach
    void install() throws IOException {
        home = Files.createDirectories(dir.resolve("opt"));
        cache = dir.resolve("cache");
        Files.copy(LAUNCHER, home.resolve("flanneld-java"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.copy(OPTIONS, home.resolve("jvm.options"));
        Files.writeString(home.resolve("flanneld-java.jar"), "a jar");
        Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
        // Prints its arguments; as a dump (-Xshare:dump) it records them in dump.args and writes the archive it is
        // asked for, unless a file dump.fails says the dump fails.
        Files.writeString(java, "#!/bin/sh\n"
                + "if [ \"$1\" = -Xshare:dump ]; then\n"
                + "  printf '%s\\n' \"$@\" > \"$(dirname \"$0\")/../dump.args\"\n"
                + "  echo dump >> \"$(dirname \"$0\")/../dumps\"\n"
                + "  [ -f \"$(dirname \"$0\")/../dump.slow\" ] && sleep 1\n"
                + "  [ -f \"$(dirname \"$0\")/../dump.fails\" ] && exit 1\n"
                + "  for a in \"$@\"; do case \"$a\" in -XX:SharedArchiveFile=*) echo archived > \"${a#*=}\";; esac; done\n"
                + "  exit 0\n"
                + "fi\n"
                + "for a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.writeString(Files.createDirectories(home.resolve("lib/server")).resolve("classes.jsa"), "the JDK's classes");
    }

    private List<String> run(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(home.resolve("flanneld-java").toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("FLANNELD_JAVA_CACHE", cache.toString());
        pb.environment().remove("JAVA");
        pb.environment().remove("JAVA_OPTS");
        Process p = pb.start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS), "the launcher ends");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        return out.lines().toList();
    }

    private static String flag(List<String> args, String prefix) {
        return args.stream().filter(a -> a.startsWith(prefix)).findFirst().map(a -> a.substring(prefix.length())).orElse(null);
    }

    /** Waits (bounded) for the background dump to have ended: its archive there, or its list removed after a failure, and its lock gone. */
    private static void awaitDump(Path archive, Path list) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        Path lock = Path.of(list + ".dumping");
        while (((!Files.exists(archive) && Files.exists(list)) || Files.exists(lock)) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }

    @Test
    void theFirstDaemonStartRecordsItsClassesTheNextDumpsTheArchiveAndLaterStartsMapIt() throws Exception {
        List<String> first = run("--iface", "eth0");
        assertEquals("@" + home.resolve("jvm.options"), first.get(0), "jvm.options first: " + first);
        assertEquals(List.of("-jar", home.resolve("flanneld-java.jar").toString(), "--iface", "eth0"),
                first.subList(first.size() - 4, first.size()), "the jar and the daemon's arguments last");
        String list = flag(first, "-XX:DumpLoadedClassList=");
        assertTrue(list != null && list.startsWith(cache + "/flanneld-java-") && list.endsWith(".classlist"), first.toString());
        assertEquals(null, flag(first, "-XX:SharedArchiveFile="), first.toString());
        assertTrue(Files.isDirectory(cache), "the cache directory is made");

        Files.writeString(Path.of(list), "java/lang/Object id: 0\n");  // what the JVM writes as the first start loads classes
        List<String> second = run("--iface", "eth0");
        assertEquals(null, flag(second, "-XX:SharedArchiveFile="), "no archive yet for the second start: " + second);
        assertEquals(null, flag(second, "-XX:DumpLoadedClassList="), "and no new list: " + second);
        Path archive = Path.of(list.replace(".classlist", ".jsa"));
        awaitDump(archive, Path.of(list));
        assertTrue(Files.exists(archive), "the background dump wrote the archive");
        List<String> dump = Files.readAllLines(home.resolve("dump.args"));
        assertEquals(List.of("-Xshare:dump", "-XX:SharedClassListFile=" + list, "-XX:SharedArchiveFile=" + archive + ".",
                        "-cp", home.resolve("flanneld-java.jar").toString()),
                dump.stream().map(a -> a.startsWith("-XX:SharedArchiveFile=") ? a.substring(0, a.lastIndexOf('.') + 1) : a).toList(),
                "dumped from the list, into a file of its own, with the jar the daemon runs as its class path: " + dump);

        List<String> third = run("--iface", "eth0");
        assertEquals(archive.toString(), flag(third, "-XX:SharedArchiveFile="), third.toString());
        assertEquals(null, flag(third, "-XX:DumpLoadedClassList="), third.toString());
    }

    @Test
    void aFailedDumpRemovesTheListSoTheNextStartRecordsAnother() throws Exception {
        String list = flag(run(), "-XX:DumpLoadedClassList=");
        Files.writeString(Path.of(list), "truncated by a kill");
        Files.writeString(home.resolve("dump.fails"), "");
        run();
        Path archive = Path.of(list.replace(".classlist", ".jsa"));
        awaitDump(archive, Path.of(list));
        assertFalse(Files.exists(Path.of(list)), "the list is removed");
        assertFalse(Files.exists(archive));
        try (var files = Files.list(cache)) {
            assertEquals(List.of(), files.toList(), "no partial archive left");
        }
        assertEquals(list, flag(run(), "-XX:DumpLoadedClassList="), "recorded again");
    }

    @Test
    void startsWhileADumpRunsStartNoSecondDump() throws Exception {
        String list = flag(run(), "-XX:DumpLoadedClassList=");
        Files.writeString(Path.of(list), "java/lang/Object id: 0\n");
        Files.writeString(home.resolve("dump.slow"), "");
        run();
        run();
        run();
        Path archive = Path.of(list.replace(".classlist", ".jsa"));
        awaitDump(archive, Path.of(list));
        assertTrue(Files.exists(archive));
        assertEquals(List.of("dump"), Files.readAllLines(home.resolve("dumps")), "one dump for three starts during it");
        assertFalse(Files.exists(Path.of(list + ".dumping")), "the lock goes with the dump");
    }

    @Test
    void subcommandsMapAnArchiveButNeverRecordOrDumpOne() throws Exception {
        // The launcher names the subcommands itself (it runs before any Java): every one of Main's, so a new one is caught.
        List<String> subs = new ArrayList<>(List.of("--version", "--help"));
        for (Class<?> sub : Main.SUBCOMMANDS) {
            subs.add(sub.getAnnotation(picocli.CommandLine.Command.class).name());
        }
        for (String sub : subs) {
            List<String> args = run(sub);
            assertEquals(null, flag(args, "-XX:DumpLoadedClassList="), sub + ": " + args);
            assertEquals(null, flag(args, "-XX:SharedArchiveFile="), sub + ": " + args);
        }
        String list = flag(run(), "-XX:DumpLoadedClassList=");
        Files.writeString(Path.of(list), "java/lang/Object id: 0\n");
        for (String sub : subs) {
            run(sub);
        }
        assertFalse(Files.exists(home.resolve("dump.args")), "a subcommand never starts the dump");
        Path archive = Path.of(list.replace(".classlist", ".jsa"));
        Files.writeString(archive, "classes");
        assertEquals(archive.toString(), flag(run("leases", "--json"), "-XX:SharedArchiveFile="));
    }

    @Test
    void anotherJarMakesAnotherArchiveAndTheOldOneGoes() throws Exception {
        String old = flag(run(), "-XX:DumpLoadedClassList=");
        Path oldArchive = Path.of(old.replace(".classlist", ".jsa"));
        Files.writeString(Path.of(old), "classes");
        Files.writeString(oldArchive, "classes");
        Files.writeString(home.resolve("flanneld-java.jar"), "an upgraded jar");
        Files.setLastModifiedTime(home.resolve("flanneld-java.jar"), FileTime.fromMillis(System.currentTimeMillis() + 5_000));
        String fresh = flag(run(), "-XX:DumpLoadedClassList=");
        assertTrue(fresh != null && !fresh.equals(old), fresh + " after " + old);
        assertFalse(Files.exists(Path.of(old)), "the old jar's list is removed");
        assertFalse(Files.exists(oldArchive), "and its archive");
    }

    @Test
    void aCacheThatCannotBeWrittenOnlyCostsTheArchive() throws Exception {
        Files.writeString(cache, "a file where the directory should be");
        List<String> args = run("--iface", "eth0");
        assertEquals(null, flag(args, "-XX:DumpLoadedClassList="), args.toString());
        assertEquals(null, flag(args, "-XX:SharedArchiveFile="), args.toString());
        assertEquals("eth0", args.get(args.size() - 1));
    }

    @Test
    void aRuntimeWithoutTheJdksOwnArchiveGetsNone() throws Exception {
        // A jlink'd runtime made without --generate-cds-archive: the JVM would refuse to start with an archive flag.
        Files.delete(home.resolve("lib/server/classes.jsa"));
        List<String> args = run("--iface", "eth0");
        assertEquals(null, flag(args, "-XX:DumpLoadedClassList="), args.toString());
        assertEquals(null, flag(args, "-XX:SharedArchiveFile="), args.toString());
        assertEquals("eth0", args.get(args.size() - 1));
    }

    @Test
    void withoutACacheDirectoryNoArchiveIsUsedOrWritten() throws Exception {
        Files.writeString(Files.createDirectories(cache).resolve("flanneld-java-old.jsa"), "classes");
        List<String> cmd = List.of(home.resolve("flanneld-java").toString(), "--iface", "eth0");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().remove("FLANNELD_JAVA_CACHE");
        Process p = pb.start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        List<String> args = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
        assertEquals(null, flag(args, "-XX:DumpLoadedClassList="), args.toString());
        assertEquals(null, flag(args, "-XX:SharedArchiveFile="), args.toString());
        assertTrue(Files.exists(cache.resolve("flanneld-java-old.jsa")), "nothing is removed either");
    }

    @Test
    void theDeployedFlagsAreAcceptedByThisJvm() throws Exception {
        Process p = new ProcessBuilder(List.of("java", "@" + OPTIONS, "-version")).redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertFalse(out.contains("Unrecognized") || out.contains("warning"), out);
    }
}
