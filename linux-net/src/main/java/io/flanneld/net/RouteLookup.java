package io.flanneld.net;

import io.flanneld.schema.Ip4;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * The kernel's answer to a route lookup for one destination (RTM_GETROUTE with RTA_DST, not a dump): what
 * {@code ip route get DESTINATION} prints, e.g. "198.18.64.9 via 198.18.200.254 dev dummy0 src 198.18.200.2".
 *
 * @param destination the address looked up (an {@link Ip4} int, as are the gateway and source)
 * @param type RTN_* of the route that matched: {@link #TYPE_UNICAST}, or {@link #TYPE_LOCAL} for an address of this
 *     host
 * @param table the table the route was found in
 * @param outputIndex ifindex of the interface the kernel would send through
 * @param gateway the next hop, empty when the destination is directly connected
 * @param source the source address the kernel would use (RTA_PREFSRC), if it named one
 */
public record RouteLookup(int destination, int type, int table, int outputIndex, OptionalInt gateway,
                          OptionalInt source) {
    public static final int TYPE_UNICAST = 1;
    public static final int TYPE_LOCAL = 2;

    public RouteLookup {
        Objects.requireNonNull(gateway, "gateway");
        Objects.requireNonNull(source, "source");
        if (outputIndex < 0 || type < 0 || type > 255 || table < 0) {
            throw new IllegalArgumentException("outputIndex/type/table out of range");
        }
    }

    /** In `ip route get` style, with the device as an index: "198.18.64.9 via 198.18.200.254 dev #3 src ...". */
    public String describe() {
        StringBuilder s = new StringBuilder(type == TYPE_LOCAL ? "local " : "").append(Ip4.format(destination));
        gateway.ifPresent(g -> s.append(" via ").append(Ip4.format(g)));
        s.append(" dev #").append(outputIndex);
        source.ifPresent(a -> s.append(" src ").append(Ip4.format(a)));
        return s.toString();
    }
}
