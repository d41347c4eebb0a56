package io.flanneld.daemon;

import java.util.List;
import java.util.Objects;

/**
 * One iptables rule: table, chain and the rule specification as iptables arguments (everything after
 * {@code -A chain}), e.g. {@code nat POSTROUTING [-m, comment, --comment, flanneld masq, -j, FLANNEL-POSTRTG]}.
 */
public record IptablesRule(String table, String chain, List<String> spec) {
    public IptablesRule {
        Objects.requireNonNull(table, "table");
        Objects.requireNonNull(chain, "chain");
        spec = List.copyOf(spec);
    }

    /** The rule in iptables-save form ("-A CHAIN ..."), for logs. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("-t ").append(table).append(" -A ").append(chain);
        for (String arg : spec) {
            s.append(' ').append(arg.contains(" ") ? '"' + arg + '"' : arg);
        }
        return s.toString();
    }
}
