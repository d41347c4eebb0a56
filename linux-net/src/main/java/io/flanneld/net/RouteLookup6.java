package io.flanneld.net;

import io.flanneld.schema.Ip6;
import java.util.Objects;
import java.util.Optional;

/**
 * The kernel's answer to an IPv6 route lookup for one destination: what {@code ip -6 route get DESTINATION} prints.
 * The fields are those of {@link RouteLookup}.
 */
public record RouteLookup6(Ip6 destination, int type, int table, int outputIndex, Optional<Ip6> gateway,
                           Optional<Ip6> source) {
    public RouteLookup6 {
        Objects.requireNonNull(destination, "destination");
        Objects.requireNonNull(gateway, "gateway");
        Objects.requireNonNull(source, "source");
        if (outputIndex < 0 || type < 0 || type > 255 || table < 0) {
            throw new IllegalArgumentException("outputIndex/type/table out of range");
        }
    }

    /** In `ip -6 route get` style, with the device as an index. */
    public String describe() {
        StringBuilder s = new StringBuilder(type == RouteLookup.TYPE_LOCAL ? "local " : "").append(destination);
        gateway.ifPresent(g -> s.append(" via ").append(g));
        s.append(" dev #").append(outputIndex);
        source.ifPresent(a -> s.append(" src ").append(a));
        return s.toString();
    }
}
