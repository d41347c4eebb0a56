package io.flanneld.daemon;

import io.flanneld.lease.SubnetEnv;
import io.flanneld.lease.SubnetFile;
import io.flanneld.lease.SubnetFileException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code flanneld-java mk-docker-opts}: flannel's mk-docker-opts.sh, reading subnet.env and
 * writing Docker's options, with the script's flags ({@code -f -d -i -c -k -m}), plus a
 * daemon.json fragment for Dockers configured through that file.
 */
@Command(name = "mk-docker-opts", mixinStandardHelpOptions = true,
        description = "Turn subnet.env into Docker daemon options (as flannel's mk-docker-opts.sh).")
final class DockerOptsCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "-f", paramLabel = "FLANNEL_ENV_FILE", defaultValue = "/run/flannel/subnet.env",
            description = "subnet.env to read (default: ${DEFAULT-VALUE}).")
    Path subnetFile;

    @Option(names = "-d", paramLabel = "DOCKER_ENV_FILE", defaultValue = "/run/docker_opts.env",
            description = "File to write, '-' for standard output (default: ${DEFAULT-VALUE}).")
    String dockerEnvFile;

    @Option(names = "-i", description = "Write each option as its own variable (DOCKER_OPT_BIP, DOCKER_OPT_IPMASQ, DOCKER_OPT_MTU).")
    boolean individual;

    @Option(names = "-c", description = "Write the options combined into one variable (DOCKER_OPTS).")
    boolean combined;

    @Option(names = "-k", paramLabel = "COMBINED_KEY", defaultValue = "DOCKER_OPTS",
            description = "Name of the combined variable (default: ${DEFAULT-VALUE}).")
    String combinedKey;

    @Option(names = "-m", description = "Leave out --ip-masq (for Dockers that do not know it).")
    boolean noIpMasq;

    @Option(names = "--daemon-json", paramLabel = "FILE",
            description = "Also write a daemon.json fragment with bip, ip-masq, ipv6 and fixed-cidr-v6 (with an IPv6 subnet) and mtu ('-' for standard output).")
    String daemonJson;

    /**
     * Docker's options for a subnet.env, in mk-docker-opts.sh's order (its variables as {@code set} lists them, by
     * name): {@code --bip} from FLANNEL_SUBNET (absent on an IPv6-only node, as the script writes none without it),
     * {@code --ip-masq}, then with FLANNEL_IPV6_SUBNET Docker's IPv6 pair {@code --ipv6 --fixed-cidr-v6=<the IPv6
     * subnet>}, then {@code --mtu}.
     */
    record DockerOptions(Optional<String> bip, Optional<Boolean> ipMasq, Optional<String> fixedCidrV6, int mtu) {
        static DockerOptions of(SubnetEnv env, boolean withIpMasq) {
            Optional<String> bip = env.hasIpv4() ? Optional.of(env.subnetText()) : Optional.empty();
            // Docker's fixed-cidr-v6 is the network its containers' IPv6 addresses come from: the node's IPv6 subnet.
            Optional<String> v6 = env.hasIpv6() ? Optional.of(env.ipv6Subnet().toString()) : Optional.empty();
            // When flannel masquerades, Docker must not do it a second time, and the other way round.
            return new DockerOptions(bip, withIpMasq ? Optional.of(!env.ipMasq()) : Optional.empty(), v6, env.mtu());
        }

        /** Each variable the script would write, with its value, in its order. */
        private List<String[]> variables() {
            List<String[]> vars = new ArrayList<>();
            bip.ifPresent(b -> vars.add(new String[] {"DOCKER_OPT_BIP", "--bip=" + b}));
            ipMasq.ifPresent(m -> vars.add(new String[] {"DOCKER_OPT_IPMASQ", "--ip-masq=" + m}));
            fixedCidrV6.ifPresent(c -> {
                vars.add(new String[] {"DOCKER_OPT_IPV6", "--ipv6"});
                vars.add(new String[] {"DOCKER_OPT_IPV6_FIXED_CIDR", "--fixed-cidr-v6=" + c});
            });
            vars.add(new String[] {"DOCKER_OPT_MTU", "--mtu=" + mtu});
            return vars;
        }

        List<String> flags() {
            return variables().stream().map(v -> v[1]).toList();
        }

        String envFile(boolean individual, boolean combined, String combinedKey) {
            boolean both = !individual && !combined;
            StringBuilder sb = new StringBuilder();
            if (individual || both) {
                for (String[] v : variables()) {
                    sb.append(v[0]).append("=\"").append(v[1]).append("\"\n");
                }
            }
            if (combined || both) {
                sb.append(combinedKey).append("=\"").append(String.join(" ", flags())).append("\"\n");
            }
            return sb.toString();
        }

        /** The same options as daemon.json keys ({@code bip}, {@code ip-masq}, {@code ipv6}, {@code fixed-cidr-v6}, {@code mtu}). */
        String daemonJson() {
            return "{" + bip.map(b -> "\"bip\":\"" + b + "\",").orElse("")
                    + ipMasq.map(m -> "\"ip-masq\":" + m + ",").orElse("")
                    + fixedCidrV6.map(c -> "\"ipv6\":true,\"fixed-cidr-v6\":\"" + c + "\",").orElse("")
                    + "\"mtu\":" + mtu + "}\n";
        }
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!combinedKey.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            err.println("flanneld-java mk-docker-opts: -k: \"" + combinedKey + "\" is not a shell variable name");
            return 2;
        }
        Optional<SubnetEnv> env;
        try {
            env = SubnetFile.read(subnetFile);
        } catch (SubnetFileException e) {
            err.println("flanneld-java mk-docker-opts: " + e.getMessage());
            return 1;
        }
        if (env.isEmpty()) {
            err.println("flanneld-java mk-docker-opts: " + subnetFile + " does not exist (is flanneld-java running, with this --subnet-file?)");
            return 1;
        }
        DockerOptions options = DockerOptions.of(env.get(), !noIpMasq);
        try {
            write(dockerEnvFile, options.envFile(individual, combined, combinedKey), out);
            if (daemonJson != null) {
                write(daemonJson, options.daemonJson(), out);
            }
        } catch (IOException e) {
            err.println("flanneld-java mk-docker-opts: cannot write: " + e.getMessage());
            return 1;
        }
        return 0;
    }

    private static void write(String target, String text, PrintWriter out) throws IOException {
        if (target.equals("-")) {
            out.print(text);
            out.flush();
        } else {
            SubnetFile.writeAtomically(Path.of(target), text);
        }
    }
}
