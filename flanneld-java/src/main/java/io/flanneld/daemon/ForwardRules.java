package io.flanneld.daemon;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.util.List;

/**
 * The {@code --iptables-forward-rules} rules, flannel's (pkg/trafficmngr/iptables) rule for rule:
 * <pre>
 * -A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
 * -A FLANNEL-FWD -s NETWORK -m comment --comment "flanneld forward" -j ACCEPT
 * -A FLANNEL-FWD -d NETWORK -m comment --comment "flanneld forward" -j ACCEPT
 * </pre>
 * Docker (1.13 and later) sets the FORWARD policy to DROP when it turns IP forwarding on, and accepts only what
 * leaves its own bridge: without these, pod traffic arriving from another node (on flannel.1 or flannel0) is dropped
 * on its way to the local bridge. Kept in place by {@link IptablesChain}. With IPv6, the same chain and rules for the
 * IPv6 Network through {@code ip6tables} (flannel's SetupAndEnsureForwardRules does both).
 */
public final class ForwardRules {
    public static final String TABLE = "filter";
    public static final String CHAIN = "FLANNEL-FWD";
    public static final String COMMENT = "flanneld forward";

    private ForwardRules() {
    }

    /** The rule set in installation order: the FORWARD jump first, then the chain's rules. */
    public static List<IptablesRule> rules(Ip4Net network) {
        return rules(network.toString());
    }

    /** The IPv6 rule set, for ip6tables. */
    public static List<IptablesRule> rules6(Ip6Net network) {
        return rules(network.toString());
    }

    private static List<IptablesRule> rules(String net) {
        return List.of(
                IptablesChain.rule(TABLE, "FORWARD", COMMENT, "-j", CHAIN),
                IptablesChain.rule(TABLE, CHAIN, COMMENT, "-s", net, "-j", "ACCEPT"),
                IptablesChain.rule(TABLE, CHAIN, COMMENT, "-d", net, "-j", "ACCEPT"));
    }

    /** The rules for {@code network}, kept by a chain of their own. */
    static PacketFilter chain(Iptables iptables, Ip4Net network) {
        return new IptablesChain("forward_rules", iptables, rules(network));
    }

    /** The IPv6 rules for {@code network}, through {@code iptables.ipv6()}. */
    static PacketFilter chain6(Iptables iptables, Ip6Net network) {
        return new IptablesChain("forward_rules", iptables.ipv6(), rules6(network));
    }
}
