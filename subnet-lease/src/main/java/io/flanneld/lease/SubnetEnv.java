package io.flanneld.lease;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;

/**
 * The contents of subnet.env, which Docker ({@code --bip}, {@code --fixed-cidr-v6}) and the CNI flannel plugin read.
 * A node writes the variables of the families its config enables: {@code FLANNEL_NETWORK} and {@code FLANNEL_SUBNET}
 * with IPv4, {@code FLANNEL_IPV6_NETWORK} and {@code FLANNEL_IPV6_SUBNET} with IPv6, in flannel's order (its
 * WriteSubnetFile: IPv4 pair, IPv6 pair, MTU, IPMASQ).
 *
 * @param network     the IPv4 Network, or null on an IPv6-only node
 * @param subnet      this host's IPv4 subnet, or null on an IPv6-only node; written as its first host address, e.g.
 *                    10.244.7.1/24
 * @param ipv6Network the IPv6 Network, or null without IPv6
 * @param ipv6Subnet  this host's IPv6 subnet, or null without IPv6; written as its first host address, e.g.
 *                    2001:2:19:7::1/64
 */
public record SubnetEnv(Ip4Net network, Ip4Net subnet, int mtu, boolean ipMasq, Ip6Net ipv6Network, Ip6Net ipv6Subnet) {
    public SubnetEnv {
        if ((network == null) != (subnet == null)) {
            throw new IllegalArgumentException("FLANNEL_NETWORK and FLANNEL_SUBNET come together: " + network + ", " + subnet);
        }
        if ((ipv6Network == null) != (ipv6Subnet == null)) {
            throw new IllegalArgumentException("FLANNEL_IPV6_NETWORK and FLANNEL_IPV6_SUBNET come together: " + ipv6Network
                    + ", " + ipv6Subnet);
        }
        if (network == null && ipv6Network == null) {
            throw new IllegalArgumentException("subnet.env names an IPv4 subnet, an IPv6 subnet or both");
        }
    }

    /** An IPv4 node's file. */
    public SubnetEnv(Ip4Net network, Ip4Net subnet, int mtu, boolean ipMasq) {
        this(network, subnet, mtu, ipMasq, null, null);
    }

    /** Whether the file names an IPv4 subnet (false on an IPv6-only node). */
    public boolean hasIpv4() {
        return subnet != null;
    }

    /** Whether the file names an IPv6 subnet. */
    public boolean hasIpv6() {
        return ipv6Subnet != null;
    }

    /** {@code 10.244.7.1/24}: FLANNEL_SUBNET's value, the first host address with the subnet's length. */
    public String subnetText() {
        return Ip4.format(subnet.firstHost()) + "/" + subnet.prefixLength();
    }

    /** {@code 2001:2:19:7::1/64}: FLANNEL_IPV6_SUBNET's value. */
    public String ipv6SubnetText() {
        return ipv6Subnet.firstHost() + "/" + ipv6Subnet.prefixLength();
    }

    /** The file's text, in flannel's variable order. */
    public String render() {
        StringBuilder text = new StringBuilder();
        if (hasIpv4()) {
            text.append("FLANNEL_NETWORK=").append(network).append('\n')
                    .append("FLANNEL_SUBNET=").append(subnetText()).append('\n');
        }
        if (hasIpv6()) {
            text.append("FLANNEL_IPV6_NETWORK=").append(ipv6Network).append('\n')
                    .append("FLANNEL_IPV6_SUBNET=").append(ipv6SubnetText()).append('\n');
        }
        return text.append("FLANNEL_MTU=").append(mtu).append('\n')
                .append("FLANNEL_IPMASQ=").append(ipMasq).append('\n')
                .toString();
    }
}
