package io.flanneld.net;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * An IPv4 unicast route.
 *
 * <p>The VXLAN backend's per-peer route is {@link #onlinkVia}: "198.19.2.0/24 via 198.19.2.0 dev flannel.1 onlink";
 * the gateway is not on any subnet of flannel.1 (which only has a /32), so the kernel must be told to treat it as
 * directly reachable (RTNH_F_ONLINK). Direct routing (peers on the same L2 segment) uses {@link #via}: "198.19.2.0/24
 * via 198.18.0.2", the kernel finding the device from the gateway.
 *
 * @param destination destination network; {@link Ip4Net#ALL} for the default route
 * @param gateway next hop (an {@link Ip4} int), empty for a directly connected route
 * @param outputIndex ifindex of the output device, 0 to let the kernel choose from the gateway
 * @param onlink RTNH_F_ONLINK: the gateway is reachable on the output device without a matching subnet
 * @param table routing table, {@link #TABLE_MAIN} normally
 * @param protocol who installed it (RTPROT_*); {@link #PROTOCOL_BOOT} is what `ip route add` uses
 * @param scope RT_SCOPE_*: {@link #SCOPE_UNIVERSE} for gateway routes, {@link #SCOPE_LINK} for device routes
 * @param metric RTA_PRIORITY, 0 if unset
 */
public record Route(Ip4Net destination, OptionalInt gateway, int outputIndex, boolean onlink,
                    int table, int protocol, int scope, int metric) {
    public static final int TABLE_MAIN = 254;
    public static final int PROTOCOL_UNSPEC = 0;
    public static final int PROTOCOL_KERNEL = 2;
    public static final int PROTOCOL_BOOT = 3;
    public static final int PROTOCOL_STATIC = 4;
    public static final int SCOPE_UNIVERSE = 0;
    public static final int SCOPE_LINK = 253;
    public static final int SCOPE_HOST = 254;

    public Route {
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(gateway, "gateway");
        if (outputIndex < 0) {
            throw new IllegalArgumentException("outputIndex must not be negative: " + outputIndex);
        }
        if (gateway.isEmpty() && outputIndex == 0) {
            throw new IllegalArgumentException("a route needs a gateway or an output device: " + destination);
        }
        if (onlink && outputIndex == 0) {
            throw new IllegalArgumentException("an onlink route needs an output device: " + destination);
        }
        if (table < 0 || protocol < 0 || protocol > 255 || scope < 0 || scope > 255 || metric < 0) {
            throw new IllegalArgumentException("table/protocol/scope/metric out of range");
        }
    }

    /** "dst via gateway dev outputIndex onlink" in the main table: the VXLAN backend's route to a peer's subnet. */
    public static Route onlinkVia(Ip4Net destination, int gateway, int outputIndex) {
        return new Route(destination, OptionalInt.of(gateway), outputIndex, true, TABLE_MAIN, PROTOCOL_BOOT,
                SCOPE_UNIVERSE, 0);
    }

    /** "dst via gateway" in the main table, device chosen by the kernel: direct routing to a peer on the same L2. */
    public static Route via(Ip4Net destination, int gateway) {
        return new Route(destination, OptionalInt.of(gateway), 0, false, TABLE_MAIN, PROTOCOL_BOOT, SCOPE_UNIVERSE, 0);
    }

    /** "dst dev outputIndex scope link" in the main table. */
    public static Route throughDevice(Ip4Net destination, int outputIndex) {
        return new Route(destination, OptionalInt.empty(), outputIndex, false, TABLE_MAIN, PROTOCOL_BOOT, SCOPE_LINK,
                0);
    }

    public Route withTable(int newTable) {
        return new Route(destination, gateway, outputIndex, onlink, newTable, protocol, scope, metric);
    }

    public Route withProtocol(int newProtocol) {
        return new Route(destination, gateway, outputIndex, onlink, table, newProtocol, scope, metric);
    }

    public Route withMetric(int newMetric) {
        return new Route(destination, gateway, outputIndex, onlink, table, protocol, scope, newMetric);
    }

    public boolean isDefault() {
        return destination.prefixLength() == 0;
    }

    /** The route in `ip route` style, for logs and error messages. */
    public String describe() {
        StringBuilder s = new StringBuilder(isDefault() ? "default" : destination.toString());
        gateway.ifPresent(g -> s.append(" via ").append(Ip4.format(g)));
        if (outputIndex != 0) {
            s.append(" dev #").append(outputIndex);
        }
        if (onlink) {
            s.append(" onlink");
        }
        if (table != TABLE_MAIN) {
            s.append(" table ").append(table);
        }
        if (metric != 0) {
            s.append(" metric ").append(metric);
        }
        return s.toString();
    }
}
