package io.flanneld.net;

import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.Objects;
import java.util.Optional;

/**
 * An IPv6 unicast route, the AF_INET6 counterpart of {@link Route} with the same fields and factories.
 *
 * <p>The VXLAN backend's per-peer route is {@link #onlinkVia}: "2001:2:19:2::/64 via 2001:2:19:2:: dev flannel-v6.1
 * onlink"; host-gw's is {@link #viaDevice}: "2001:2:19:2::/64 via 2001:2::2 dev eth0". The kernel gives an IPv6 route
 * without a metric the metric 1024, and reports it so; a request with metric 0 means "the kernel's default" when
 * adding and "any" when deleting.
 */
public record Route6(Ip6Net destination, Optional<Ip6> gateway, int outputIndex, boolean onlink,
                     int table, int protocol, int scope, int metric) {
    /** What the kernel uses for an IPv6 route added without a metric (IP6_RT_PRIO_USER). */
    public static final int DEFAULT_METRIC = 1024;

    public Route6 {
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
    public static Route6 onlinkVia(Ip6Net destination, Ip6 gateway, int outputIndex) {
        return new Route6(destination, Optional.of(gateway), outputIndex, true, Route.TABLE_MAIN, Route.PROTOCOL_BOOT,
                Route.SCOPE_UNIVERSE, 0);
    }

    /** "dst via gateway dev outputIndex" in the main table: host-gw's and direct routing's route to a peer. */
    public static Route6 viaDevice(Ip6Net destination, Ip6 gateway, int outputIndex) {
        return new Route6(destination, Optional.of(gateway), outputIndex, false, Route.TABLE_MAIN,
                Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0);
    }

    /** "dst via gateway" in the main table, device chosen by the kernel. */
    public static Route6 via(Ip6Net destination, Ip6 gateway) {
        return viaDevice(destination, gateway, 0);
    }

    /** "dst dev outputIndex" in the main table. */
    public static Route6 throughDevice(Ip6Net destination, int outputIndex) {
        return new Route6(destination, Optional.empty(), outputIndex, false, Route.TABLE_MAIN, Route.PROTOCOL_BOOT,
                Route.SCOPE_UNIVERSE, 0);
    }

    public Route6 withTable(int newTable) {
        return new Route6(destination, gateway, outputIndex, onlink, newTable, protocol, scope, metric);
    }

    public Route6 withProtocol(int newProtocol) {
        return new Route6(destination, gateway, outputIndex, onlink, table, newProtocol, scope, metric);
    }

    public Route6 withMetric(int newMetric) {
        return new Route6(destination, gateway, outputIndex, onlink, table, protocol, scope, newMetric);
    }

    public boolean isDefault() {
        return destination.prefixLength() == 0;
    }

    /** The route in `ip -6 route` style, for logs and error messages. */
    public String describe() {
        StringBuilder s = new StringBuilder(isDefault() ? "default" : destination.toString());
        gateway.ifPresent(g -> s.append(" via ").append(g));
        if (outputIndex != 0) {
            s.append(" dev #").append(outputIndex);
        }
        if (onlink) {
            s.append(" onlink");
        }
        if (table != Route.TABLE_MAIN) {
            s.append(" table ").append(table);
        }
        if (metric != 0) {
            s.append(" metric ").append(metric);
        }
        return s.toString();
    }
}
