package io.flanneld.daemon;

import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Starts the packaged daemon jar inside a test host's namespace and reads what it leaves behind. */
final class Daemons {
    static final Path JAR = Path.of("target", "flanneld-java.jar").toAbsolutePath();

    private Daemons() {
    }

    /** One daemon process on one host, with its own subnet file and log. */
    record Running(NetnsFabric.Host host, Process process, Path subnetFile, Path log) {
        String logText() {
            try {
                return Files.exists(log) ? Files.readString(log) : "";
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        String subnetEnv() {
            try {
                return Files.readString(subnetFile);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** FLANNEL_SUBNET's value, e.g. 198.19.7.1/24. */
        String subnet() {
            return subnetEnv().lines().filter(l -> l.startsWith("FLANNEL_SUBNET=")).findFirst().orElseThrow().substring(15);
        }

        /** The lease key name, e.g. 198.19.7.0-24. */
        String keyName() {
            String s = subnet();
            String ip = s.substring(0, s.indexOf('/'));
            return ip.substring(0, ip.lastIndexOf('.')) + ".0-" + s.substring(s.indexOf('/') + 1);
        }

        void awaitSubnetFile() {
            awaitSubnetFile(Duration.ofSeconds(30));
        }

        void awaitSubnetFile(Duration timeout) {
            Wait.until(timeout, Duration.ofMillis(100), host.name() + " writes " + subnetFile + "; log:\n" + logText(),
                    () -> Files.exists(subnetFile) || !process.isAlive());
            if (!Files.exists(subnetFile)) {
                throw new AssertionError(host.name() + "'s daemon exited " + process.exitValue() + " without writing the subnet file:\n" + logText());
            }
        }

        void awaitLog(String text) {
            awaitLog(text, Duration.ofSeconds(20));
        }

        void awaitLog(String text, Duration timeout) {
            Wait.until(timeout, Duration.ofMillis(100), host.name() + " logs \"" + text + "\"; log:\n" + logText(),
                    () -> logText().contains(text));
        }

        /** SIGTERM, then the exit code. */
        int stop() throws InterruptedException {
            process.destroy();
            if (!process.waitFor(20, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(host.name() + "'s daemon did not stop within 20 s of SIGTERM:\n" + logText());
            }
            return process.exitValue();
        }

        void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }

        int awaitExit() throws InterruptedException {
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                throw new AssertionError(host.name() + "'s daemon is still running:\n" + logText());
            }
            return process.exitValue();
        }
    }

    /** An HTTP/1.0 GET to 127.0.0.1:{@code port} inside the host's namespace (no curl needed): status line, headers, body. */
    static String httpGet(NetnsFabric.Host host, int port, String path) {
        return host.exec("bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/" + port + " && printf 'GET " + path
                + " HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3").stdout();
    }

    /** The value of one sample in a Prometheus text page, e.g. {@code flannel_lease_held}; fails if absent. */
    static double metric(String page, String sample) {
        return page.lines()
                .filter(l -> l.startsWith(sample + " "))
                .mapToDouble(l -> Double.parseDouble(l.substring(sample.length() + 1).trim()))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no sample " + sample + " in:\n" + page));
    }

    static Running start(NetnsFabric.Host host, Path dir, String etcdEndpoint, String... extra) {
        return start(host, dir, etcdEndpoint, java.util.Map.of(), extra);
    }

    static Running start(NetnsFabric.Host host, Path dir, String etcdEndpoint, java.util.Map<String, String> env, String... extra) {
        List<String> args = new ArrayList<>(List.of("--iface", host.iface()));
        args.addAll(List.of(extra));
        return launch(host, dir, etcdEndpoint, env, args);
    }

    /** Like {@link #start}, but without {@code --iface eth0}: the interface flags, if any, are in {@code args}. */
    static Running startChoosingInterface(NetnsFabric.Host host, Path dir, String etcdEndpoint, String... args) {
        return launch(host, dir, etcdEndpoint, java.util.Map.of(), List.of(args));
    }

    private static Running launch(NetnsFabric.Host host, Path dir, String etcdEndpoint, java.util.Map<String, String> env,
                                  List<String> args) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path subnetFile = dir.resolve("subnet.env");
        Path log = dir.resolve("flanneld-" + System.nanoTime() + ".log");
        List<String> cmd = new ArrayList<>(List.of("java", "-Xmx256m", "-jar", JAR.toString(),
                "--etcd-endpoints", etcdEndpoint, "--subnet-file", subnetFile.toString()));
        cmd.addAll(args);
        return new Running(host, host.start(cmd, log, env), subnetFile, log);
    }
}
