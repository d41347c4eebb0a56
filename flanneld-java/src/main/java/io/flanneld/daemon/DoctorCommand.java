package io.flanneld.daemon;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code flanneld-java doctor}: why a pod on this node cannot reach a pod on another, in one command. Reads the node
 * (files, kernel, packet filter, the daemon's process and health endpoint) and etcd, changes nothing, and prints one
 * line per check, {@code ok}, {@code warn} or {@code FAIL}, each failure with its evidence and the command that fixes
 * it. Exit status 0 when nothing failed, 1 otherwise. The interface, CNI and health flags may also be given before
 * {@code doctor}, as on the daemon's command line, and default to the daemon's environment variables.
 */
@Command(name = "doctor", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Check this node's daemon, forwarding, data path and pod bridges against etcd and say what is wrong "
                + "(same etcd flags and --subnet-file as the daemon); exit 1 if any check fails. Changes nothing.")
final class DoctorCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print the checks as JSON.")
    boolean json;

    @Option(names = "--probe", description = "Also send ICMP echo through the overlay to each peer's subnet .0 and report who answered, with the round-trip time.")
    boolean probe;

    @Option(names = "--probe-max", paramLabel = "N", defaultValue = "64", description = "Probe at most this many peers (default: ${DEFAULT-VALUE}).")
    int probeMax;

    @Option(names = "--iface", paramLabel = "NAME|IP", description = "The daemon's --iface (repeatable); default: the interface holding the lease's PublicIP.")
    List<String> ifaces = List.of();

    @Option(names = "--iface-regex", paramLabel = "REGEX", description = "The daemon's --iface-regex (repeatable).")
    List<String> ifaceRegexes = List.of();

    @Option(names = "--iface-can-reach", paramLabel = "IP", description = "The daemon's --iface-can-reach.")
    String ifaceCanReach;

    @Option(names = "--public-ip", paramLabel = "IP", description = "The daemon's --public-ip.")
    String publicIp;

    @Option(names = "--cni-conf-dir", paramLabel = "DIR", description = "The daemon's --cni-conf-dir: check " + CniConfig.FILE_NAME + " there.")
    Path cniConfDir;

    @Option(names = "--healthz-ip", paramLabel = "IP", description = "The daemon's --healthz-ip (0.0.0.0 is asked at 127.0.0.1).")
    String healthzIp;

    @Option(names = "--healthz-port", paramLabel = "PORT", description = "The daemon's --healthz-port: ask /healthz and /metrics there.")
    Integer healthzPort;

    @Override
    public Integer call() {
        // The answer is the output; library chatter (jetcd, gRPC) would only bury it.
        for (String logger : List.of("defaultLogLevel", "log.io.flanneld", "log.io.netty", "log.io.grpc", "log.io.vertx", "log.io.etcd")) {
            System.setProperty("org.slf4j.simpleLogger." + logger, "error");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        NodeReader.Options options;
        try {
            options = options();
        } catch (IllegalArgumentException e) {
            err.println("flanneld-java doctor: " + e.getMessage());
            return 2;
        }
        List<Check> checks;
        try {
            checks = DoctorReport.checks(NodeReader.read(main, options));
        } catch (RuntimeException e) {
            // rtnetlink refused (not in a network namespace one may read?) or something unforeseen: say what, no trace.
            err.println("flanneld-java doctor: cannot read this node: " + e);
            return 1;
        }
        out.print(json ? DoctorReport.json(checks) : DoctorReport.text(checks));
        out.flush();
        return DoctorReport.exitCode(checks);
    }

    /** The flags given here, else those given to the top-level command (which carry the FLANNELD_* defaults). */
    NodeReader.Options options() {
        int port = healthzPort != null ? healthzPort : main.healthzPort;
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--healthz-port: " + port + " is not a TCP port");
        }
        if (probeMax < 1) {
            throw new IllegalArgumentException("--probe-max: must be at least 1, got " + probeMax);
        }
        List<String> names = ifaces.isEmpty() ? main.ifaces : ifaces;
        List<String> regexes = ifaceRegexes.isEmpty() ? main.ifaceRegexes : ifaceRegexes;
        Optional<String> canReach = Optional.ofNullable(ifaceCanReach).or(() -> Optional.ofNullable(main.ifaceCanReach)).filter(s -> !s.isEmpty());
        return new NodeReader.Options(main.subnetFile(), Optional.ofNullable(cniConfDir).or(() -> Optional.ofNullable(main.cniConfDir)),
                healthzIp != null ? healthzIp : main.healthzIp, port, new DaemonOptions.InterfaceChoice(names, regexes, canReach),
                Optional.ofNullable(publicIp).or(() -> Optional.ofNullable(main.publicIp)).filter(s -> !s.isEmpty()).orElse(null),
                probe, probeMax);
    }
}
