package io.flanneld.daemon;

import io.flanneld.lease.SubnetEnv;
import io.flanneld.lease.SubnetFile;
import io.flanneld.lease.SubnetFileException;
import io.flanneld.net.Link;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4Net;
import java.io.PrintWriter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code flanneld-java status}: this node's lease (from its subnet file), its backend, device and peers. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show this node's lease, backend, device and peer count (same etcd flags and --subnet-file as the daemon).")
final class StatusCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Optional<SubnetEnv> env;
        try {
            env = SubnetFile.read(main.subnetFile());
        } catch (SubnetFileException e) {
            err.println("flanneld-java status: " + e.getMessage());
            return 1;
        }
        if (env.isEmpty()) {
            err.println("flanneld-java status: " + main.subnetFile() + " does not exist: this node holds no lease (is the daemon running?)");
            return 1;
        }
        SubnetEnv file = env.get();
        out.println("subnet file:  " + main.subnetFile() + " (" + subnets(file) + ", MTU " + file.mtu()
                + ", ip-masq " + file.ipMasq() + ")");
        return main.withEtcd("status", err, registry -> {
            List<LeasesCommand.Row> rows = LeasesCommand.rows(registry);
            Optional<LeasesCommand.Row> mine = rows.stream().filter(r -> isMine(r.lease(), file)).findFirst();
            if (mine.isEmpty()) {
                out.println("lease:        MISSING in etcd (" + main.keys().subnet(file.subnet(), file.ipv6Subnet()) + ")");
            } else {
                LeasesCommand.Row r = mine.get();
                io.flanneld.schema.LeaseAttrs attrs = r.lease().attrs();
                out.println("lease:        " + main.keys().subnet(r.lease().subnet(), r.lease().ipv6Subnet()) + ", PublicIP "
                        + attrs.publicIpText() + (attrs.publicIpv6() == null ? "" : ", PublicIPv6 " + attrs.publicIpv6())
                        + (r.lease().isReservation() ? ", reservation" : ", expires in " + r.expiresInSeconds().map(LeasesCommand::human).orElse("-")));
                out.println("backend:      " + attrs.backend() + (r.vtepMac().isEmpty() ? "" : ", VtepMAC " + r.vtepMac())
                        + (attrs.backendV6Data() == null ? "" : ", IPv6 VtepMAC " + LeasesCommand.vtepMac(attrs.backendV6Data())));
                out.println("device:       " + device(attrs.backend(), file));
                if (file.hasIpv6() && "vxlan".equals(attrs.backend())) {
                    out.println("device (v6):  " + device6());
                }
            }
            out.println("peers:        " + (rows.size() - (mine.isPresent() ? 1 : 0)) + " other lease(s) in etcd");
            out.println("forwarding:   " + forwarding(Iptables.local()));
            if (file.hasIpv6()) {
                out.println("forwarding6:  net.ipv6.conf.all.forwarding=" + Forwarding.ipv6Enabled().map(f -> f ? "1" : "0").orElse("unknown"));
            }
            out.flush();
            return mine.isPresent() ? 0 : 1;
        });
    }

    /** "subnet 198.19.7.0/24, IPv6 subnet 2001:2:19:7::/64": the subnets a subnet.env names. */
    static String subnets(SubnetEnv env) {
        String v4 = env.hasIpv4() ? "subnet " + env.subnet() : "";
        String v6 = env.hasIpv6() ? "IPv6 subnet " + env.ipv6Subnet() : "";
        return v4.isEmpty() ? v6 : v6.isEmpty() ? v4 : v4 + ", " + v6;
    }

    /** Whether {@code lease} is the one subnet.env names: by its IPv4 subnet, or on an IPv6-only node its IPv6 one. */
    static boolean isMine(io.flanneld.schema.Lease lease, SubnetEnv env) {
        return env.hasIpv4() ? env.subnet().equals(lease.subnet())
                : lease.subnet() == null && env.ipv6Subnet().equals(lease.ipv6Subnet());
    }

    private static String device6() {
        try (Rtnetlink nl = Rtnetlink.open()) {
            Optional<Link> vxlan = nl.links().list().stream().filter(l -> l.name().startsWith("flannel-v6.")).findFirst();
            return vxlan.map(l -> l.name() + ", MTU " + l.mtu() + ", MAC " + l.mac().map(Object::toString).orElse("-")
                    + ", routes " + nl.routes().list6().stream().filter(r -> r.outputIndex() == l.index()).count())
                    .orElse("MISSING: no flannel-v6.<VNI> device on this host");
        } catch (RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    /** What {@link ForwardingState#describe()} says of this node (package-private for tests). */
    static String forwarding(Iptables iptables) {
        return ForwardingState.read(iptables, false).describe();
    }

    private static String device(String backendType, SubnetEnv env) {
        if (BackendConfig.HOST_GW.equals(backendType)) {
            return hostGwRoutes(env);
        }
        if (!"vxlan".equals(backendType)) {
            return "none (" + backendType + " programs no device)";
        }
        try (Rtnetlink nl = Rtnetlink.open()) {
            Optional<Link> vxlan = nl.links().list().stream().filter(l -> l.name().startsWith("flannel.")).findFirst();
            return vxlan.map(l -> l.name() + ", MTU " + l.mtu() + ", MAC " + l.mac().map(Object::toString).orElse("-")
                    + ", routes " + nl.routes().list().stream().filter(r -> r.outputIndex() == l.index()).count())
                    .orElse("MISSING: no flannel.<VNI> device on this host");
        } catch (RuntimeException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    /** host-gw has no device: the gateway routes into the Network (other than the local subnet's) are its state. */
    private static String hostGwRoutes(SubnetEnv env) {
        if (!env.hasIpv4()) {
            return "none (host-gw)";
        }
        try (Rtnetlink nl = Rtnetlink.open()) {
            int routes = 0;
            java.util.Set<String> devices = new java.util.TreeSet<>();
            for (io.flanneld.net.Route r : nl.routes().list()) {
                Ip4Net dst = r.destination();
                if (r.gateway().isPresent() && dst.prefixLength() > env.network().prefixLength()
                        && env.network().contains(dst) && !dst.equals(env.subnet())) {
                    routes++;
                    nl.links().byIndex(r.outputIndex()).map(Link::name).ifPresent(devices::add);
                }
            }
            return "none (host-gw), routes " + routes + " into " + env.network() + " via peers' PublicIPs"
                    + (devices.isEmpty() ? "" : " on " + String.join(", ", devices));
        } catch (RuntimeException e) {
            return "none (host-gw), routes unknown (" + e.getMessage() + ")";
        }
    }
}
