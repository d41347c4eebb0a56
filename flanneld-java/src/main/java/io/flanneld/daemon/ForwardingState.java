package io.flanneld.daemon;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.util.List;
import java.util.Optional;

/**
 * How this node forwards, as {@code status} and {@code doctor} read it: {@code net.ipv4.ip_forward} and the iptables
 * filter table's FORWARD chain (its policy, the jump to {@code FLANNEL-FWD}) and {@code FLANNEL-FWD}'s rules, all from
 * one {@code iptables -t filter -S}. The first things to look at when pods on other nodes cannot reach this one's.
 *
 * @param ipForward      the sysctl; empty when it cannot be read
 * @param filterTable    {@code iptables -t filter -S}, one rule per element; empty when iptables could not be read
 * @param iptablesError  why iptables could not be read
 * @param ipv6Forward    {@code net.ipv6.conf.all.forwarding}; empty when it cannot be read
 * @param filterTable6   {@code ip6tables -t filter -S}; empty when ip6tables could not be read
 * @param ip6tablesError why ip6tables could not be read
 */
record ForwardingState(Optional<Boolean> ipForward, List<String> filterTable, Optional<String> iptablesError,
                       Optional<Boolean> ipv6Forward, List<String> filterTable6, Optional<String> ip6tablesError) {
    ForwardingState {
        filterTable = List.copyOf(filterTable);
        filterTable6 = List.copyOf(filterTable6);
    }

    /** Without a reading of ip6tables. */
    ForwardingState(Optional<Boolean> ipForward, List<String> filterTable, Optional<String> iptablesError, Optional<Boolean> ipv6Forward) {
        this(ipForward, filterTable, iptablesError, ipv6Forward, List.of(), Optional.of("not read"));
    }

    /** Without a reading of the IPv6 sysctl or ip6tables. */
    ForwardingState(Optional<Boolean> ipForward, List<String> filterTable, Optional<String> iptablesError) {
        this(ipForward, filterTable, iptablesError, Optional.empty());
    }

    /** Reads the sysctls and iptables' filter table, and ip6tables' when {@code ipv6} (a node whose config enables IPv6). */
    static ForwardingState read(Iptables iptables, boolean ipv6) {
        Optional<Boolean> on = Forwarding.ipv4Enabled();
        Optional<Boolean> on6 = Forwarding.ipv6Enabled();
        Listing v4 = Listing.of(iptables);
        Listing v6 = ipv6 ? Listing.of(iptables.ipv6()) : new Listing(List.of(), Optional.of("not read"));
        return new ForwardingState(on, v4.table(), v4.error(), on6, v6.table(), v6.error());
    }

    /** One {@code iptables -t filter -S} (or ip6tables'), or why it could not be read. */
    private record Listing(List<String> table, Optional<String> error) {
        static Listing of(Iptables iptables) {
            try {
                return new Listing(iptables.list(ForwardRules.TABLE, null), Optional.empty());
            } catch (IptablesException e) {
                return new Listing(List.of(), Optional.of(e.getMessage()));
            }
        }
    }

    /** FORWARD's policy ({@code ACCEPT}, {@code DROP}), if iptables could be read. */
    Optional<String> policy() {
        return policy(filterTable);
    }

    /** The FORWARD chain as {@code iptables -S FORWARD} prints it: its policy, then its rules. */
    List<String> forwardChain() {
        return forwardChain(filterTable);
    }

    /** Whether FORWARD jumps to FLANNEL-FWD. */
    boolean jumpInPlace() {
        return jumpInPlace(filterTable);
    }

    /** Whether FLANNEL-FWD accepts traffic from and to {@code network}, as {@link ForwardRules} has it. */
    boolean chainAccepts(Ip4Net network) {
        return chainAccepts(filterTable, network.toString());
    }

    /** ip6tables' FORWARD policy. */
    Optional<String> policy6() {
        return policy(filterTable6);
    }

    /** {@code ip6tables -S FORWARD}. */
    List<String> forwardChain6() {
        return forwardChain(filterTable6);
    }

    /** Whether ip6tables' FORWARD jumps to FLANNEL-FWD. */
    boolean jumpInPlace6() {
        return jumpInPlace(filterTable6);
    }

    /** Whether ip6tables' FLANNEL-FWD accepts traffic from and to the IPv6 {@code network}. */
    boolean chainAccepts6(Ip6Net network) {
        return chainAccepts(filterTable6, network.toString());
    }

    private static Optional<String> policy(List<String> table) {
        return table.stream().filter(l -> l.startsWith("-P FORWARD ")).map(l -> l.substring("-P FORWARD ".length()).strip())
                .findFirst();
    }

    private static List<String> forwardChain(List<String> table) {
        return table.stream().filter(l -> l.startsWith("-P FORWARD ") || l.startsWith("-A FORWARD ")).toList();
    }

    private static boolean jumpInPlace(List<String> table) {
        return table.stream().anyMatch(l -> l.startsWith("-A FORWARD ") && l.endsWith("-j " + ForwardRules.CHAIN));
    }

    private static boolean chainAccepts(List<String> table, String network) {
        String prefix = "-A " + ForwardRules.CHAIN + " ";
        return table.stream().anyMatch(l -> l.startsWith(prefix) && l.contains("-s " + network + " ") && l.endsWith("-j ACCEPT"))
                && table.stream().anyMatch(l -> l.startsWith(prefix) && l.contains("-d " + network + " ") && l.endsWith("-j ACCEPT"));
    }

    /** One line for {@code status}: the sysctl, the policy and whether the forward rules are jumped to. */
    String describe() {
        StringBuilder s = new StringBuilder("net.ipv4.ip_forward ")
                .append(ipForward.map(b -> b ? "1" : "0 (OFF: nothing is forwarded)").orElse("unknown"));
        if (iptablesError.isPresent()) {
            return s.append(", iptables unreadable (").append(iptablesError.get()).append(')').toString();
        }
        String policy = policy().orElse("unknown");
        return s.append(", FORWARD policy ").append(policy).append(", ").append(ForwardRules.CHAIN)
                .append(jumpInPlace() ? " in place" : policy.equals("DROP") ? " MISSING (forwarded pod traffic is dropped)" : " not installed")
                .toString();
    }
}
