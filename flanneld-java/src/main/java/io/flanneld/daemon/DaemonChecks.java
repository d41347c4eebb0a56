package io.flanneld.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.lease.SubnetEnv;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * {@code doctor}'s checks of the daemon and what it writes: the process, its health endpoint, etcd and the config, the
 * node's lease, subnet.env against etcd, and the CNI config list. Pure functions of a {@link DoctorSnapshot}.
 */
final class DaemonChecks {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DaemonChecks() {
    }

    static List<Check> all(DoctorSnapshot s, NodeFacts f) {
        List<Check> out = new ArrayList<>();
        out.add(daemon(s));
        healthz(s).ifPresent(out::add);
        out.add(etcd(s));
        if (s.etcd().error().isEmpty()) {
            out.add(lease(s, f));
        }
        out.add(subnetEnv(s, f));
        cni(s, f).ifPresent(out::add);
        return out;
    }

    /** Whether a daemon runs in this network namespace. */
    static boolean running(DoctorSnapshot s) {
        return !s.daemons().isEmpty();
    }

    /** The command that restarts the daemon, or starts it when it does not run. */
    static String restart(DoctorSnapshot s) {
        return running(s) ? "systemctl restart flanneld-java" : "start flanneld-java (systemctl start flanneld-java)";
    }

    static Check daemon(DoctorSnapshot s) {
        List<DoctorSnapshot.DaemonProcess> all = s.daemons();
        if (all.isEmpty()) {
            return Check.fail("daemon", "no flanneld-java (nor flanneld) process in this network namespace (searched /proc/*/cmdline): "
                    + "nothing keeps the lease, the routes or the rules", "systemctl start flanneld-java; journalctl -u flanneld-java -n 50 says why it stopped");
        }
        String pids = all.stream().map(d -> d.program() + " pid " + d.pid()).collect(Collectors.joining(", "));
        if (all.size() > 1) {
            return Check.warn("daemon", all.size() + " daemons in this network namespace (" + pids + "): they fight over one device and one set of rules",
                    "stop all but one");
        }
        DoctorSnapshot.DaemonProcess d = all.get(0);
        if (!d.subnetFile().equals(s.files().subnetFile())) {
            return Check.warn("daemon", d.program() + " running, pid " + d.pid() + ", but it writes " + d.subnetFile() + ", not "
                    + s.files().subnetFile(), "run doctor with --subnet-file " + d.subnetFile());
        }
        return Check.ok("daemon", d.program() + " running, pid " + d.pid());
    }

    static Optional<Check> healthz(DoctorSnapshot s) {
        return s.healthz().map(h -> {
            if (h.error().isPresent()) {
                return Check.fail("healthz", "nothing answers at " + h.url() + " (" + h.error().get() + ")",
                        running(s) ? "the daemon runs without this --healthz-port; give doctor the daemon's --healthz-ip and --healthz-port"
                                : "start flanneld-java (systemctl start flanneld-java)");
            }
            String answer = h.url() + " answers " + h.status() + " " + h.body().strip();
            return h.status() == 200 ? Check.ok("healthz", answer)
                    : Check.fail("healthz", answer, "journalctl -u flanneld-java -n 50 says what the daemon waits for");
        });
    }

    static Check etcd(DoctorSnapshot s) {
        DoctorSnapshot.Etcd e = s.etcd();
        if (e.error().isPresent()) {
            return Check.fail("etcd", e.error().get() + ": the lease and the peers cannot be checked",
                    "give doctor the daemon's --etcd-endpoints and TLS flags; etcdctl --endpoints " + e.endpoints() + " endpoint health");
        }
        if (e.config().isEmpty()) {
            return Check.fail("etcd", e.configError().orElse("no network config"),
                    "flanneld-java put-config --file config.json (e.g. {\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}})");
        }
        NetworkConfig c = e.config().get();
        long leases = e.leases().map(l -> l.allLeases().count()).orElse(0L);
        String network = c.enableIpv4() ? "Network " + c.network() + (c.enableIpv6() ? ", IPv6Network " + c.ipv6().network() : "")
                : "IPv6Network " + c.ipv6().network() + " (IPv6 only)";
        return Check.ok("etcd", e.endpoints() + ": " + network + ", backend " + c.backend().type() + ", " + leases + " lease(s)");
    }

    static Check lease(DoctorSnapshot s, NodeFacts f) {
        String fix = restart(s) + ": it re-creates its key with subnet.env's subnet";
        if (f.ownSubnet().isEmpty() && f.ownSubnet6().isPresent()) {
            return lease6(s, f, fix);
        }
        if (f.ownSubnet().isEmpty()) {
            return Check.fail("lease", "this node holds no lease: there is no " + s.files().subnetFile()
                    + " and no lease in etcd carries an address of this node as its PublicIP", restart(s));
        }
        Ip4Net own = f.ownSubnet().get();
        String others = f.leasesOfThisNode().stream().filter(l -> !l.subnet().equals(own))
                .map(l -> l.subnet() + " for " + l.attrs().publicIpText()).collect(Collectors.joining(", "));
        if (f.ownLease().isEmpty()) {
            return Check.fail("lease", "etcd holds no key for " + own + " (" + s.files().subnetFile().getFileName() + "'s subnet)"
                    + (others.isEmpty() ? "" : "; it holds " + others + ", an address of this node"), fix);
        }
        Lease lease = f.ownLease().get();
        String holder = lease.attrs().publicIpText();
        if (!f.localAddresses().contains(lease.attrs().publicIp())) {
            return Check.warn("lease", own + " is held for PublicIP " + holder + ", which is not an address of this node "
                    + "(right only behind NAT, with --public-ip)", "if another node took this subnet, " + restart(s) + " on this one");
        }
        if (expired(s, lease)) {
            return Check.fail("lease", own + " for " + holder + ": its etcd lease " + Long.toHexString(lease.etcdLeaseId())
                    + " has expired", restart(s));
        }
        String expiry = expiry(s, lease);
        if (!others.isEmpty()) {
            return Check.warn("lease", own + " held for " + holder + " (this node), " + expiry + "; etcd also holds " + others,
                    "etcdctl del the older key once no pod uses its subnet");
        }
        return Check.ok("lease", own + " held for " + holder + " (this node), " + expiry);
    }

    /** An IPv6-only node's lease: its key {@code 0.0.0.0-0&<v6 subnet>}, held for one of its IPv6 addresses. */
    private static Check lease6(DoctorSnapshot s, NodeFacts f, String fix) {
        io.flanneld.schema.Ip6Net own = f.ownSubnet6().get();
        if (f.ownLease().isEmpty()) {
            return Check.fail("lease", "etcd holds no key for " + own + " (" + s.files().subnetFile().getFileName() + "'s IPv6 subnet)", fix);
        }
        Lease lease = f.ownLease().get();
        String holder = String.valueOf(lease.attrs().publicIpv6());
        if (!f.localAddresses6().contains(lease.attrs().publicIpv6())) {
            return Check.warn("lease", own + " is held for PublicIPv6 " + holder + ", which is not an address of this node",
                    "if another node took this subnet, " + restart(s) + " on this one");
        }
        if (expired(s, lease)) {
            return Check.fail("lease", own + " for " + holder + ": its etcd lease " + Long.toHexString(lease.etcdLeaseId())
                    + " has expired", restart(s));
        }
        return Check.ok("lease", own + " held for " + holder + " (this node, IPv6 only), " + expiry(s, lease));
    }

    /** A lease bound to an etcd lease that etcd no longer has (a reservation has none). */
    private static boolean expired(DoctorSnapshot s, Lease lease) {
        return !lease.isReservation() && s.etcd().ownTtlSeconds().isEmpty();
    }

    /** "a reservation" or "expires in 23h59m". */
    private static String expiry(DoctorSnapshot s, Lease lease) {
        return lease.isReservation() ? "a reservation" : "expires in " + LeasesCommand.human(s.etcd().ownTtlSeconds().get());
    }

    static Check subnetEnv(DoctorSnapshot s, NodeFacts f) {
        DoctorSnapshot.Files files = s.files();
        if (files.subnetEnvError().isPresent()) {
            return Check.fail("subnet.env", files.subnetEnvError().get(), "rm " + files.subnetFile() + " and " + restart(s) + ": it writes it again");
        }
        if (files.subnetEnv().isEmpty()) {
            Optional<DoctorSnapshot.DaemonProcess> other = s.daemons().stream().filter(d -> !d.subnetFile().equals(files.subnetFile())).findFirst();
            return Check.fail("subnet.env", files.subnetFile() + " does not exist: Docker and CNI have no subnet to give pods",
                    other.map(d -> "the daemon (pid " + d.pid() + ") writes " + d.subnetFile() + ": run doctor with --subnet-file " + d.subnetFile())
                            .orElse(restart(s)));
        }
        SubnetEnv env = files.subnetEnv().get();
        List<String> wrong = new ArrayList<>();
        f.config().ifPresent(c -> {
            if (!java.util.Objects.equals(c.network(), env.network())) {
                wrong.add("FLANNEL_NETWORK is " + env.network() + " but the config's Network is " + c.network());
            }
            Object network6 = c.enableIpv6() ? c.ipv6().network() : null;
            if (!java.util.Objects.equals(network6, env.ipv6Network())) {
                wrong.add("FLANNEL_IPV6_NETWORK is " + env.ipv6Network() + " but the config's IPv6Network is " + network6);
            }
        });
        Optional<ExternalInterface> iface = s.underlay().iface();
        if (iface.isPresent() && f.config().isPresent() && env.mtu() != iface.get().mtu() - f.overhead()) {
            wrong.add("FLANNEL_MTU is " + env.mtu() + " but the " + f.backend().get() + " backend's MTU is " + (iface.get().mtu() - f.overhead())
                    + " (" + iface.get().name() + "'s " + iface.get().mtu() + " − " + f.overhead() + ")");
        }
        String text = (env.hasIpv4() ? "FLANNEL_SUBNET " + env.subnetText() + ", FLANNEL_NETWORK " + env.network() + ", " : "")
                + (env.hasIpv6() ? "FLANNEL_IPV6_SUBNET " + env.ipv6SubnetText() + ", FLANNEL_IPV6_NETWORK " + env.ipv6Network() + ", " : "")
                + "FLANNEL_MTU " + env.mtu();
        if (!wrong.isEmpty()) {
            return Check.fail("subnet.env", text + ": " + String.join("; ", wrong),
                    restart(s) + " (it rewrites subnet.env), then restart what read it (dockerd, pods)");
        }
        return Check.ok("subnet.env", text + (s.etcd().error().isEmpty() ? ", as etcd says" : ""));
    }

    static Optional<Check> cni(DoctorSnapshot s, NodeFacts f) {
        DoctorSnapshot.Files files = s.files();
        if (files.cniConfDir().isEmpty()) {
            return Optional.empty();
        }
        String file = files.cniConfDir().get().resolve(CniConfig.FILE_NAME).toString();
        String rewrite = restart(s) + " with --cni-conf-dir " + files.cniConfDir().get() + " (it rewrites " + CniConfig.FILE_NAME
                + "), then recreate the pods";
        if (files.cniConflist().isEmpty()) {
            return Optional.of(Check.fail("cni", file + " does not exist: the runtime has no flannel network for pods", rewrite));
        }
        if (!files.cniDirFiles().isEmpty() && !files.cniDirFiles().get(0).equals(CniConfig.FILE_NAME)) {
            return Optional.of(Check.fail("cni", files.cniDirFiles().get(0) + " sorts before " + CniConfig.FILE_NAME + " in "
                    + files.cniConfDir().get() + ": containerd and kubelet use the first file, so pods do not get flannel's network",
                    "move " + files.cniConfDir().get().resolve(files.cniDirFiles().get(0)) + " out of the directory"));
        }
        String subnet;
        int mtu;
        try {
            JsonNode bridge = null;
            for (JsonNode p : JSON.readTree(files.cniConflist().get()).path("plugins")) {
                if ("bridge".equals(p.path("type").asText())) {
                    bridge = p;
                }
            }
            if (bridge == null) {
                return Optional.of(Check.fail("cni", file + " has no bridge plugin", rewrite));
            }
            subnet = bridge.path("ipam").path("ranges").path(0).path(0).path("subnet").asText();
            mtu = bridge.path("mtu").asInt(0);
        } catch (java.io.IOException e) {
            return Optional.of(Check.fail("cni", file + " is not JSON: " + e.getMessage(), rewrite));
        }
        List<String> wrong = new ArrayList<>();
        f.ownSubnet().filter(own -> !own.toString().equals(subnet))
                .ifPresent(own -> wrong.add("pods get addresses from " + subnet + ", not from this node's subnet " + own));
        files.subnetEnv().filter(env -> env.mtu() != mtu)
                .ifPresent(env -> wrong.add("its MTU is " + mtu + ", FLANNEL_MTU is " + env.mtu()));
        if (!wrong.isEmpty()) {
            return Optional.of(Check.fail("cni", file + ": " + String.join("; ", wrong), rewrite));
        }
        return Optional.of(Check.ok("cni", file + ": bridge cni0, host-local over " + subnet + ", MTU " + mtu));
    }
}
