package io.flanneld.daemon;

import io.flanneld.schema.Ip4Net;
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
 */
record ForwardingState(Optional<Boolean> ipForward, List<String> filterTable, Optional<String> iptablesError,
                       Optional<Boolean> ipv6Forward) {
    ForwardingState {
        filterTable = List.copyOf(filterTable);
    }

    /** Without a reading of the IPv6 sysctl. */
    ForwardingState(Optional<Boolean> ipForward, List<String> filterTable, Optional<String> iptablesError) {
        this(ipForward, filterTable, iptablesError, Optional.empty());
    }

    /** Reads the sysctls and the filter table. */
    static ForwardingState read(Iptables iptables) {
        Optional<Boolean> on = Forwarding.ipv4Enabled();
        Optional<Boolean> on6 = Forwarding.ipv6Enabled();
        try {
            return new ForwardingState(on, iptables.list(ForwardRules.TABLE, null), Optional.empty(), on6);
        } catch (IptablesException e) {
            return new ForwardingState(on, List.of(), Optional.of(e.getMessage()), on6);
        }
    }

    /** FORWARD's policy ({@code ACCEPT}, {@code DROP}), if iptables could be read. */
    Optional<String> policy() {
        return filterTable.stream().filter(l -> l.startsWith("-P FORWARD ")).map(l -> l.substring("-P FORWARD ".length()).strip())
                .findFirst();
    }

    /** The FORWARD chain as {@code iptables -S FORWARD} prints it: its policy, then its rules. */
    List<String> forwardChain() {
        return filterTable.stream().filter(l -> l.startsWith("-P FORWARD ") || l.startsWith("-A FORWARD ")).toList();
    }

    /** Whether FORWARD jumps to FLANNEL-FWD. */
    boolean jumpInPlace() {
        return filterTable.stream().anyMatch(l -> l.startsWith("-A FORWARD ") && l.endsWith("-j " + ForwardRules.CHAIN));
    }

    /** Whether FLANNEL-FWD accepts traffic from and to {@code network}, as {@link ForwardRules} has it. */
    boolean chainAccepts(Ip4Net network) {
        String prefix = "-A " + ForwardRules.CHAIN + " ";
        return filterTable.stream().anyMatch(l -> l.startsWith(prefix) && l.contains("-s " + network + " ") && l.endsWith("-j ACCEPT"))
                && filterTable.stream().anyMatch(l -> l.startsWith(prefix) && l.contains("-d " + network + " ") && l.endsWith("-j ACCEPT"));
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
