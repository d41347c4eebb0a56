package io.flanneld.daemon;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code --ip-masq} rules: traffic from pods to outside the overlay network leaves with the host's address,
 * traffic inside the overlay keeps its pod addresses. The rule set is recent flannel's (pkg/trafficmngr/iptables),
 * rule for rule, so an operator reading {@code iptables-save} sees what flannel would have installed:
 * <pre>
 * -A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG
 * -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
 * -A FLANNEL-POSTRTG -s SUBNET -d NETWORK -m comment --comment "flanneld masq" -j RETURN
 * -A FLANNEL-POSTRTG -s NETWORK -d SUBNET -m comment --comment "flanneld masq" -j RETURN
 * -A FLANNEL-POSTRTG ! -s NETWORK -d SUBNET -m comment --comment "flanneld masq" -j RETURN
 * -A FLANNEL-POSTRTG -s NETWORK ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
 * -A FLANNEL-POSTRTG ! -s NETWORK -d NETWORK -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
 * </pre>
 * (--random-fully only where iptables supports it and not turned off by {@code --ip-masq-fully-random-disable}.)
 * With IPv6, the same rules for the IPv6 Network and subnet through {@code ip6tables}, multicast being
 * {@code ff00::/8} there, as flannel's masqIP6Rules writes them.
 * Kept in place by {@link IptablesChain}.
 */
public final class IpMasq implements PacketFilter {
    public static final String TABLE = "nat";
    public static final String CHAIN = "FLANNEL-POSTRTG";
    public static final String COMMENT = "flanneld masq";
    /** kube-proxy marks packets it will masquerade itself; masquerading them twice breaks them on some kernels. */
    public static final String KUBE_PROXY_MARK = "0x4000/0x4000";
    private static final String MULTICAST = "224.0.0.0/4";
    private static final String MULTICAST6 = "ff00::/8";

    private final IptablesChain chain;

    /**
     * @param network the overlay network (the config's Network)
     * @param subnet this host's leased subnet
     * @param randomFully whether MASQUERADE gets --random-fully (see {@link Iptables#supportsRandomFully()})
     */
    public IpMasq(Iptables iptables, Ip4Net network, Ip4Net subnet, boolean randomFully) {
        this.chain = new IptablesChain("ip_masq", iptables, rules(network, subnet, randomFully));
    }

    private IpMasq(IptablesChain chain) {
        this.chain = chain;
    }

    /**
     * The IPv6 rules for the IPv6 Network and this host's IPv6 subnet, through {@code iptables.ipv6()}.
     *
     * @param iptables the IPv4 runner; its {@link Iptables#ipv6()} twin runs the commands
     */
    public static IpMasq ipv6(Iptables iptables, Ip6Net network, Ip6Net subnet, boolean randomFully) {
        return new IpMasq(new IptablesChain("ip_masq", iptables.ipv6(), rules6(network, subnet, randomFully)));
    }

    /** {@link #ipv6} with --random-fully where this ip6tables supports it and {@code randomFully} allows it. */
    public static IpMasq ipv6WithDetectedRandomFully(Iptables iptables, Ip6Net network, Ip6Net subnet, boolean randomFully)
            throws IptablesException {
        return ipv6(iptables, network, subnet, randomFully && iptables.ipv6().supportsRandomFully());
    }

    /**
     * Like the full constructor, with --random-fully used when this iptables supports it and {@code randomFully}
     * allows it ({@code --ip-masq-fully-random-disable} turns it off), as flannel does.
     */
    public static IpMasq withDetectedRandomFully(Iptables iptables, Ip4Net network, Ip4Net subnet, boolean randomFully)
            throws IptablesException {
        return new IpMasq(iptables, network, subnet, randomFully && iptables.supportsRandomFully());
    }

    /** The rule set in installation order: the POSTROUTING jump first, then the chain's rules. */
    public static List<IptablesRule> rules(Ip4Net network, Ip4Net subnet, boolean randomFully) {
        return rules(network.toString(), subnet.toString(), MULTICAST, randomFully);
    }

    /** The IPv6 rule set (for ip6tables) in installation order: the IPv4 one with IPv6 networks and ff00::/8. */
    public static List<IptablesRule> rules6(Ip6Net network, Ip6Net subnet, boolean randomFully) {
        return rules(network.toString(), subnet.toString(), MULTICAST6, randomFully);
    }

    private static List<IptablesRule> rules(String net, String sub, String multicast, boolean randomFully) {
        List<IptablesRule> rules = new ArrayList<>();
        rules.add(rule("POSTROUTING", "-j", CHAIN));
        rules.add(rule(CHAIN, "-m", "mark", "--mark", KUBE_PROXY_MARK, "-j", "RETURN"));
        // Pod to pod, in either direction: never NAT inside the overlay.
        rules.add(rule(CHAIN, "-s", sub, "-d", net, "-j", "RETURN"));
        rules.add(rule(CHAIN, "-s", net, "-d", sub, "-j", "RETURN"));
        // Outside traffic that arrives for a local pod keeps its source.
        rules.add(rule(CHAIN, "!", "-s", net, "-d", sub, "-j", "RETURN"));
        // Pods to the outside world, except multicast.
        rules.add(masquerade(randomFully, "-s", net, "!", "-d", multicast));
        // The host itself talking to remote pods: take a source address the overlay can answer.
        rules.add(masquerade(randomFully, "!", "-s", net, "-d", net));
        return List.copyOf(rules);
    }

    private static IptablesRule masquerade(boolean randomFully, String... match) {
        List<String> spec = new ArrayList<>(List.of(match));
        spec.addAll(List.of("-j", "MASQUERADE"));
        if (randomFully) {
            spec.add("--random-fully");
        }
        return rule(CHAIN, spec.toArray(String[]::new));
    }

    private static IptablesRule rule(String chain, String... spec) {
        return IptablesChain.rule(TABLE, chain, COMMENT, spec);
    }

    /** This instance's rules in installation order. */
    public List<IptablesRule> rules() {
        return chain.rules();
    }

    @Override
    public String what() {
        return chain.what();
    }

    @Override
    public String where() {
        return chain.where();
    }

    @Override
    public boolean ensure() throws IptablesException {
        return chain.ensure();
    }

    @Override
    public void close() throws IptablesException {
        chain.close();
    }
}
