package io.flanneld.daemon;

import io.flanneld.schema.Ip4Net;
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
 * Kept in place by {@link IptablesChain}.
 */
public final class IpMasq implements PacketFilter {
    public static final String TABLE = "nat";
    public static final String CHAIN = "FLANNEL-POSTRTG";
    public static final String COMMENT = "flanneld masq";
    /** kube-proxy marks packets it will masquerade itself; masquerading them twice breaks them on some kernels. */
    public static final String KUBE_PROXY_MARK = "0x4000/0x4000";
    private static final String MULTICAST = "224.0.0.0/4";

    private final IptablesChain chain;

    /**
     * @param network the overlay network (the config's Network)
     * @param subnet this host's leased subnet
     * @param randomFully whether MASQUERADE gets --random-fully (see {@link Iptables#supportsRandomFully()})
     */
    public IpMasq(Iptables iptables, Ip4Net network, Ip4Net subnet, boolean randomFully) {
        this.chain = new IptablesChain("ip_masq", iptables, rules(network, subnet, randomFully));
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
        String net = network.toString();
        String sub = subnet.toString();
        List<IptablesRule> rules = new ArrayList<>();
        rules.add(rule("POSTROUTING", "-j", CHAIN));
        rules.add(rule(CHAIN, "-m", "mark", "--mark", KUBE_PROXY_MARK, "-j", "RETURN"));
        // Pod to pod, in either direction: never NAT inside the overlay.
        rules.add(rule(CHAIN, "-s", sub, "-d", net, "-j", "RETURN"));
        rules.add(rule(CHAIN, "-s", net, "-d", sub, "-j", "RETURN"));
        // Outside traffic that arrives for a local pod keeps its source.
        rules.add(rule(CHAIN, "!", "-s", net, "-d", sub, "-j", "RETURN"));
        // Pods to the outside world, except multicast.
        rules.add(masquerade(randomFully, "-s", net, "!", "-d", MULTICAST));
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
