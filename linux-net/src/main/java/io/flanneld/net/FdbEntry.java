package io.flanneld.net;

import java.util.Objects;

/**
 * A forwarding-database entry of a VXLAN device: frames for {@code mac} are encapsulated and sent to the VTEP at
 * {@code destination} (an {@link io.flanneld.schema.Ip4} int). The equivalent of {@code bridge fdb add <mac> dev
 * flannel.1 dst <destination>}; the kernel keeps it in the device itself (NTF_SELF), not in a bridge.
 *
 * @param state NUD_* bits; {@link Neighbour#NUD_PERMANENT} for entries the backend installs
 */
public record FdbEntry(int linkIndex, MacAddress mac, int destination, int state) {
    public FdbEntry {
        Objects.requireNonNull(mac, "mac");
    }

    public static FdbEntry permanent(int linkIndex, MacAddress mac, int destination) {
        return new FdbEntry(linkIndex, mac, destination, Neighbour.NUD_PERMANENT);
    }

    public boolean isPermanent() {
        return (state & Neighbour.NUD_PERMANENT) != 0;
    }
}
