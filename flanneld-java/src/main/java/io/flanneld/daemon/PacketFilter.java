package io.flanneld.daemon;

/**
 * Rules the daemon keeps in place on the node beside its data path: the masquerade rules of {@code --ip-masq} and the
 * forward rules of {@code --iptables-forward-rules}, through iptables or nftables, and the blackhole route of
 * {@code --ip-blackhole-route}. Installed at start, checked again every {@code --iptables-resync} seconds and put back
 * when someone removed them (a firewall reload, an admin's flush), removed on a clean stop.
 */
public interface PacketFilter extends AutoCloseable {
    /** What these rules are, for log lines and the {@code what} label of {@code flannel_repairs_total}: "ip_masq", "forward_rules". */
    String what();

    /** Where they live, for log lines: "iptables nat/FLANNEL-POSTRTG". */
    String where();

    /**
     * Makes every rule present, in order; calling it again when nothing is missing changes nothing.
     *
     * @return true when something was missing and has been put back (false on the first install)
     */
    boolean ensure() throws PacketFilterException;

    /** Removes exactly what this instance added. */
    @Override
    void close() throws PacketFilterException;
}
