package io.flanneld.net;

import io.flanneld.schema.Ip6;
import java.util.Objects;

/**
 * A forwarding-database entry of a VXLAN device with an IPv6 underlay: frames for {@code mac} are encapsulated and
 * sent to the VTEP at {@code destination}. The equivalent of {@code bridge fdb add <mac> dev flannel-v6.1 dst
 * <destination> self permanent}.
 *
 * @param state NUD_* bits; {@link Neighbour#NUD_PERMANENT} for entries the backend installs
 */
public record FdbEntry6(int linkIndex, MacAddress mac, Ip6 destination, int state) {
    public FdbEntry6 {
        Objects.requireNonNull(mac, "mac");
        Objects.requireNonNull(destination, "destination");
    }

    public static FdbEntry6 permanent(int linkIndex, MacAddress mac, Ip6 destination) {
        return new FdbEntry6(linkIndex, mac, destination, Neighbour.NUD_PERMANENT);
    }

    public boolean isPermanent() {
        return (state & Neighbour.NUD_PERMANENT) != 0;
    }
}
