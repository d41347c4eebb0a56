package io.flanneld.net;

import java.net.Inet4Address;
import java.util.Objects;

/**
 * An IPv4 address with a prefix length, as used for interface addresses ("198.19.1.0/32" on flannel.1) and route
 * destinations ("198.19.2.0/24"). The address is kept as given, host bits included, because an interface address
 * needs them; {@link #network()} masks them off.
 */
public record Ipv4Prefix(Inet4Address address, int length) {
    public static final Ipv4Prefix DEFAULT_ROUTE = new Ipv4Prefix(Ipv4.fromInt(0), 0);

    public Ipv4Prefix {
        Objects.requireNonNull(address, "address");
        if (length < 0 || length > 32) {
            throw new IllegalArgumentException("IPv4 prefix length must be 0..32, got " + length);
        }
    }

    public static Ipv4Prefix of(Inet4Address address, int length) {
        return new Ipv4Prefix(address, length);
    }

    /** Parses "198.19.2.0/24"; a bare address means /32. */
    public static Ipv4Prefix parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            return new Ipv4Prefix(Ipv4.parse(text), 32);
        }
        String len = text.substring(slash + 1);
        if (len.isEmpty() || len.length() > 2 || !len.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("bad prefix length in " + text);
        }
        return new Ipv4Prefix(Ipv4.parse(text.substring(0, slash)), Integer.parseInt(len));
    }

    /** The same prefix with host bits cleared (198.19.2.7/24 gives 198.19.2.0/24). */
    public Ipv4Prefix network() {
        int mask = length == 0 ? 0 : -1 << (32 - length);
        return new Ipv4Prefix(Ipv4.fromInt(Ipv4.toInt(address) & mask), length);
    }

    @Override
    public String toString() {
        return Ipv4.format(address) + "/" + length;
    }
}
