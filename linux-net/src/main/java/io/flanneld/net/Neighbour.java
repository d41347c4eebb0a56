package io.flanneld.net;

import java.util.Objects;

/**
 * An IPv4 neighbour (ARP) entry: on link {@code linkIndex}, {@code address} (an
 * {@link io.flanneld.schema.Ip4} int) is at {@code mac}. The VXLAN backend
 * installs one permanent entry per peer: peer subnet .0 → the peer's VTEP MAC.
 *
 * @param state the NUD_* state bits; {@link #NUD_PERMANENT} for entries the backend installs
 */
public record Neighbour(int linkIndex, int address, MacAddress mac, int state) {
    public static final int NUD_REACHABLE = 0x02;
    public static final int NUD_STALE = 0x04;
    public static final int NUD_NOARP = 0x40;
    public static final int NUD_PERMANENT = 0x80;

    public Neighbour {
        Objects.requireNonNull(mac, "mac");
    }

    public static Neighbour permanent(int linkIndex, int address, MacAddress mac) {
        return new Neighbour(linkIndex, address, mac, NUD_PERMANENT);
    }

    public boolean isPermanent() {
        return (state & NUD_PERMANENT) != 0;
    }
}
