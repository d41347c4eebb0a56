package io.flanneld.schema;

/**
 * A validated network config with flannel's defaults applied: every host leases one subnet of
 * {@code subnetLen} bits out of {@code network}, between {@code subnetMin} and {@code subnetMax}
 * inclusive (addresses of the first and last usable subnet). {@code enableNFTables} is flannel's
 * {@code EnableNFTables}: the node's masquerade and forward rules go to nftables instead of iptables.
 */
public record NetworkConfig(Ip4Net network, int subnetLen, int subnetMin, int subnetMax, BackendConfig backend,
        boolean enableNFTables) {

    public NetworkConfig {
        if (subnetLen < network.prefixLength() || subnetLen > 32) {
            throw new IllegalArgumentException("SubnetLen " + subnetLen + " does not fit Network " + network);
        }
    }

    /** A config without {@code EnableNFTables} (flannel's default, iptables). */
    public NetworkConfig(Ip4Net network, int subnetLen, int subnetMin, int subnetMax, BackendConfig backend) {
        this(network, subnetLen, subnetMin, subnetMax, backend, false);
    }

    /** How many subnets lie in [subnetMin, subnetMax]. */
    public long subnetCount() {
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
        return subnet.prefixLength() == subnetLen
                && network.contains(subnet)
                && Integer.compareUnsigned(subnet.address(), subnetMin) >= 0
                && Integer.compareUnsigned(subnet.address(), subnetMax) <= 0;
    }

    /** The range as an operator reads it, for error messages. */
    public String describeRange() {
        return "Network " + network + ", SubnetLen " + subnetLen + ", SubnetMin " + Ip4.format(subnetMin)
                + ", SubnetMax " + Ip4.format(subnetMax) + " (" + subnetCount() + " subnets)";
    }
}
