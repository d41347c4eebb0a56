package io.flanneld.schema;

import java.math.BigInteger;
import java.util.Objects;

/**
 * The IPv6 half of a network config (flannel's {@code EnableIPv6}), validated, flannel's defaults applied: every host
 * leases one subnet of {@code subnetLen} bits out of {@code network}, between {@code subnetMin} and {@code subnetMax}
 * inclusive (the addresses of the first and last usable subnet).
 */
public record Ipv6Config(Ip6Net network, int subnetLen, Ip6 subnetMin, Ip6 subnetMax) {

    public Ipv6Config {
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(subnetMin, "subnetMin");
        Objects.requireNonNull(subnetMax, "subnetMax");
        if (subnetLen < network.prefixLength() || subnetLen > 128) {
            throw new IllegalArgumentException("IPv6SubnetLen " + subnetLen + " does not fit IPv6Network " + network);
        }
        if (!network.contains(subnetMin) || !network.contains(subnetMax) || !subnetMin.masked(subnetLen).equals(subnetMin)
                || !subnetMax.masked(subnetLen).equals(subnetMax) || subnetMin.compareTo(subnetMax) > 0) {
            throw new IllegalArgumentException("IPv6SubnetMin " + subnetMin + " and IPv6SubnetMax " + subnetMax
                    + " are not an ordered range of /" + subnetLen + " subnets in " + network);
        }
    }

    /** How many subnets lie in [subnetMin, subnetMax]: up to 2^126, hence a BigInteger. */
    public BigInteger subnetCount() {
        return subnetMax.toBigInteger().subtract(subnetMin.toBigInteger()).shiftRight(128 - subnetLen).add(BigInteger.ONE);
    }

    /** The {@code index}-th subnet counted from subnetMin. */
    public Ip6Net subnetAt(BigInteger index) {
        if (index.signum() < 0 || index.compareTo(subnetCount()) >= 0) {
            throw new IndexOutOfBoundsException("IPv6 subnet index " + index + " outside 0.." + subnetCount().subtract(BigInteger.ONE));
        }
        return new Ip6Net(Ip6.fromBigInteger(subnetMin.toBigInteger().add(index.shiftLeft(128 - subnetLen))), subnetLen);
    }

    /** True when {@code subnet} has this config's length and lies within [IPv6SubnetMin, IPv6SubnetMax]. */
    public boolean isLeasable(Ip6Net subnet) {
        return subnet.prefixLength() == subnetLen
                && network.contains(subnet)
                && subnet.address().compareTo(subnetMin) >= 0
                && subnet.address().compareTo(subnetMax) <= 0;
    }

    /** The range as an operator reads it, for error messages. */
    public String describeRange() {
        return "IPv6Network " + network + ", IPv6SubnetLen " + subnetLen + ", IPv6SubnetMin " + subnetMin + ", IPv6SubnetMax "
                + subnetMax + " (" + subnetCount() + " subnets)";
    }
}
