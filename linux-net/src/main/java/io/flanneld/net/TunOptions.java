package io.flanneld.net;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * How to open a TUN device. The device is always layer 3 without the packet-information prefix (IFF_TUN | IFF_NO_PI):
 * every read or write is exactly one IP packet, which is what flannel's UDP backend puts into a datagram.
 *
 * @param name the device name, e.g. "flannel0"; a pattern such as "tun%d" lets the kernel pick a number
 * @param multiQueue IFF_MULTI_QUEUE: several fds (queues) can be attached to the device, one per forwarding thread
 * @param vnetHeader IFF_VNET_HDR: each packet is preceded by a struct virtio_net_hdr (needed for offloads)
 * @param offloadFlags TUN_F_* flags for TUNSETOFFLOAD, or empty to leave the kernel default
 * @param nonBlocking open with O_NONBLOCK, for use with epoll; reads then return 0 when nothing is queued
 * @param persistent TUNSETPERSIST once set up: the device (with its addresses and routes) outlives the descriptor,
 *     and a later open of the same name with the same flags attaches to it; it goes only when deleted
 */
public record TunOptions(String name, boolean multiQueue, boolean vnetHeader, OptionalInt offloadFlags,
                         boolean nonBlocking, boolean persistent) {
    public static final int TUN_F_CSUM = 0x01;
    public static final int TUN_F_TSO4 = 0x02;
    public static final int TUN_F_TSO6 = 0x04;
    public static final int TUN_F_TSO_ECN = 0x08;
    public static final int TUN_F_UFO = 0x10;
    public static final int TUN_F_USO4 = 0x20;
    public static final int TUN_F_USO6 = 0x40;

    public TunOptions {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(offloadFlags, "offloadFlags");
        LinkNames.requireValid(name);
    }

    /** A single-queue, blocking device without offloads: flannel's flannel0. */
    public static TunOptions named(String name) {
        return new TunOptions(name, false, false, OptionalInt.empty(), false, false);
    }

    public TunOptions withMultiQueue(boolean enabled) {
        return new TunOptions(name, enabled, vnetHeader, offloadFlags, nonBlocking, persistent);
    }

    public TunOptions withVnetHeader(boolean enabled) {
        return new TunOptions(name, multiQueue, enabled, offloadFlags, nonBlocking, persistent);
    }

    public TunOptions withOffload(int flags) {
        return new TunOptions(name, multiQueue, vnetHeader, OptionalInt.of(flags), nonBlocking, persistent);
    }

    public TunOptions withNonBlocking(boolean enabled) {
        return new TunOptions(name, multiQueue, vnetHeader, offloadFlags, enabled, persistent);
    }

    public TunOptions withPersistent(boolean enabled) {
        return new TunOptions(name, multiQueue, vnetHeader, offloadFlags, nonBlocking, enabled);
    }

    /**
     * Whether {@code existing}, a device of this name, already has the flags an open with these options asks for (a
     * TUN device without packet information, with the same vnet header and queue mode); persistence is not
     * compared, an open sets it.
     */
    public boolean matches(TunAttributes existing) {
        return existing.isTun() && !existing.packetInfo() && existing.vnetHeader() == vnetHeader
                && existing.multiQueue() == multiQueue;
    }
}
