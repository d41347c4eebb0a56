package io.flanneld.daemon;

import io.flanneld.schema.Ip4Net;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
 * (--random-fully only where iptables supports it.) {@link #ensure()} installs what is missing and may be called
 * again at any time to repair rules someone else flushed; {@link #close()} removes exactly the rules this instance
 * added, and the chain if this instance created it.
 */
public final class IpMasq implements AutoCloseable {
    public static final String TABLE = "nat";
    public static final String CHAIN = "FLANNEL-POSTRTG";
    public static final String COMMENT = "flanneld masq";
    /** kube-proxy marks packets it will masquerade itself; masquerading them twice breaks them on some kernels. */
    public static final String KUBE_PROXY_MARK = "0x4000/0x4000";
    private static final String MULTICAST = "224.0.0.0/4";
    private static final Logger LOG = LoggerFactory.getLogger(IpMasq.class);

    private final Iptables iptables;
    private final IptablesRule jump;
    private final List<IptablesRule> chainRules;
    /** The rules this instance appended and has not deleted, in the order they were added. */
    private final Set<IptablesRule> added = new LinkedHashSet<>();
    private boolean createdChain;
    private boolean closed;

    /**
     * @param network the overlay network (the config's Network)
     * @param subnet this host's leased subnet
     * @param randomFully whether MASQUERADE gets --random-fully (see {@link Iptables#supportsRandomFully()})
     */
    public IpMasq(Iptables iptables, Ip4Net network, Ip4Net subnet, boolean randomFully) {
        this.iptables = Objects.requireNonNull(iptables, "iptables");
        List<IptablesRule> all = rules(network, subnet, randomFully);
        this.jump = all.get(0);
        this.chainRules = all.subList(1, all.size());
    }

    /** Like the full constructor, with --random-fully used when this iptables supports it, as flannel does. */
    public static IpMasq withDetectedRandomFully(Iptables iptables, Ip4Net network, Ip4Net subnet)
            throws IptablesException {
        return new IpMasq(iptables, network, subnet, iptables.supportsRandomFully());
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

    /** The comment goes just before the target, where flannel puts it, so -C and -D match flannel's own rules. */
    private static IptablesRule rule(String chain, String... spec) {
        List<String> args = new ArrayList<>(List.of(spec));
        int target = args.indexOf("-j");
        args.addAll(target, List.of("-m", "comment", "--comment", COMMENT));
        return new IptablesRule(TABLE, chain, args);
    }

    /** This instance's rules in installation order. */
    public List<IptablesRule> rules() {
        List<IptablesRule> all = new ArrayList<>();
        all.add(jump);
        all.addAll(chainRules);
        return all;
    }

    /**
     * Makes the rule set present. Nothing changes if every rule is there already. If the chain lacks some, all of
     * its rules are removed and appended again in order, because their order decides what is masqueraded (the
     * RETURN rules must come before the MASQUERADE ones). The jump from POSTROUTING is added last, so no packet
     * ever passes through a half-filled chain.
     */
    public synchronized void ensure() throws IptablesException {
        if (closed) {
            throw new IllegalStateException("ip-masq rules already removed");
        }
        if (!iptables.chainExists(TABLE, CHAIN)) {
            iptables.newChain(TABLE, CHAIN);
            createdChain = true;
            LOG.info("created iptables chain {} in table {}", CHAIN, TABLE);
        }
        List<IptablesRule> present = new ArrayList<>();
        for (IptablesRule r : chainRules) {
            if (iptables.exists(r)) {
                present.add(r);
            }
        }
        if (present.size() != chainRules.size()) {
            for (IptablesRule r : present) {
                iptables.delete(r);
                added.remove(r);
            }
            for (IptablesRule r : chainRules) {
                iptables.append(r);
                added.add(r);
                LOG.info("added iptables rule {}", r);
            }
        }
        if (!iptables.exists(jump)) {
            iptables.append(jump);
            added.add(jump);
            LOG.info("added iptables rule {}", jump);
        }
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
                if (!iptables.chainExists(TABLE, CHAIN)) {
                    createdChain = false;
                } else if (iptables.list(TABLE, CHAIN).stream().anyMatch(line -> line.startsWith("-A "))) {
                    LOG.warn("leaving iptables chain {}: it holds rules this daemon did not add", CHAIN);
                } else {
                    iptables.deleteChain(TABLE, CHAIN);
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
}
