package io.flanneld.daemon;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What the daemon writes to nftables with {@code EnableNFTables}, and how it reads nft's listings back: pure text,
 * no I/O ({@link NfTables} runs it). Names, hooks, priorities, comments and rules are recent flannel's
 * (pkg/trafficmngr/nftables), so {@code nft list table ip flannel-ipv4} reads the same on a node running either
 * daemon:
 * <pre>
 * table ip flannel-ipv4 {
 *     comment "rules for flannel-ipv4"
 *     chain postrtg {
 *         comment "chain to manage traffic masquerading by flannel"
 *         type nat hook postrouting priority srcnat; policy accept;
 *         meta mark 0x00004000 return
 *         ip saddr SUBNET ip daddr NETWORK return
 *         ip saddr NETWORK ip daddr SUBNET return
 *         ip saddr != SUBNET ip daddr NETWORK return
 *         ip saddr NETWORK ip daddr != 224.0.0.0/4 masquerade fully-random
 *         ip saddr != NETWORK ip daddr NETWORK masquerade fully-random
 *     }
 *     chain forward {
 *         comment "chain to accept flannel traffic"
 *         type filter hook forward priority filter; policy accept;
 *         ip saddr NETWORK accept
 *         ip daddr NETWORK accept
 *     }
 * }
 * </pre>
 * Two of the masquerade rules differ from their iptables counterparts in {@link IpMasq}, as they do in flannel: the
 * kube-proxy mark is matched exactly ({@code meta mark 0x4000}, where iptables tests the bit with
 * {@code 0x4000/0x4000}), and the fourth rule leaves alone whatever does not come from this host's subnet and goes to
 * the network ({@code ip saddr != SUBNET ip daddr NETWORK}, where iptables has {@code ! -s NETWORK -d SUBNET}). So
 * in nftables mode the last rule never matches (what it would masquerade, from outside the network to it, the fourth
 * returns first): the host's own traffic to pods on other nodes keeps the host's address, as with flannel's
 * nftables mode. Pods' traffic leaving the network is masqueraded in both modes.
 */
final class NfTablesScript {
    static final String FAMILY = "ip";
    static final String TABLE = "flannel-ipv4";
    /** flannel's masquerade chain: nat at postrouting, srcnat priority (100), where iptables' nat POSTROUTING sits. */
    static final Chain POSTRTG = new Chain(FAMILY, TABLE, "postrtg", "nat", "postrouting", 100,
            "chain to manage traffic masquerading by flannel");
    /** flannel's forward chain: filter at forward, filter priority (0), as iptables' filter FORWARD. */
    static final Chain FORWARD = new Chain(FAMILY, TABLE, "forward", "filter", "forward", 0, "chain to accept flannel traffic");
    /** flannel's IPv6 table ({@code EnableIPv6}): the same chains in {@code ip6 flannel-ipv6}. */
    static final String FAMILY6 = "ip6";
    static final String TABLE6 = "flannel-ipv6";
    static final Chain POSTRTG6 = new Chain(FAMILY6, TABLE6, POSTRTG.name(), POSTRTG.type(), POSTRTG.hook(),
            POSTRTG.priority(), POSTRTG.comment());
    static final Chain FORWARD6 = new Chain(FAMILY6, TABLE6, FORWARD.name(), FORWARD.type(), FORWARD.hook(),
            FORWARD.priority(), FORWARD.comment());
    static final String MULTICAST6 = "ff00::/8";
    /** kube-proxy's masquerade mark; flannel matches it exactly in nftables mode. */
    static final String KUBE_PROXY_MARK = "0x4000";
    static final String MULTICAST = "224.0.0.0/4";
    /** A table that only ever exists inside a check run ({@code nft -c}), never in the kernel. */
    static final String PROBE_TABLE = TABLE + "-probe";

    /**
     * A base chain of the table. The priority is written as a number, as knftables writes it, because older nft
     * releases do not know every priority name; {@code nft list} shows the name again.
     */
    record Chain(String family, String table, String name, String type, String hook, int priority, String comment) {
        /** "ip flannel-ipv4 postrtg": how nft names the chain. */
        String qualified() {
            return family + " " + table + " " + name;
        }
    }

    private NfTablesScript() {
    }

    /** The {@code --ip-masq} rules of chain {@link #POSTRTG}, in order; {@code fullyRandom} is iptables' --random-fully. */
    static List<String> masqueradeRules(Ip4Net network, Ip4Net subnet, boolean fullyRandom) {
        return masqueradeRules(FAMILY, network.toString(), subnet.toString(), MULTICAST, fullyRandom);
    }

    /** The IPv6 rules of chain {@link #POSTRTG6}: the same with {@code ip6} matches and ff00::/8, as flannel's. */
    static List<String> masqueradeRules6(Ip6Net network, Ip6Net subnet, boolean fullyRandom) {
        return masqueradeRules(FAMILY6, network.toString(), subnet.toString(), MULTICAST6, fullyRandom);
    }

    private static List<String> masqueradeRules(String ip, String net, String sub, String multicast, boolean fullyRandom) {
        String masquerade = fullyRandom ? "masquerade fully-random" : "masquerade";
        return List.of(
                // kube-proxy masquerades what it marked; doing it twice breaks it on some kernels.
                "meta mark " + KUBE_PROXY_MARK + " return",
                // Pod to pod, in either direction: never NAT inside the overlay.
                ip + " saddr " + sub + " " + ip + " daddr " + net + " return",
                ip + " saddr " + net + " " + ip + " daddr " + sub + " return",
                ip + " saddr != " + sub + " " + ip + " daddr " + net + " return",
                // Pods to the outside world, except multicast.
                ip + " saddr " + net + " " + ip + " daddr != " + multicast + " " + masquerade,
                ip + " saddr != " + net + " " + ip + " daddr " + net + " " + masquerade);
    }

    /** The {@code --iptables-forward-rules} rules of chain {@link #FORWARD}: accept from and to the network. */
    static List<String> forwardRules(Ip4Net network) {
        String net = network.toString();
        return List.of("ip saddr " + net + " accept", "ip daddr " + net + " accept");
    }

    /** The IPv6 rules of chain {@link #FORWARD6}. */
    static List<String> forwardRules6(Ip6Net network) {
        String net = network.toString();
        return List.of("ip6 saddr " + net + " accept", "ip6 daddr " + net + " accept");
    }

    /**
     * One transaction that makes the table exist and {@code chain} hold exactly {@code rules}, in order, whatever was
     * there before: the chain is emptied, dropped and declared again, so even a chain someone re-declared with
     * another hook or priority comes back as flannel's (nft refuses to re-add a chain under a different
     * declaration). Other chains of the table are not touched. Since the kernel applies the whole script or none of
     * it, no packet ever meets a half-filled chain.
     */
    static String install(Chain chain, List<String> rules) {
        StringBuilder s = new StringBuilder();
        s.append("add table ").append(chain.family()).append(' ').append(chain.table())
                .append(" { comment ").append(quote("rules for " + chain.table())).append(" ; }\n");
        s.append(dropChain(chain));
        s.append("add chain ").append(chain.qualified())
                .append(" { type ").append(chain.type()).append(" hook ").append(chain.hook())
                .append(" priority ").append(chain.priority()).append(" ; comment ").append(quote(chain.comment()))
                .append(" ; }\n");
        for (String rule : rules) {
            s.append("add rule ").append(chain.qualified()).append(' ').append(rule).append('\n');
        }
        return s.toString();
    }

    /**
     * One transaction removing {@code chain} and its rules, which succeeds whether or not the table and the chain
     * exist (each is added first, which changes nothing when it is there). It may leave the table behind, empty:
     * {@link #tableIsEmpty} tells whether to delete it.
     */
    static String remove(Chain chain) {
        return "add table " + chain.family() + " " + chain.table() + "\n" + dropChain(chain);
    }

    /** Deletes the whole table; only sent once a listing showed it empty. */
    static String removeTable() {
        return removeTable(POSTRTG);
    }

    /** Deletes the table {@code chain} is in. */
    static String removeTable(Chain chain) {
        return "delete table " + chain.family() + " " + chain.table() + "\n";
    }

    /** A masquerade fully-random rule in a throwaway table, for {@code nft -c}: accepted only where the kernel can. */
    static String fullyRandomProbe() {
        return "add table " + FAMILY + " " + PROBE_TABLE + "\n"
                + "add chain " + FAMILY + " " + PROBE_TABLE + " probe { type nat hook postrouting priority 100 ; }\n"
                + "add rule " + FAMILY + " " + PROBE_TABLE + " probe ip saddr != 127.0.0.1 masquerade fully-random\n";
    }

    private static String dropChain(Chain chain) {
        String c = chain.qualified();
        return "add chain " + c + "\n" + "flush chain " + c + "\n" + "delete chain " + c + "\n";
    }

    private static String quote(String text) {
        if (text.indexOf('"') >= 0 || text.indexOf('\n') >= 0) {
            throw new IllegalArgumentException("nft comments here never hold quotes or newlines: " + text);
        }
        return "\"" + text + "\"";
    }

    /**
     * The lines of the chain in an {@code nft list chain} listing, trimmed, in order: its comment, its declaration
     * (type, hook, priority, policy) and its rules. What {@link NfTablesChain} compares with what it saw right after
     * installing, so the comparison does not depend on how a given nft release prints a rule.
     */
    static List<String> chainBody(String listing, String chainName) {
        List<String> body = new ArrayList<>();
        boolean inside = false;
        for (String raw : listing.lines().toList()) {
            String line = raw.strip();
            if (!inside) {
                inside = line.equals("chain " + chainName + " {");
            } else if (line.equals("}")) {
                return body;
            } else if (!line.isEmpty()) {
                body.add(line);
            }
        }
        return body;
    }

    /**
     * Whether the chain is exactly as installed: present (a deleted table or chain lists as nothing) and showing the
     * same lines as right after the install.
     */
    static boolean intact(Optional<String> listing, String chainName, List<String> installed) {
        return listing.isPresent() && chainBody(listing.get(), chainName).equals(installed);
    }

    /**
     * Whether an {@code nft list table} listing shows a table with nothing in it: no chain, set, map or other object
     * (each of which opens a block of its own), only the table's own comment or flags.
     */
    static boolean tableIsEmpty(String listing) {
        return listing.lines().map(String::strip).filter(l -> l.endsWith("{")).count() <= 1;
    }
}
