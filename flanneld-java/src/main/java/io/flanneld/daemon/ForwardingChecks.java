package io.flanneld.daemon;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.net.RouteLookup;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.schema.Lease;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * {@code doctor}'s checks of forwarding on the node: {@code net.ipv4.ip_forward}, the FORWARD policy and the forward
 * rules (iptables, or nftables with {@code EnableNFTables}), and the reverse-path filter on the device packets from
 * each peer arrive on. Pure functions of a {@link DoctorSnapshot}.
 */
final class ForwardingChecks {
    /** How many FORWARD rules a failure quotes before it counts the rest. */
    private static final int QUOTED_RULES = 8;

    private ForwardingChecks() {
    }

    static List<Check> all(DoctorSnapshot s, NodeFacts f) {
        List<Check> out = new ArrayList<>();
        if (f.config().map(NetworkConfig::enableIpv4).orElse(true)) {
            out.add(ipForward(s));
        }
        if (f.config().map(NetworkConfig::enableIpv6).orElse(false)) {
            out.add(ip6Forward(s));
        }
        f.config().filter(NetworkConfig::enableIpv4).ifPresent(c -> out.add(forwardRules(s, c.network(), c.enableNFTables())));
        f.config().filter(NetworkConfig::enableIpv6).ifPresent(c -> out.add(c.enableNFTables()
                ? nftForward6(s, c.ipv6().network()) : forwardRules6(s, c.ipv6().network())));
        if (f.config().map(NetworkConfig::enableIpv4).orElse(true)) {
            rpFilter(s, f).ifPresent(out::add); // net.ipv4.conf.*.rp_filter: IPv4's alone
        }
        return out;
    }

    static Check ipForward(DoctorSnapshot s) {
        Optional<Boolean> on = s.forwarding().ipForward();
        if (on.isEmpty()) {
            return Check.warn("ip_forward", "net.ipv4.ip_forward cannot be read (/proc/sys/net/ipv4/ip_forward)", "cat /proc/sys/net/ipv4/ip_forward");
        }
        return on.get() ? Check.ok("ip_forward", "net.ipv4.ip_forward = 1")
                : Check.fail("ip_forward", "net.ipv4.ip_forward = 0: this node forwards nothing, so pod traffic from and to other nodes stops here",
                        "sysctl -w net.ipv4.ip_forward=1, and net.ipv4.ip_forward = 1 in /etc/sysctl.d/ to keep it");
    }

    /** With EnableIPv6: {@code net.ipv6.conf.all.forwarding}, without which no IPv6 pod traffic crosses the node. */
    static Check ip6Forward(DoctorSnapshot s) {
        Optional<Boolean> on = s.forwarding().ipv6Forward();
        if (on.isEmpty()) {
            return Check.warn("ip6_forward", "net.ipv6.conf.all.forwarding cannot be read (/proc/sys/net/ipv6/conf/all/forwarding)",
                    "cat /proc/sys/net/ipv6/conf/all/forwarding");
        }
        return on.get() ? Check.ok("ip6_forward", "net.ipv6.conf.all.forwarding = 1")
                : Check.fail("ip6_forward", "net.ipv6.conf.all.forwarding = 0: EnableIPv6 is set, but this node forwards no IPv6, "
                        + "so IPv6 pod traffic from and to other nodes stops here",
                        "sysctl -w net.ipv6.conf.all.forwarding=1, and net.ipv6.conf.all.forwarding = 1 in /etc/sysctl.d/ to keep it");
    }

    static Check forwardRules(DoctorSnapshot s, Ip4Net network, boolean nftables) {
        ForwardingState fw = s.forwarding();
        String byHand = "iptables -A FORWARD -s " + network + " -j ACCEPT; iptables -A FORWARD -d " + network + " -j ACCEPT";
        if (fw.iptablesError().isPresent()) {
            return Check.warn("forward rules", "iptables cannot be read: " + fw.iptablesError().get(), "run doctor as root, with iptables installed");
        }
        String policy = fw.policy().orElse("unknown");
        boolean dropping = !policy.equals("ACCEPT");
        String listing = "iptables -S FORWARD: " + quote(fw.forwardChain());
        if (nftables) {
            return nftForward(s, network, policy, dropping && !(fw.jumpInPlace() && fw.chainAccepts(network)), listing, byHand);
        }
        return iptablesForward("forward rules", "forwarded pod traffic", policy, fw.jumpInPlace(), fw.chainAccepts(network),
                network.toString(), listing, byHand);
    }

    /**
     * With EnableIPv6 (and the iptables rules, not nftables): ip6tables' FORWARD policy and the daemon's
     * {@code FLANNEL-FWD} rules for the IPv6 Network, which the daemon installs through ip6tables.
     */
    static Check forwardRules6(DoctorSnapshot s, Ip6Net network) {
        ForwardingState fw = s.forwarding();
        if (fw.ip6tablesError().isPresent()) {
            return Check.warn("forward rules v6", "ip6tables cannot be read: " + fw.ip6tablesError().get(),
                    "run doctor as root, with ip6tables installed");
        }
        String byHand = "ip6tables -A FORWARD -s " + network + " -j ACCEPT; ip6tables -A FORWARD -d " + network + " -j ACCEPT";
        return iptablesForward("forward rules v6", "forwarded IPv6 pod traffic", fw.policy6().orElse("unknown"), fw.jumpInPlace6(),
                fw.chainAccepts6(network), network.toString(), "ip6tables -S FORWARD: " + quote(fw.forwardChain6()), byHand);
    }

    /**
     * With EnableNFTables and EnableIPv6: the daemon's chain in table ip6 flannel-ipv6, and ip6tables' FORWARD policy,
     * which it cannot overrule.
     */
    static Check nftForward6(DoctorSnapshot s, Ip6Net network) {
        ForwardingState fw = s.forwarding();
        String policy = fw.policy6().orElse("unknown");
        boolean drops = fw.ip6tablesError().isEmpty() && !policy.equals("ACCEPT") && !(fw.jumpInPlace6() && fw.chainAccepts6(network));
        return nftTable(s, "forward rules v6", NfTablesScript.FAMILY6, NfTablesScript.TABLE6, s.nft().flatMap(DoctorSnapshot.NftForward::chain6),
                network.toString(), "ip6tables", policy, drops, "ip6tables -S FORWARD: " + quote(fw.forwardChain6()),
                "ip6tables -A FORWARD -s " + network + " -j ACCEPT; ip6tables -A FORWARD -d " + network + " -j ACCEPT");
    }

    /** One family's FORWARD policy against the daemon's FLANNEL-FWD jump and ACCEPT rules for its Network. */
    private static Check iptablesForward(String name, String traffic, String policy, boolean jump, boolean accepting, String network,
                                         String listing, String byHand) {
        boolean dropping = !policy.equals("ACCEPT");
        boolean rules = jump && accepting;
        String accepts = ForwardRules.CHAIN + " accepts from and to " + network;
        if (!dropping) {
            return Check.ok(name, "FORWARD policy ACCEPT" + (rules ? "; " + accepts : ""));
        }
        if (rules) {
            return Check.ok(name, "FORWARD policy " + policy + "; " + accepts);
        }
        String what = jump ? ForwardRules.CHAIN + " lacks its ACCEPT rules for " + network : "no " + ForwardRules.CHAIN + " jump";
        return Check.fail(name, "FORWARD policy " + policy + " and " + what + ": " + traffic + " is dropped (" + listing + ")",
                "restart flanneld-java without --iptables-forward-rules=false, or " + byHand);
    }

    /** With EnableNFTables: the daemon's chain in table ip flannel-ipv4, and iptables' FORWARD policy, which it cannot overrule. */
    private static Check nftForward(DoctorSnapshot s, Ip4Net network, String policy, boolean iptablesDrops, String listing, String byHand) {
        return nftTable(s, "forward rules", NfTablesScript.FAMILY, NfTablesScript.TABLE, s.nft().flatMap(DoctorSnapshot.NftForward::chain),
                network.toString(), "iptables", policy, iptablesDrops, listing, byHand);
    }

    /**
     * One family's nftables forward chain ({@code <family> saddr/daddr <network> accept}, as {@code nft list} prints the
     * daemon's rules) and the FORWARD policy of the family's iptables, which the chain cannot overrule.
     */
    private static Check nftTable(DoctorSnapshot s, String name, String family, String table, Optional<String> chain, String network,
                                  String binary, String policy, boolean iptablesDrops, String listing, String byHand) {
        if (s.nft().flatMap(DoctorSnapshot.NftForward::error).isPresent()) {
            return Check.warn(name, "nftables cannot be read: " + s.nft().get().error().get(), "run doctor as root, with nft installed");
        }
        boolean accepts = chain.map(c -> c.contains(family + " saddr " + network + " accept") && c.contains(family + " daddr " + network + " accept"))
                .orElse(false);
        if (!accepts) {
            return Check.fail(name, "EnableNFTables is on but table " + family + " " + table + " has no forward chain accepting " + network
                    + " (nft list chain " + family + " " + table + " forward: " + chain.map(c -> "no such rules").orElse("no such chain") + ")",
                    "restart flanneld-java without --iptables-forward-rules=false");
        }
        if (iptablesDrops) {
            return Check.fail(name, "table " + family + " " + table + " accepts " + network + ", but " + binary + "' FORWARD policy "
                    + policy + " drops it anyway (a packet must pass every forward hook) (" + listing + ")", byHand);
        }
        return Check.ok(name, "table " + family + " " + table + " chain forward accepts from and to " + network + "; " + binary
                + " FORWARD policy " + policy);
    }

    /**
     * Strict reverse-path filtering ({@code rp_filter} 1; the kernel applies the larger of {@code all}'s value and the
     * device's) drops a packet whose source the kernel would answer through another device than the one it came in
     * on. Packets from a peer's pods arrive on the data path's device (or the underlay, for a directly routed vxlan
     * peer); the route back to the peer's subnet must leave by it. Loose filtering (2) only needs some route back.
     */
    static Optional<Check> rpFilter(DoctorSnapshot s, NodeFacts f) {
        Optional<String> device = f.overlayDevice();
        if (device.isEmpty() || f.peers().isEmpty()) {
            return Optional.empty();
        }
        Map<String, Integer> rp = s.kernel().rpFilter();
        int all = rp.getOrDefault("all", 0);
        Map<Integer, String> names = s.kernel().links().stream().collect(Collectors.toMap(l -> l.link().index(), l -> l.link().name(), (a, b) -> a));
        Optional<ExternalInterface> iface = s.underlay().iface();
        UnderlayNetworks l2 = f.config().filter(c -> c.backend().type().equals(BackendConfig.VXLAN) && c.backend().directRouting())
                .flatMap(c -> iface).map(i -> UnderlayNetworks.of(addressesOf(s.kernel().links(), i.index()))).orElse(null);
        List<String> dropped = new ArrayList<>();
        String worst = null;
        for (Lease peer : f.peers()) {
            if (peer.subnet() == null) {
                continue; // IPv4's reverse-path filter says nothing about an IPv6-only peer
            }
            String arrival = l2 != null && l2.onSameSubnet(peer.attrs().publicIp()) ? iface.get().name() : device.get();
            int effective = Math.max(all, rp.getOrDefault(arrival, 0));
            if (effective == 0) {
                continue;
            }
            DoctorSnapshot.RouteBack back = s.kernel().routesBack().get(peer.subnet());
            if (back == null) {
                continue;
            }
            String get = "ip route get " + Ip4.format(back.address()) + ": ";
            String who = peer.subnet() + " (" + peer.attrs().publicIpText() + ") arrives on " + arrival + ", rp_filter " + effective;
            if (back.route().isEmpty()) {
                dropped.add(who + ", but there is no route back (" + get + back.error().orElse("unreachable") + ")");
                worst = arrival;
                continue;
            }
            RouteLookup r = back.route().get();
            String out = names.getOrDefault(r.outputIndex(), "#" + r.outputIndex());
            if (effective == 1 && !out.equals(arrival)) {
                dropped.add(who + " (strict), but the route back leaves by " + out + " (" + get
                        + r.describe().replace(" dev #" + r.outputIndex(), " dev " + out) + ")");
                worst = arrival;
            }
        }
        String dev = device.get();
        String values = "net.ipv4.conf.all.rp_filter=" + all + ", net.ipv4.conf." + sysctlName(dev) + ".rp_filter=" + rp.getOrDefault(dev, 0);
        if (dropped.isEmpty()) {
            int effective = Math.max(all, rp.getOrDefault(dev, 0));
            return Optional.of(Check.ok("rp_filter", effective == 0 ? "off on " + dev + " (" + values + ")"
                    : (effective == 1 ? "strict" : "loose") + " on " + dev + " (" + values + "), and the routes back to all "
                    + f.peers().size() + " peers' subnets leave by the device their packets arrive on"));
        }
        return Optional.of(Check.fail("rp_filter", "reverse-path filtering drops packets from " + dropped.size() + " peer(s) arriving on " + worst
                        + " (" + values + ")",
                "make the route back to each subnet listed leave by the device it arrives on (ip route del the route that takes it elsewhere), "
                        + "or filter loosely: sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf." + sysctlName(worst) + ".rp_filter=2")
                .withDetails(dropped));
    }

    /** A device name as sysctl spells it: its dots become slashes ({@code flannel/1}). */
    static String sysctlName(String device) {
        return device.replace('.', '/');
    }

    private static List<Ip4Net> addressesOf(List<LinkWithAddresses> links, int index) {
        return links.stream().filter(l -> l.link().index() == index).flatMap(l -> l.addresses().stream())
                .map(LinkAddress::network).toList();
    }

    private static String quote(List<String> rules) {
        if (rules.size() <= QUOTED_RULES) {
            return String.join(" | ", rules);
        }
        return String.join(" | ", rules.subList(0, QUOTED_RULES)) + " | … " + (rules.size() - QUOTED_RULES) + " more";
    }
}
