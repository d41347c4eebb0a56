package io.flanneld.udp;

/**
 * Which kernel offloads the udp backend runs with, probed at start (each can also be turned off in
 * {@link UdpOptions}, to measure what it buys).
 *
 * @param tso flannel0 opened with IFF_VNET_HDR and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4): reads deliver TCP
 *            super-packets that are segmented here
 * @param uso with {@code tso}: also TUN_F_USO4 (with TUN_F_USO6, which the kernel only takes together): UDP
 *            super-packets sent with UDP_SEGMENT inside the overlay are segmented here too
 * @param coalesce with {@code tso}: consecutive TCP segments received are merged into one super-packet per TUN write
 * @param udpGso the socket accepts UDP_SEGMENT: one send carries all segments of a super-packet
 * @param udpGro the socket accepts UDP_GRO: one receive returns several same-sized datagrams from one peer
 */
public record Offloads(boolean tso, boolean uso, boolean coalesce, boolean udpGso, boolean udpGro) {
    public static final Offloads NONE = new Offloads(false, false, false, false, false);

    public Offloads {
        uso = uso && tso;
        coalesce = coalesce && tso;
    }

    /** For logs, {@code status} and the metric label: e.g. {@code tso+uso+tcp_coalesce+udp_gso+udp_gro}, or {@code none}. */
    public String describe() {
        StringBuilder s = new StringBuilder();
        if (tso) {
            s.append("tso");
        }
        if (uso) {
            s.append("+uso");
        }
        if (coalesce) {
            s.append("+tcp_coalesce");
        }
        if (udpGso) {
            s.append(s.isEmpty() ? "" : "+").append("udp_gso");
        }
        if (udpGro) {
            s.append(s.isEmpty() ? "" : "+").append("udp_gro");
        }
        return s.isEmpty() ? "none" : s.toString();
    }
}
