package io.flanneld.daemon;

import io.etcd.jetcd.Client;
import io.flanneld.lease.EtcdAccessException;
import io.flanneld.lease.EtcdClients;
import io.flanneld.lease.EtcdOptions;
import io.flanneld.lease.EtcdUnavailableException;
import io.flanneld.lease.SubnetRegistry;
import java.io.PrintWriter;
import io.flanneld.lease.LeaseOptions;
import io.flanneld.schema.EtcdKeys;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * The command line, with flanneld's flag names (each also accepted with a single dash, as Go's
 * flag package does) and flanneld's FLANNELD_* environment variables as defaults.
 */
@Command(name = "flanneld-java", mixinStandardHelpOptions = true, versionProvider = Version.class, sortOptions = false,
        usageHelpAutoWidth = true,
        description = "Flannel-compatible overlay network daemon: leases this node a subnet of the cluster network in etcd, "
                + "writes it to the subnet file and carries pod traffic between nodes.")
public final class Main implements Callable<Integer> {

    @Option(names = "--etcd-endpoints", scope = ScopeType.INHERIT, paramLabel = "URLS",
            defaultValue = "${env:FLANNELD_ETCD_ENDPOINTS:-http://127.0.0.1:2379}",
            description = "Comma-separated etcd endpoints (default: ${DEFAULT-VALUE}).")
    String etcdEndpoints;

    @Option(names = "--etcd-prefix", scope = ScopeType.INHERIT, paramLabel = "PATH",
            defaultValue = "${env:FLANNELD_ETCD_PREFIX:-" + EtcdKeys.DEFAULT_PREFIX + "}",
            description = "etcd prefix of the config and the leases (default: ${DEFAULT-VALUE}).")
    String etcdPrefix;

    @Option(names = "--etcd-certfile", scope = ScopeType.INHERIT, paramLabel = "FILE", defaultValue = "${env:FLANNELD_ETCD_CERTFILE}",
            description = "Client certificate for etcd TLS.")
    Path etcdCertFile;

    @Option(names = "--etcd-keyfile", scope = ScopeType.INHERIT, paramLabel = "FILE", defaultValue = "${env:FLANNELD_ETCD_KEYFILE}",
            description = "Client key for etcd TLS.")
    Path etcdKeyFile;

    @Option(names = "--etcd-cafile", scope = ScopeType.INHERIT, paramLabel = "FILE", defaultValue = "${env:FLANNELD_ETCD_CAFILE}",
            description = "CA bundle that signed etcd's server certificate.")
    Path etcdCaFile;

    @Option(names = "--etcd-username", scope = ScopeType.INHERIT, paramLabel = "NAME", defaultValue = "${env:FLANNELD_ETCD_USERNAME}",
            description = "etcd user name, with --etcd-password.")
    String etcdUsername;

    @Option(names = "--etcd-password", scope = ScopeType.INHERIT, paramLabel = "PASSWORD", defaultValue = "${env:FLANNELD_ETCD_PASSWORD}",
            description = "etcd password (prefer the FLANNELD_ETCD_PASSWORD variable: flags show in ps).")
    String etcdPassword;

    @Option(names = "--iface", paramLabel = "NAME|IP",
            description = "Interface (name, IPv4 or IPv6 address) for traffic between hosts; repeatable, first match wins. "
                    + "Default: the interface of the default route.")
    List<String> ifaces = List.of();

    @Option(names = "--iface-regex", paramLabel = "REGEX",
            description = "Regular expression searched for in every interface's IPv4 (and with EnableIPv6 IPv6) addresses, then in interface names; repeatable, "
                    + "checked in order after --iface, first match wins.")
    List<String> ifaceRegexes = List.of();

    @Option(names = "--iface-can-reach", paramLabel = "IP", defaultValue = "${env:FLANNELD_IFACE_CAN_REACH}",
            description = "Use the interface the kernel would send to this address through (as 'ip route get IP' shows).")
    String ifaceCanReach;

    @Option(names = "--public-ip", paramLabel = "IP", defaultValue = "${env:FLANNELD_PUBLIC_IP}",
            description = "IPv4 address other hosts reach this one at (default: the interface's address).")
    String publicIp;

    @Option(names = "--public-ipv6", paramLabel = "IPV6", defaultValue = "${env:FLANNELD_PUBLIC_IPV6}",
            description = "IPv6 address other hosts reach this one at, with EnableIPv6 (default: the interface's IPv6 address).")
    String publicIpv6;

    @Option(names = "--subnet-file", scope = ScopeType.INHERIT, paramLabel = "FILE",
            defaultValue = "${env:FLANNELD_SUBNET_FILE:-/run/flannel/subnet.env}",
            description = "Where to write the subnet environment (default: ${DEFAULT-VALUE}).")
    Path subnetFile;

    @Option(names = "--subnet-lease-renew-margin", paramLabel = "MINUTES",
            defaultValue = "${env:FLANNELD_SUBNET_LEASE_RENEW_MARGIN:-60}",
            description = "Renew the lease this many minutes before it expires (default: ${DEFAULT-VALUE}).")
    int renewMarginMinutes;

    @Option(names = "--subnet-lease-ttl", paramLabel = "DURATION",
            defaultValue = "${env:FLANNELD_SUBNET_LEASE_TTL:-24h}",
            description = "TTL of the etcd lease bound to this host's key, e.g. 24h, 30m, 90s (default: ${DEFAULT-VALUE}).")
    String leaseTtl;

    @Option(names = "--cni-conf-dir", paramLabel = "DIR", defaultValue = "${env:FLANNELD_CNI_CONF_DIR}",
            description = "Write the CNI network config list " + CniConfig.FILE_NAME + " for this node's subnet here, e.g. /etc/cni/net.d.")
    Path cniConfDir;

    @Option(names = "--ip-masq", defaultValue = "${env:FLANNELD_IP_MASQ:-false}", fallbackValue = "true", arity = "0..1",
            description = "Masquerade traffic leaving the overlay network (iptables), as flanneld does.")
    boolean ipMasq;

    @Option(names = "--ip-masq-fully-random-disable", defaultValue = "${env:FLANNELD_IP_MASQ_FULLY_RANDOM_DISABLE:-false}",
            fallbackValue = "true", arity = "0..1", description = "Masquerade without --random-fully.")
    boolean ipMasqFullyRandomDisable;

    @Option(names = "--iptables-forward-rules", defaultValue = "${env:FLANNELD_IPTABLES_FORWARD_RULES:-true}", fallbackValue = "true",
            arity = "0..1", description = "Accept forwarded traffic from and to the Network in chain FLANNEL-FWD of the filter table "
                    + "(default: ${DEFAULT-VALUE}).")
    boolean iptablesForwardRules;

    @Option(names = "--iptables-resync", paramLabel = "SECONDS", defaultValue = "${env:FLANNELD_IPTABLES_RESYNC:-5}",
            description = "How often the packet-filter rules and the data path's kernel state are checked and repaired "
                    + "(default: ${DEFAULT-VALUE}).")
    int iptablesResyncSeconds;

    @Option(names = "--ip-blackhole-route", defaultValue = "${env:FLANNELD_IP_BLACKHOLE_ROUTE:-false}", fallbackValue = "true",
            arity = "0..1", description = "Add a blackhole route for this node's subnet (and one for its IPv6 subnet), so traffic to its unused addresses is dropped "
                    + "instead of following the default route.")
    boolean ipBlackholeRoute;

    @Option(names = "--healthz-ip", paramLabel = "IP", defaultValue = "${env:FLANNELD_HEALTHZ_IP:-0.0.0.0}",
            description = "Address of the /healthz listener (default: ${DEFAULT-VALUE}).")
    String healthzIp;

    @Option(names = "--healthz-port", paramLabel = "PORT", defaultValue = "${env:FLANNELD_HEALTHZ_PORT:-0}",
            description = "Port of the /healthz listener; 0 disables it (default: ${DEFAULT-VALUE}).")
    int healthzPort;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "${env:FLANNELD_LOG_LEVEL:-info}",
            description = "error, warn, info, debug or trace (default: ${DEFAULT-VALUE}).")
    String logLevel;

    @Option(names = "--v", paramLabel = "N", defaultValue = "0",
            description = "flanneld's verbosity: 0 is info, 1 to 4 debug, 5 and more trace; overrides --log-level when set.")
    int verbosity;

    /** The subcommands: leases, status, doctor, mk-docker-opts, put-config. */
    static final List<Class<?>> SUBCOMMANDS = List.of(LeasesCommand.class, StatusCommand.class, DoctorCommand.class,
            DockerOptsCommand.class, PutConfigCommand.class);

    public static void main(String[] args) {
        CommandLine cli = commandLine(System.getenv(), args);
        System.exit(cli.execute(acceptSingleDash(cli, args)));
    }

    /** The whole command line, every subcommand included: bad flags are reported by {@link FlagErrors}, exit 2. */
    static CommandLine commandLine(java.util.Map<String, String> env) {
        return commandLine(env, null);
    }

    /**
     * The command line as {@link #main} runs it for {@code args}. The subcommands are added only when an argument
     * names one (or asks for help, which lists them): picocli reflects over every class it is given, and a daemon
     * start need not pay for the subcommands' (about a fifth of the time before the first log line).
     */
    static CommandLine commandLine(java.util.Map<String, String> env, String[] args) {
        CommandLine cli = new CommandLine(new Main());
        if (args == null || mayNeedSubcommands(args)) {
            for (Class<?> sub : SUBCOMMANDS) {
                cli.addSubcommand(sub);
            }
        }
        cli.setParameterExceptionHandler(new FlagErrors(env));
        return cli;
    }

    private static boolean mayNeedSubcommands(String[] args) {
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help") || a.equals("-help") || a.equals("help")) {
                return true;
            }
            for (Class<?> sub : SUBCOMMANDS) {
                if (a.equals(sub.getAnnotation(Command.class).name())) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Go's flag package, and so flanneld, takes {@code -etcd-endpoints} as well as
     * {@code --etcd-endpoints}; unit files written for flanneld use either.
     */
    static String[] acceptSingleDash(CommandLine cli, String[] args) {
        String[] out = args.clone();
        for (int i = 0; i < out.length; i++) {
            String a = out[i];
            if (a.startsWith("-") && !a.startsWith("--") && a.length() > 2) {
                String name = "-" + (a.contains("=") ? a.substring(0, a.indexOf('=')) : a);
                if (cli.getCommandSpec().findOption(name) != null) {
                    out[i] = "-" + a;
                }
            }
        }
        return out;
    }

    @Override
    public Integer call() {
        DaemonOptions options;
        try {
            configureLogging();
            options = options();
            // A missing or unusable certificate or key is a bad flag: say so now rather than on the first request.
            EtcdClients.checkTlsFiles(options.etcd());
        } catch (IllegalArgumentException e) {
            System.err.println("flanneld-java: " + e.getMessage());
            return 2;
        }
        return new FlannelDaemon(options).run();
    }

    /** Must run before the first logger exists: slf4j-simple reads its level once. */
    void configureLogging() {
        String level = verbosity >= 5 ? "trace" : verbosity >= 1 ? "debug" : logLevel.toLowerCase(java.util.Locale.ROOT);
        if (!java.util.Set.of("error", "warn", "info", "debug", "trace").contains(level)) {
            throw new IllegalArgumentException("--log-level: \"" + logLevel + "\" is not one of error, warn, info, debug, trace");
        }
        if (verbosity < 0) {
            throw new IllegalArgumentException("--v: must not be negative, got " + verbosity);
        }
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
        System.setProperty("org.slf4j.simpleLogger.log.io.flanneld", level);
    }

    DaemonOptions options() {
        if (renewMarginMinutes < 0) {
            throw new IllegalArgumentException("--subnet-lease-renew-margin: must not be negative, got " + renewMarginMinutes);
        }
        if (iptablesResyncSeconds < 1) {
            throw new IllegalArgumentException("--iptables-resync: must be at least 1 second, got " + iptablesResyncSeconds);
        }
        for (String regex : ifaceRegexes) {
            try {
                java.util.regex.Pattern.compile(regex);
            } catch (java.util.regex.PatternSyntaxException e) {
                throw new IllegalArgumentException("--iface-regex: \"" + regex + "\" is not a regular expression: " + e.getDescription());
            }
        }
        if (ifaceCanReach != null && !ifaceCanReach.isEmpty()) {
            try {
                io.flanneld.schema.Ip4.parse(ifaceCanReach);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--iface-can-reach: \"" + ifaceCanReach + "\" is not an IPv4 address");
            }
        }
        if (healthzPort < 0 || healthzPort > 65535) {
            throw new IllegalArgumentException("--healthz-port: " + healthzPort + " is not a TCP port");
        }
        Duration ttl = DaemonOptions.parseDuration("--subnet-lease-ttl", leaseTtl);
        LeaseOptions lease;
        try {
            lease = LeaseOptions.defaults().withTtl(ttl, Duration.ofMinutes(renewMarginMinutes));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--subnet-lease-ttl: " + e.getMessage());
        }
        return new DaemonOptions(etcdOptions(), keys().prefix(),
                new DaemonOptions.InterfaceChoice(ifaces, ifaceRegexes, java.util.Optional.ofNullable(emptyToNull(ifaceCanReach))),
                emptyToNull(publicIp), emptyToNull(publicIpv6), subnetFile, lease, ipMasq, healthzIp, healthzPort, java.util.Optional.ofNullable(cniConfDir),
                new DaemonOptions.NodeIntegration(iptablesForwardRules, Duration.ofSeconds(iptablesResyncSeconds), ipBlackholeRoute, !ipMasqFullyRandomDisable));
    }

    EtcdOptions etcdOptions() {
        return new EtcdOptions(EtcdOptions.parseEndpoints(etcdEndpoints), etcdCertFile, etcdKeyFile, etcdCaFile,
                emptyToNull(etcdUsername), emptyToNull(etcdPassword));
    }

    EtcdKeys keys() {
        try {
            return new EtcdKeys(etcdPrefix);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--etcd-prefix: " + e.getMessage());
        }
    }

    /** What a subcommand does with etcd, once connected with the daemon's flags. */
    interface EtcdTask {
        int run(SubnetRegistry registry) throws EtcdUnavailableException, EtcdAccessException;
    }

    /**
     * Connects to etcd with the daemon's flags, runs {@code task} and closes the connection; an etcd
     * that does not answer is one line naming the endpoints (exit 1), as is an etcd that refuses the
     * TLS material or the credentials (saying which), a bad etcd flag one line naming the flag (exit 2).
     */
    int withEtcd(String command, PrintWriter err, EtcdTask task) {
        try (Client client = EtcdClients.connect(etcdOptions())) {
            return task.run(new SubnetRegistry(client, keys(), Duration.ofSeconds(5), io.flanneld.lease.RequestCounter.NONE, etcdOptions()));
        } catch (EtcdAccessException e) {
            err.println("flanneld-java " + command + ": " + e.getMessage());
            return 1;
        } catch (EtcdUnavailableException e) {
            err.println("flanneld-java " + command + ": etcd at " + etcdOptions().endpointList() + " is not answering: " + e.getMessage());
            return 1;
        } catch (IllegalArgumentException e) {
            err.println("flanneld-java " + command + ": " + e.getMessage());
            return 2;
        }
    }

    Path subnetFile() {
        return subnetFile;
    }

    private static String emptyToNull(String s) {
        return s == null || s.isEmpty() ? null : s;
    }
}
