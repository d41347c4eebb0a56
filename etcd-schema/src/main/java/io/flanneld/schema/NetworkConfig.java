package io.flanneld.schema;

/**
 * A validated network config with flannel's defaults applied: every host leases one subnet of
 * {@code subnetLen} bits out of {@code network}, between {@code subnetMin} and {@code subnetMax}
 * inclusive (addresses of the first and last usable subnet). {@code enableNFTables} is flannel's
 * {@code EnableNFTables}: the node's masquerade and forward rules go to nftables instead of iptables.
 *
 * <p>IPv6 (flannel ≥ v0.15): {@code ipv6} is the IPv6 half when the config sets {@code EnableIPv6}, else null; with
 * {@code enableIpv4} false (flannel's {@code EnableIPv4: false}, an IPv6-only network) the IPv4 fields are empty
 * ({@code network} null, the numbers 0) and no IPv4 subnet is leasable. The IPv4 accessors mean what they always meant
 * whenever IPv4 is enabled, which the constructors without these two components make it.
 *
 * @param ipv6 the IPv6 half, or null when IPv6 is not enabled
 */
public record NetworkConfig(Ip4Net network, int subnetLen, int subnetMin, int subnetMax, BackendConfig backend,
        boolean enableNFTables, boolean enableIpv4, Ipv6Config ipv6) {

    public NetworkConfig {
        if (enableIpv4) {
            if (network == null) {
                throw new IllegalArgumentException("an IPv4 network config needs a Network");
            }
            if (subnetLen < network.prefixLength() || subnetLen > 32) {
                throw new IllegalArgumentException("SubnetLen " + subnetLen + " does not fit Network " + network);
            }
        } else {
            if (ipv6 == null) {
                throw new IllegalArgumentException("a network config enables IPv4, IPv6 or both");
            }
            if (network != null || subnetLen != 0 || subnetMin != 0 || subnetMax != 0) {
                throw new IllegalArgumentException("an IPv6-only config has no IPv4 fields");
            }
        }
    }

    /** An IPv4 config (flannel's default: {@code EnableIPv4} true, {@code EnableIPv6} false). */
    public NetworkConfig(Ip4Net network, int subnetLen, int subnetMin, int subnetMax, BackendConfig backend,
                         boolean enableNFTables) {
        this(network, subnetLen, subnetMin, subnetMax, backend, enableNFTables, true, null);
    }

    /** An IPv4 config without {@code EnableNFTables} (flannel's default, iptables). */
    public NetworkConfig(Ip4Net network, int subnetLen, int subnetMin, int subnetMax, BackendConfig backend) {
        this(network, subnetLen, subnetMin, subnetMax, backend, false);
    }

    /** An IPv6-only config ({@code EnableIPv4: false}). */
    public static NetworkConfig ipv6Only(Ipv6Config ipv6, BackendConfig backend, boolean enableNFTables) {
        return new NetworkConfig(null, 0, 0, 0, backend, enableNFTables, false, ipv6);
    }

    /** flannel's {@code EnableIPv6}. */
    public boolean enableIpv6() {
        return ipv6 != null;
    }

    /** This config with {@code v6} as its IPv6 half (null: IPv6 not enabled). */
    public NetworkConfig withIpv6(Ipv6Config v6) {
        return new NetworkConfig(network, subnetLen, subnetMin, subnetMax, backend, enableNFTables, enableIpv4, v6);
    }

    /** The IPv4 half alone, as a config that never enabled IPv6; only for a config that enables IPv4. */
    public NetworkConfig withoutIpv6() {
        if (!enableIpv4) {
            throw new IllegalStateException("an IPv6-only config has no IPv4 half");
        }
        return new NetworkConfig(network, subnetLen, subnetMin, subnetMax, backend, enableNFTables, true, null);
    }

    /** How many subnets lie in [subnetMin, subnetMax]; 0 when IPv4 is not enabled. */
    public long subnetCount() {
        if (!enableIpv4) {
            return 0;
        }
        long step = 1L << (32 - subnetLen);
        return ((Integer.toUnsignedLong(subnetMax) - Integer.toUnsignedLong(subnetMin)) / step) + 1;
    }

    /** The {@code index}-th subnet counted from subnetMin. */
    public Ip4Net subnetAt(long index) {
        if (index < 0 || index >= subnetCount()) {
            throw new IndexOutOfBoundsException("subnet index " + index + " outside 0.." + (subnetCount() - 1));
        }
        long address = Integer.toUnsignedLong(subnetMin) + (index << (32 - subnetLen));
        return new Ip4Net((int) address, subnetLen);
    }

    /** The index of {@code subnet} counted from subnetMin, or -1 when it is not a leasable subnet. */
    public long indexOf(Ip4Net subnet) {
        if (!isLeasable(subnet)) {
            return -1;
        }
        return (Integer.toUnsignedLong(subnet.address()) - Integer.toUnsignedLong(subnetMin)) >>> (32 - subnetLen);
    }

    /** True when {@code subnet} has this config's length and lies within [SubnetMin, SubnetMax]. */
    public boolean isLeasable(Ip4Net subnet) {
        return enableIpv4 && subnet != null && subnet.prefixLength() == subnetLen
                && network.contains(subnet)
                && Integer.compareUnsigned(subnet.address(), subnetMin) >= 0
                && Integer.compareUnsigned(subnet.address(), subnetMax) <= 0;
    }

    /** The range as an operator reads it, for error messages: the IPv4 range, then the IPv6 range when enabled. */
    public String describeRange() {
        String v4 = enableIpv4 ? "Network " + network + ", SubnetLen " + subnetLen + ", SubnetMin " + Ip4.format(subnetMin)
                + ", SubnetMax " + Ip4.format(subnetMax) + " (" + subnetCount() + " subnets)" : "EnableIPv4 false";
        return ipv6 == null ? v4 : v4 + "; " + ipv6.describeRange();
    }
}
