package io.flanneld.daemon;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.udp.UdpBackend;
import io.flanneld.hostgw.HostGwInspection;
import io.flanneld.vxlan.VxlanInspection;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * {@code doctor}'s checks of the data path against etcd: the device ({@code flannel.<VNI>} as the vxlan backend would
 * make it, {@code flannel0} for udp), every other lease's entries and nothing more (the vxlan comparison is
 * {@link VxlanInspection}'s, which the backend's own repair shares), and with {@code --probe} whether each peer answers
 * through the overlay. Pure functions of a {@link DoctorSnapshot}.
 */
final class DataPathChecks {
    private DataPathChecks() {
    }

    static List<Check> all(DoctorSnapshot s, NodeFacts f) {
        List<Check> out = new ArrayList<>();
        if (f.config().isEmpty()) {
            return out;
        }
        NetworkConfig config = f.config().get();
        switch (config.backend().type()) {
            case BackendConfig.VXLAN -> vxlan(s, f, config, out);
            case BackendConfig.UDP -> udp(s, f, config, out);
            case BackendConfig.HOST_GW -> hostGw(s, f, config, out);
            case BackendConfig.ALLOC -> out.add(Check.ok("data path", "alloc backend: leases only, no data path to check"));
            default -> out.add(Check.warn("data path", "Backend.Type " + config.backend().type() + " is not one this doctor knows", null));
        }
        return out;
    }

    /** Why the data path cannot be compared, or empty when it can: it needs the interface and this node's lease. */
    private static Optional<Check> notComparable(DoctorSnapshot s, NodeFacts f) {
        if (s.underlay().iface().isEmpty()) {
            return Optional.of(Check.warn("data path", "not compared: no interface for traffic between hosts (" + s.underlay().how() + ")",
                    "give doctor the daemon's --iface"));
        }
        if (f.ownLease().isEmpty()) {
            return Optional.of(Check.warn("data path", "not compared: this node holds no lease in etcd (see lease)", null));
        }
        return Optional.empty();
    }

    static void vxlan(DoctorSnapshot s, NodeFacts f, NetworkConfig config, List<Check> out) {
        Optional<Check> no = notComparable(s, f);
        if (no.isPresent() || s.vxlan().isEmpty()) {
            out.add(no.orElse(Check.warn("data path", "not compared: the kernel's VXLAN state could not be read", null)));
            return;
        }
        ExternalInterface iface = s.underlay().iface().get();
        if (config.enableIpv4()) {
            report(VxlanInspection.diagnose(s.vxlan().get(), config, iface, f.ownLease().get(), f.peers()), "", "route, ARP and FDB", s, out);
        }
        VxlanInspection.diagnose6(s.vxlan().get(), config, iface, f.ownLease().get(), f.peers())
                .ifPresent(found -> report(found, " v6", "IPv6 route, NDP and FDB", s, out));
    }

    /** One family's device and entries as checks: {@code device}, {@code data path} and {@code peers}, with a suffix for IPv6. */
    private static void report(VxlanInspection.Findings found, String suffix, String what, DoctorSnapshot s, List<Check> out) {
        if (found.deviceProblems().isEmpty()) {
            out.add(Check.ok("device" + suffix, found.deviceSummary()));
        } else {
            out.add(Check.fail("device" + suffix, String.join("; ", found.deviceProblems()), DaemonChecks.restart(s) + ": at start it re-creates "
                    + found.device() + " if its settings differ, sets its MTU, address and up state, and publishes its MAC as the lease's VtepMAC"));
        }
        int n = found.peers().size();
        if (found.missing().isEmpty() && found.stale().isEmpty()) {
            out.add(Check.ok("data path" + suffix, what + " entries for all " + n + " other lease(s) in etcd; nothing stale"));
        } else {
            List<String> details = new ArrayList<>();
            for (VxlanInspection.Missing m : found.missing()) {
                details.add("missing for " + m.peer() + " (" + m.publicIp() + "): " + m.entry().kind() + " " + m.entry().text()
                        + m.found().map(h -> " (the kernel has " + h + ")").orElse("") + "  → " + m.entry().command());
            }
            for (VxlanInspection.Entry e : found.stale()) {
                details.add("stale, no lease accounts for it: " + e.kind() + " " + e.text() + "  → " + e.command());
            }
            int missing = found.missing().size();
            out.add(Check.fail("data path" + suffix, missing + " entr" + (missing == 1 ? "y" : "ies") + " missing and " + found.stale().size()
                    + " stale, against " + n + " other lease(s) in etcd", entryFix(s)).withDetails(details));
        }
        if (!found.skipped().isEmpty()) {
            out.add(Check.warn("peers" + suffix, found.skipped().size() + " lease(s) this vxlan node cannot program, so their pods are out of reach",
                    "run one backend type across the cluster (Backend.Type in the network config)").withDetails(found.skipped()));
        }
    }

    /** host-gw: every host-gw peer's route via its PublicIP on the interface, nothing stale ({@link HostGwInspection}, the backend's own decisions). */
    static void hostGw(DoctorSnapshot s, NodeFacts f, NetworkConfig config, List<Check> out) {
        Optional<Check> no = notComparable(s, f);
        if (no.isPresent()) {
            out.add(no.get());
            return;
        }
        ExternalInterface iface = s.underlay().iface().get();
        List<Ip4Net> onLink = s.kernel().links().stream().filter(l -> l.link().index() == iface.index())
                .flatMap(l -> l.addresses().stream()).map(LinkAddress::network).toList();
        HostGwInspection.Findings found = HostGwInspection.diagnose(s.kernel().routes(), onLink, iface.index(), iface.name(),
                config.network(), f.ownLease().get(), f.peers());
        if (found.missing().isEmpty() && found.stale().isEmpty()) {
            out.add(Check.ok("data path", "routes via their PublicIP for all " + found.routed() + " host-gw peer(s) in etcd; nothing stale"));
        } else {
            List<String> details = new ArrayList<>();
            found.missing().forEach(m -> details.add("missing: " + m + "  → ip route replace " + m));
            found.stale().forEach(r -> details.add("stale, no lease accounts for it: " + r + "  → ip route del " + r));
            out.add(Check.fail("data path", found.missing().size() + " route(s) missing and " + found.stale().size() + " stale, against "
                    + (found.routed() + found.missing().size()) + " host-gw peer(s) in etcd", entryFix(s)).withDetails(details));
        }
        if (!found.offLink().isEmpty()) {
            out.add(Check.fail("peers", found.offLink().size() + " host-gw peer(s) not on this node's L2 network: host-gw cannot route to them",
                    "put every node on one L2 network, or use the vxlan backend (Backend.Type) for a routed network").withDetails(found.offLink()));
        }
        if (!found.otherTypes().isEmpty()) {
            out.add(Check.warn("peers", found.otherTypes().size() + " lease(s) of another backend, whose pods this host-gw node cannot reach",
                    "run one backend type across the cluster (Backend.Type in the network config)").withDetails(found.otherTypes()));
        }
    }

    private static String entryFix(DoctorSnapshot s) {
        String byHand = "; by hand, the command after each entry";
        return DaemonChecks.running(s)
                ? "the daemon puts missing entries back within --iptables-resync seconds and removes stale ones when it starts "
                        + "(systemctl restart flanneld-java); entries that stay missing are refused by the kernel, which journalctl -u flanneld-java names" + byHand
                : "start flanneld-java: at start it programs every lease and removes what no lease accounts for" + byHand;
    }

    static void udp(DoctorSnapshot s, NodeFacts f, NetworkConfig config, List<Check> out) {
        Optional<Check> no = notComparable(s, f);
        if (no.isPresent()) {
            out.add(no.get());
            return;
        }
        ExternalInterface iface = s.underlay().iface().get();
        Ip4Net own = f.ownLease().get().subnet();
        Optional<LinkWithAddresses> tun = s.kernel().links().stream().filter(l -> l.link().name().equals(UdpBackend.DEVICE)).findFirst();
        String fix = DaemonChecks.restart(s) + ": it opens " + UdpBackend.DEVICE + " again and configures it";
        if (tun.isEmpty()) {
            out.add(Check.fail("device", UdpBackend.DEVICE + " does not exist: nothing carries pod traffic to other nodes", fix));
            return;
        }
        Link link = tun.get().link();
        LinkAddress address = new LinkAddress(link.index(), own.address(), config.network().prefixLength());
        int mtu = iface.mtu() - UdpBackend.OVERHEAD;
        List<String> wrong = new ArrayList<>();
        if (!tun.get().addresses().contains(address)) {
            wrong.add(UdpBackend.DEVICE + " lacks its address " + address + " (has " + tun.get().addresses() + ")");
        }
        if (link.mtu() != mtu) {
            wrong.add(UdpBackend.DEVICE + " has MTU " + link.mtu() + " instead of " + mtu + " (" + iface.name() + "'s " + iface.mtu() + " − "
                    + UdpBackend.OVERHEAD + ")");
        }
        if (!link.isUp()) {
            wrong.add(UdpBackend.DEVICE + " is down");
        }
        out.add(wrong.isEmpty() ? Check.ok("device", UdpBackend.DEVICE + ": " + address + ", MTU " + link.mtu() + ", up")
                : Check.fail("device", String.join("; ", wrong), fix));

        Ip4Net network = config.network();
        boolean routed = s.kernel().routes().stream().anyMatch(r -> r.outputIndex() == link.index() && r.destination().equals(network));
        long udpPeers = f.peers().stream().filter(p -> p.attrs().backend().equals(BackendConfig.UDP)).count();
        Optional<Double> table = s.healthz().flatMap(DoctorSnapshot.Healthz::metrics)
                .flatMap(page -> metric(page, "flannel_backend_peers{backend=\"udp\"}"));
        if (!routed) {
            out.add(Check.fail("data path", "no route to " + network + " through " + UdpBackend.DEVICE + ": pod traffic to other nodes does not reach the daemon",
                    "ip route replace " + network + " dev " + UdpBackend.DEVICE + ", or " + DaemonChecks.restart(s)));
        } else if (table.isPresent() && table.get().longValue() != udpPeers) {
            out.add(Check.fail("data path", "the daemon forwards to " + table.get().longValue() + " host(s) (flannel_backend_peers in /metrics) but etcd has "
                    + udpPeers + " other udp lease(s)", DaemonChecks.restart(s) + ": it reads every lease again"));
        } else {
            out.add(Check.ok("data path", "route to " + network + " through " + UdpBackend.DEVICE + "; " + udpPeers + " other udp lease(s) in etcd"
                    + table.map(t -> ", the daemon forwards to " + t.longValue()).orElse(" (the daemon's own count needs --healthz-port)")));
        }
    }

    /** With {@code --probe}: which peers answered ICMP echo to their subnet .0 through the overlay, and how fast. */
    static Optional<Check> probe(DoctorSnapshot s, NodeFacts f) {
        if (s.probes().isEmpty()) {
            return Optional.empty();
        }
        List<DoctorSnapshot.Probe> probes = s.probes().get();
        if (probes.isEmpty()) {
            return Optional.of(Check.ok("probe", "no other lease to probe"));
        }
        List<String> details = new ArrayList<>();
        List<DoctorSnapshot.Probe> silent = new ArrayList<>();
        for (DoctorSnapshot.Probe p : probes) {
            String who = p.peer() + " (" + p.publicIp() + "): ";
            if (p.received() > 0) {
                details.add(who + p.target() + " answered " + p.received() + "/" + p.sent() + p.rttMs().map(r -> String.format(", %.2f ms", r)).orElse(""));
            } else {
                silent.add(p);
                details.add(who + p.target() + " " + p.error().orElse("did not answer " + p.sent() + " echo request(s)"));
            }
        }
        String of = probes.size() < f.peers().size() ? " (probed " + probes.size() + " of " + f.peers().size() + ")" : "";
        if (silent.isEmpty()) {
            return Optional.of(Check.ok("probe", "all " + probes.size() + " peer(s) answered through the overlay" + of).withDetails(details));
        }
        String local = s.underlay().iface().map(i -> Ip4.format(i.publicIp())).orElse("this node");
        String them = String.join(", ", silent.stream().map(DoctorSnapshot.Probe::publicIp).toList());
        return Optional.of(Check.fail("probe", silent.size() + " of " + probes.size() + " peer(s) did not answer through the overlay" + of,
                "check that UDP " + f.port() + " passes between " + local + " and " + them + " (firewalls, security groups, "
                        + "iptables -S INPUT on both sides), then run doctor on those nodes").withDetails(details));
    }

    /** The value of one sample in a Prometheus text page, e.g. {@code flannel_backend_peers{backend="udp"}}. */
    static Optional<Double> metric(String page, String sample) {
        return page.lines().filter(l -> l.startsWith(sample + " ")).findFirst().map(l -> {
            try {
                return Double.parseDouble(l.substring(sample.length() + 1).strip());
            } catch (NumberFormatException e) {
                return null;
            }
        });
    }

    /** Peers to probe: every other lease with an IPv4 subnet (the probe pings its .0), at most {@code max}, in address order. */
    static List<Lease> probeTargets(NodeFacts f, int max) {
        return f.peers().stream().filter(p -> p.subnet() != null).sorted(java.util.Comparator.comparing(Lease::subnet)).limit(max).toList();
    }
}
