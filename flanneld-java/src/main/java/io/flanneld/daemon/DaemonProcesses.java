package io.flanneld.daemon;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Finds the overlay daemon among the processes of this network namespace by their command lines in /proc: a JVM
 * running the flanneld-java jar (or its main class) without a subcommand, or flannel's own {@code flanneld}. A process
 * in another network namespace is another node's (or a container's), and a subcommand (doctor itself, status, …)
 * is no daemon.
 */
final class DaemonProcesses {
    static final Path DEFAULT_SUBNET_FILE = Path.of("/run/flannel/subnet.env");
    private static final Set<String> SUBCOMMANDS = Set.of("leases", "status", "doctor", "mk-docker-opts", "put-config", "help");
    private static final Path PROC = Path.of("/proc");

    private DaemonProcesses() {
    }

    /** The daemons whose network namespace is this process's; empty when /proc cannot be read. */
    static List<DoctorSnapshot.DaemonProcess> inThisNetworkNamespace() {
        long self = ProcessHandle.current().pid();
        Optional<Path> ownNs = netns(PROC.resolve("self"));
        List<DoctorSnapshot.DaemonProcess> found = new ArrayList<>();
        try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, p -> p.getFileName().toString().chars().allMatch(Character::isDigit))) {
            for (Path dir : dirs) {
                long pid = Long.parseLong(dir.getFileName().toString());
                Optional<Path> ns = netns(dir);
                // Another namespace's process is another node's; one whose namespace cannot be read (doctor not run
                // as root) is counted rather than missed.
                if (pid == self || ns.isPresent() && ownNs.isPresent() && !ns.equals(ownNs)) {
                    continue;
                }
                List<String> args = nulSeparated(dir.resolve("cmdline"));
                if (args.isEmpty()) {
                    continue;
                }
                parse(pid, args, environment(dir)).ifPresent(found::add);
            }
        } catch (IOException e) {
            return found;
        }
        found.sort(java.util.Comparator.comparingLong(DoctorSnapshot.DaemonProcess::pid));
        return found;
    }

    /**
     * The daemon a command line runs, if it runs one.
     *
     * @param env the process's environment, for {@code FLANNELD_SUBNET_FILE}
     */
    static Optional<DoctorSnapshot.DaemonProcess> parse(long pid, List<String> args, Map<String, String> env) {
        String program = Path.of(args.get(0)).getFileName().toString();
        int start;
        String name;
        if (program.equals("flanneld")) {
            start = 1;
            name = "flanneld";
        } else {
            int jar = args.indexOf("-jar");
            int main = args.indexOf(Main.class.getName());
            if (jar >= 0 && jar + 1 < args.size() && Path.of(args.get(jar + 1)).getFileName().toString().startsWith("flanneld-java")
                    && args.get(jar + 1).endsWith(".jar")) {
                start = jar + 2;
            } else if (main >= 0) {
                start = main + 1;
            } else {
                return Optional.empty();
            }
            name = "flanneld-java";
        }
        List<String> rest = args.subList(start, args.size());
        if (rest.stream().anyMatch(SUBCOMMANDS::contains) || rest.contains("--help") || rest.contains("--version")) {
            return Optional.empty();
        }
        Path subnetFile = flag(rest, "subnet-file").or(() -> Optional.ofNullable(env.get("FLANNELD_SUBNET_FILE")))
                .filter(s -> !s.isEmpty()).map(Path::of).orElse(DEFAULT_SUBNET_FILE);
        return Optional.of(new DoctorSnapshot.DaemonProcess(pid, name, subnetFile));
    }

    /** The value of {@code --name} or {@code -name}, given as the next word or after {@code =}. */
    static Optional<String> flag(List<String> args, String name) {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            for (String form : List.of("--" + name, "-" + name)) {
                if (a.equals(form) && i + 1 < args.size()) {
                    return Optional.of(args.get(i + 1));
                }
                if (a.startsWith(form + "=")) {
                    return Optional.of(a.substring(form.length() + 1));
                }
            }
        }
        return Optional.empty();
    }

    private static Optional<Path> netns(Path procDir) {
        try {
            return Optional.of(Files.readSymbolicLink(procDir.resolve("ns").resolve("net")));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static Map<String, String> environment(Path procDir) {
        return nulSeparated(procDir.resolve("environ")).stream().filter(e -> e.indexOf('=') > 0)
                .collect(Collectors.toMap(e -> e.substring(0, e.indexOf('=')), e -> e.substring(e.indexOf('=') + 1), (a, b) -> b));
    }

    private static List<String> nulSeparated(Path file) {
        try {
            String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
            return text.isEmpty() ? List.of() : Arrays.asList(text.split("\0"));
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }
}
