package io.flanneld.daemon;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A chain of the daemon's own and the rule that jumps to it from a built-in chain, kept as flannel keeps its chains:
 * {@link #ensure()} installs what is missing and may be called again at any time to repair rules someone else
 * flushed; {@link #close()} removes exactly the rules this instance added, and the chain if this instance created it.
 * The rule sets themselves are {@link IpMasq}'s and {@link ForwardRules}'.
 */
final class IptablesChain implements PacketFilter {
    private static final Logger LOG = LoggerFactory.getLogger(IptablesChain.class);

    private final String what;
    private final Iptables iptables;
    private final String table;
    private final String chain;
    private final IptablesRule jump;
    private final List<IptablesRule> chainRules;
    /** The rules this instance appended and has not deleted, in the order they were added. */
    private final Set<IptablesRule> added = new LinkedHashSet<>();
    private boolean createdChain;
    private boolean installed;
    private boolean closed;

    /**
     * @param rules the jump into the chain first, then the chain's rules in order (as {@link IpMasq#rules} and
     *              {@link ForwardRules#rules} give them)
     */
    IptablesChain(String what, Iptables iptables, List<IptablesRule> rules) {
        this.what = what;
        this.iptables = Objects.requireNonNull(iptables, "iptables");
        this.jump = rules.get(0);
        this.chainRules = List.copyOf(rules.subList(1, rules.size()));
        this.table = jump.table();
        this.chain = chainRules.get(0).chain();
    }

    @Override
    public String what() {
        return what;
    }

    @Override
    public String where() {
        return iptables.binary() + " " + table + "/" + chain;
    }

    /** The rules in installation order: the jump first, then the chain's rules. */
    List<IptablesRule> rules() {
        List<IptablesRule> all = new ArrayList<>();
        all.add(jump);
        all.addAll(chainRules);
        return all;
    }

    /**
     * Makes the rule set present. Nothing changes if every rule is there already. If the chain lacks some, all of
     * its rules are removed and appended again in order, because their order decides what they do (for ip-masq the
     * RETURN rules must come before the MASQUERADE ones). The jump is added last, so no packet ever passes through
     * a half-filled chain.
     */
    @Override
    public synchronized boolean ensure() throws IptablesException {
        if (closed) {
            throw new IllegalStateException(what + " rules already removed");
        }
        boolean repaired = false;
        if (!iptables.chainExists(table, chain)) {
            iptables.newChain(table, chain);
            createdChain = true;
            repaired = true;
            LOG.info("created {} chain {} in table {}", iptables.binary(), chain, table);
        }
        List<IptablesRule> present = new ArrayList<>();
        for (IptablesRule r : chainRules) {
            if (iptables.exists(r)) {
                present.add(r);
            }
        }
        if (present.size() != chainRules.size()) {
            repaired = true;
            for (IptablesRule r : present) {
                iptables.delete(r);
                added.remove(r);
            }
            for (IptablesRule r : chainRules) {
                iptables.append(r);
                added.add(r);
                LOG.info("added {} rule {}", iptables.binary(), r);
            }
        }
        if (!iptables.exists(jump)) {
            repaired = true;
            iptables.append(jump);
            added.add(jump);
            LOG.info("added {} rule {}", iptables.binary(), jump);
        }
        boolean first = !installed;
        installed = true;
        return repaired && !first;
    }

    /**
     * Removes the rules this instance added, the jump first so traffic stops entering the chain before it empties,
     * then the chain if this instance created it and nothing else was put in it. Tries every step even if one
     * fails, then throws the first failure. A second call does nothing.
     */
    @Override
    public synchronized void close() throws IptablesException {
        if (closed) {
            return;
        }
        closed = true;
        IptablesException first = null;
        List<IptablesRule> toRemove = new ArrayList<>();
        if (added.contains(jump)) {
            toRemove.add(jump);
        }
        added.stream().filter(r -> !r.equals(jump)).forEach(toRemove::add);
        for (IptablesRule r : toRemove) {
            try {
                // Someone may have flushed it already; deleting a missing rule is an error to iptables.
                if (iptables.exists(r)) {
                    iptables.delete(r);
                }
                added.remove(r);
            } catch (IptablesException e) {
                first = keep(first, e);
            }
        }
        if (createdChain) {
            try {
                if (!iptables.chainExists(table, chain)) {
                    createdChain = false;
                } else if (iptables.list(table, chain).stream().anyMatch(line -> line.startsWith("-A "))) {
                    LOG.warn("leaving iptables chain {}: it holds rules this daemon did not add", chain);
                } else {
                    iptables.deleteChain(table, chain);
                    createdChain = false;
                }
            } catch (IptablesException e) {
                first = keep(first, e);
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private static IptablesException keep(IptablesException first, IptablesException next) {
        if (first == null) {
            return next;
        }
        first.addSuppressed(next);
        return first;
    }

    /** A rule of {@code chain} commented {@code comment} just before the target, where flannel puts it, so -C and -D match flannel's own rules. */
    static IptablesRule rule(String table, String chain, String comment, String... spec) {
        List<String> args = new ArrayList<>(List.of(spec));
        int target = args.indexOf("-j");
        args.addAll(target, List.of("-m", "comment", "--comment", comment));
        return new IptablesRule(table, chain, args);
    }
}
