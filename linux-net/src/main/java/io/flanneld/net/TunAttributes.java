package io.flanneld.net;

/**
 * A TUN/TAP device's own attributes as rtnetlink reports them (IFLA_INFO_DATA of kind "tun": IFLA_TUN_TYPE,
 * IFLA_TUN_PI, IFLA_TUN_VNET_HDR, IFLA_TUN_PERSIST, IFLA_TUN_MULTI_QUEUE), so that an existing device can be
 * checked before attaching to it.
 *
 * @param type IFF_TUN (1) or IFF_TAP (2)
 * @param packetInfo packets carry the 4-byte packet-information prefix (no IFF_NO_PI)
 * @param vnetHeader IFF_VNET_HDR
 * @param persistent TUNSETPERSIST is on: the device outlives its descriptors
 * @param multiQueue IFF_MULTI_QUEUE
 */
public record TunAttributes(int type, boolean packetInfo, boolean vnetHeader, boolean persistent,
                            boolean multiQueue) {
    public static final int IFF_TUN = 1;
    public static final int IFF_TAP = 2;

    public boolean isTun() {
        return type == IFF_TUN;
    }
}
