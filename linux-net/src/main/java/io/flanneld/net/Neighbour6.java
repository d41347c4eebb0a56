package io.flanneld.net;

import io.flanneld.schema.Ip6;
import java.util.Objects;

/**
 * An IPv6 neighbour (NDP) entry: on link {@code linkIndex}, {@code address} is at {@code mac}. The VXLAN backend
 * installs one permanent entry per peer on flannel-v6.&lt;VNI&gt;: the peer's IPv6 subnet address → its VTEP MAC.
 *
 * @param state the NUD_* state bits ({@link Neighbour#NUD_PERMANENT} for entries the backend installs)
 */
public record Neighbour6(int linkIndex, Ip6 address, MacAddress mac, int state) {
    public Neighbour6 {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(mac, "mac");
    }

    public static Neighbour6 permanent(int linkIndex, Ip6 address, MacAddress mac) {
        return new Neighbour6(linkIndex, address, mac, Neighbour.NUD_PERMANENT);
    }

    public boolean isPermanent() {
        return (state & Neighbour.NUD_PERMANENT) != 0;
    }
}
