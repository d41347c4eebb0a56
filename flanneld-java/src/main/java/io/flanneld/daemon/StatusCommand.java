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
        out.println("subnet file:  " + main.subnetFile() + " (subnet " + env.get().subnet() + ", MTU " + env.get().mtu()
                + ", ip-masq " + env.get().ipMasq() + ")");
        return main.withEtcd("status", err, registry -> {
            List<LeasesCommand.Row> rows = LeasesCommand.rows(registry);
            Optional<LeasesCommand.Row> mine = rows.stream().filter(r -> r.lease().subnet().equals(env.get().subnet())).findFirst();
            if (mine.isEmpty()) {
                out.println("lease:        MISSING in etcd (" + main.keys().subnet(env.get().subnet()) + ")");
            } else {
                LeasesCommand.Row r = mine.get();
                out.println("lease:        " + main.keys().subnet(r.lease().subnet()) + ", PublicIP " + r.lease().attrs().publicIpText()
                        + (r.lease().isReservation() ? ", reservation" : ", expires in " + r.expiresInSeconds().map(LeasesCommand::human).orElse("-")));
                out.println("backend:      " + r.lease().attrs().backend() + (r.vtepMac().isEmpty() ? "" : ", VtepMAC " + r.vtepMac()));
                out.println("device:       " + device(r.lease().attrs().backend(), env.get()));
            }
            out.println("peers:        " + (rows.size() - (mine.isPresent() ? 1 : 0)) + " other lease(s) in etcd");
            out.println("forwarding:   " + forwarding(Iptables.local()));
            out.flush();
            return mine.isPresent() ? 0 : 1;
        });
    }

    /** What {@link ForwardingState#describe()} says of this node (package-private for tests). */
    static String forwarding(Iptables iptables) {
        return ForwardingState.read(iptables).describe();
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
