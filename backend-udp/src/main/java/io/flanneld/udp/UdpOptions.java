package io.flanneld.udp;

import java.util.Properties;

/**
 * The udp backend's tuning, passed in by whoever creates it (the daemon builds it from its {@code -D} system
 * properties, tests pass their own). Every offload defaults to on and is still only used where the kernel has it;
 * turning one off exists to measure what it buys (backend-udp/README.md). The batch sizes are clamped to what the
 * loops can hold.
 *
 * @param tso flannel0 with IFF_VNET_HDR and TCP segmentation offload ({@code flanneld.udp.tso})
 * @param uso with {@code tso}, UDP segmentation offload too ({@code flanneld.udp.uso})
 * @param coalesce with {@code tso}, consecutive TCP segments written to flannel0 as one ({@code flanneld.udp.coalesce})
 * @param gso UDP_SEGMENT on the socket: one send per super-packet ({@code flanneld.udp.gso})
 * @param gro UDP_GRO on the socket: one receive for many datagrams ({@code flanneld.udp.gro})
 * @param rxBatch datagrams per recvmmsg, 1 to 64 ({@code flanneld.udp.rxBatch}, default 32; 1 turns batching off)
 * @param txBatch packets per sendmmsg, 1 to 256 ({@code flanneld.udp.txBatch}, default 256; 1 turns batching off)
 */
public record UdpOptions(boolean tso, boolean uso, boolean coalesce, boolean gso, boolean gro, int rxBatch,
                         int txBatch) {
    public static final int MAX_RX_BATCH = 64;
    public static final int DEFAULT_RX_BATCH = 32;
    public static final int MAX_TX_BATCH = TunToUdp.MAX_MESSAGES;

    /** Everything on, the default batch sizes: what the daemon runs with unless told otherwise. */
    public static final UdpOptions DEFAULTS = new UdpOptions(true, true, true, true, true, DEFAULT_RX_BATCH,
            MAX_TX_BATCH);
    /** Every offload off (a packet per system call or batch slot), the default batch sizes. */
    public static final UdpOptions NO_OFFLOADS = new UdpOptions(false, false, false, false, false, DEFAULT_RX_BATCH,
            MAX_TX_BATCH);

    public UdpOptions {
        rxBatch = Math.max(1, Math.min(MAX_RX_BATCH, rxBatch));
        txBatch = Math.max(1, Math.min(MAX_TX_BATCH, txBatch));
    }

    /**
     * The options named by {@code properties} ({@code flanneld.udp.*}, see the components), the defaults for those
     * absent: an offload is off only when its property is {@code false} (any case); a batch size that is not a number
     * keeps its default, as {@link Integer#getInteger} does.
     */
    public static UdpOptions fromProperties(Properties properties) {
        return new UdpOptions(
                enabled(properties, "flanneld.udp.tso"),
                enabled(properties, "flanneld.udp.uso"),
                enabled(properties, "flanneld.udp.coalesce"),
                enabled(properties, "flanneld.udp.gso"),
                enabled(properties, "flanneld.udp.gro"),
                integer(properties, "flanneld.udp.rxBatch", DEFAULT_RX_BATCH),
                integer(properties, "flanneld.udp.txBatch", MAX_TX_BATCH));
    }

    public UdpOptions withOffloads(boolean on) {
        return new UdpOptions(on, on, on, on, on, rxBatch, txBatch);
    }

    private static boolean enabled(Properties properties, String name) {
        return !"false".equalsIgnoreCase(properties.getProperty(name, "true"));
    }

    private static int integer(Properties properties, String name, int fallback) {
        String value = properties.getProperty(name);
        if (value == null) {
            return fallback;
        }
        try {
            return Integer.decode(value);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }
}
