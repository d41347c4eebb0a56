package io.flanneld.daemon;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;

/**
 * The node's packet-filter rules in nftables, for a network config with {@code "EnableNFTables": true}: flannel's
 * table {@code ip flannel-ipv4} with chain {@code postrtg} (nat, postrouting, priority srcnat) for {@code --ip-masq}
 * and chain {@code forward} (filter, forward, priority filter) for {@code --iptables-forward-rules}; the rules are
 * listed in {@link NfTablesScript}. No iptables rule is installed in this mode.
 *
 * <p>What the daemon calls, in place of the iptables ones, when {@code config.enableNFTables()} is true:
 * <pre>{@code
 * NfTables nft = NfTables.local();
 * // --ip-masq, instead of IpMasq.withDetectedRandomFully(Iptables.local(), network, subnet, randomFully):
 * PacketFilter masq = NfTablesRules.masquerade(nft, config.network(), lease.subnet(), options.node().randomFully());
 * // --iptables-forward-rules, instead of ForwardRules.chain(Iptables.local(), network):
 * PacketFilter forward = NfTablesRules.forward(nft, config.network());
 * }</pre>
 * Then, as for the iptables filters: {@code ensure()} once to install (returns false), again every
 * {@code --iptables-resync} seconds (true when it had to put the chain back), and {@code close()} on a clean stop,
 * which deletes the chain, and the table once both chains are gone. Failures are {@link NfTablesException}s (a
 * {@link PacketFilterException}) naming the nft command and its stderr; an nft binary that is missing fails the same
 * way, with "cannot start".
 */
public final class NfTablesRules {
    private NfTablesRules() {
    }

    /**
     * The {@code --ip-masq} chain. Masquerading is {@code fully-random} when {@code randomFully} allows it (false with
     * {@code --ip-masq-fully-random-disable}) and this kernel supports it, which is probed here, as flannel does,
     * with one {@code nft -c} run that changes nothing.
     *
     * @param network the overlay network (the config's Network)
     * @param subnet this host's leased subnet
     * @throws NfTablesException if the probe cannot run (no nft binary, a timeout)
     */
    public static PacketFilter masquerade(NfTables nft, Ip4Net network, Ip4Net subnet, boolean randomFully)
            throws NfTablesException {
        return masqueradeChain(nft, network, subnet, randomFully && nft.supportsFullyRandom());
    }

    /** The {@code --iptables-forward-rules} chain: accept forwarded traffic from and to {@code network}. */
    public static PacketFilter forward(NfTables nft, Ip4Net network) {
        return forwardChain(nft, network);
    }

    /** The {@code --ip-masq} chain with {@code fully-random} exactly as given, nothing probed. */
    static NfTablesChain masqueradeChain(NfTables nft, Ip4Net network, Ip4Net subnet, boolean fullyRandom) {
        return new NfTablesChain("ip_masq", nft, NfTablesScript.POSTRTG,
                NfTablesScript.masqueradeRules(network, subnet, fullyRandom));
    }

    /** The IPv6 {@code --ip-masq} chain, in table {@code ip6 flannel-ipv6}. */
    public static PacketFilter masquerade6(NfTables nft, Ip6Net network, Ip6Net subnet, boolean randomFully)
            throws NfTablesException {
        return new NfTablesChain("ip_masq", nft, NfTablesScript.POSTRTG6,
                NfTablesScript.masqueradeRules6(network, subnet, randomFully && nft.supportsFullyRandom()));
    }

    /** The IPv6 {@code --iptables-forward-rules} chain, in table {@code ip6 flannel-ipv6}. */
    public static PacketFilter forward6(NfTables nft, Ip6Net network) {
        return new NfTablesChain("forward_rules", nft, NfTablesScript.FORWARD6, NfTablesScript.forwardRules6(network));
    }

    static NfTablesChain forwardChain(NfTables nft, Ip4Net network) {
        return new NfTablesChain("forward_rules", nft, NfTablesScript.FORWARD, NfTablesScript.forwardRules(network));
    }
}
