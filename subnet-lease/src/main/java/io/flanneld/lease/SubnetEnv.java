package io.flanneld.lease;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;

/**
 * The contents of subnet.env, which Docker ({@code --bip}) and the CNI flannel plugin read.
 *
 * @param subnet this host's leased subnet; written as its first host address, e.g. 10.244.7.1/24
 */
public record SubnetEnv(Ip4Net network, Ip4Net subnet, int mtu, boolean ipMasq) {

    /** The file's text, in flannel's variable order. */
    public String render() {
        return "FLANNEL_NETWORK=" + network + "\n"
                + "FLANNEL_SUBNET=" + Ip4.format(subnet.firstHost()) + "/" + subnet.prefixLength() + "\n"
                + "FLANNEL_MTU=" + mtu + "\n"
                + "FLANNEL_IPMASQ=" + ipMasq + "\n";
    }
}
