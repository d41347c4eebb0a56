package io.flanneld.schema;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Objects;
import java.util.Optional;

/**
 * The name of a lease key below {@code <prefix>/subnets/}, in every form flannel writes:
 * <ul>
 *   <li>{@code 198.19.1.0-24}: an IPv4 subnet (every release; this daemon writes only this form);</li>
 *   <li>{@code 198.19.1.0-24&2001:2:19:1::-64}: a dual-stack node's IPv4 and IPv6 subnets under one key (flannel with
 *       {@code EnableIPv6});</li>
 *   <li>{@code 0.0.0.0-0&2001:2:19:1::-64}: an IPv6-only node ({@code EnableIPv4: false}), whose IPv4 part is flannel's
 *       empty network. It holds no IPv4 subnet: {@link #ipv4()} is empty, never 0.0.0.0/0, which would overlap every
 *       subnet of the Network.</li>
 * </ul>
 * The IPv4 part must be spelled canonically (no leading zeros, no host bits), as {@link EtcdKeys#parseSubnetName}
 * requires, and be longer than /0; the IPv6 part is flannel's: hexadecimal digits and colons, a prefix length up to 128.
 *
 * @param name the key's name below the subnets prefix, exactly as it is in etcd
 * @param ipv4 the IPv4 subnet the key holds, or null for an IPv6-only node's key
 * @param ipv6 the IPv6 subnet as written in the key with a slash ({@code 2001:2:19:1::/64}), or null for a plain key
 */
public record SubnetKey(String name, Ip4Net ipv4, String ipv6) {
    /** flannel's spelling of "no IPv4 subnet" in an IPv6-only node's key. */
    static final String NO_IPV4 = "0.0.0.0-0";

    public SubnetKey {
        Objects.requireNonNull(name, "name");
        if (ipv4 == null && ipv6 == null) {
            throw new IllegalArgumentException("a subnet key holds an IPv4 subnet, an IPv6 subnet or both: " + name);
        }
    }

    /** The plain key this daemon writes for {@code subnet}. */
    public static SubnetKey of(Ip4Net subnet) {
        return new SubnetKey(EtcdKeys.subnetName(subnet), subnet, null);
    }

    public Optional<Ip4Net> ipv4Subnet() {
        return Optional.ofNullable(ipv4);
    }

    /**
     * Reads a key name in any of flannel's forms, or empty when it is none of them (someone else's key, a typo, a
     * non-canonical IPv4 spelling, an IPv6 part that is not an address).
     */
    public static Optional<SubnetKey> parse(String name) {
        if (name == null) {
            return Optional.empty();
        }
        int amp = name.indexOf('&');
        if (amp < 0) {
            // No node holds 0.0.0.0/0: read as a subnet it would overlap, and so occupy, the whole Network.
            return EtcdKeys.parseSubnetName(name).filter(subnet -> subnet.prefixLength() > 0)
                    .map(subnet -> new SubnetKey(name, subnet, null));
        }
        String v4 = name.substring(0, amp);
        Optional<String> v6 = ipv6Part(name.substring(amp + 1));
        if (v6.isEmpty()) {
            return Optional.empty();
        }
        if (v4.equals(NO_IPV4)) {
            return Optional.of(new SubnetKey(name, null, v6.get()));
        }
        Optional<Ip4Net> subnet = EtcdKeys.parseSubnetName(v4);
        if (subnet.isEmpty() || subnet.get().prefixLength() == 0) {
            return Optional.empty();
        }
        return Optional.of(new SubnetKey(name, subnet.get(), v6.get()));
    }

    /** {@code 2001:2:19:1::-64} → {@code 2001:2:19:1::/64}, or empty when it is not an IPv6 network. */
    private static Optional<String> ipv6Part(String text) {
        int dash = text.lastIndexOf('-');
        if (dash <= 0 || dash == text.length() - 1 || text.length() - dash - 1 > 3) {
            return Optional.empty();
        }
        String address = text.substring(0, dash);
        boolean colon = false;
        for (int i = 0; i < address.length(); i++) {
            char c = address.charAt(i);
            if (c == ':') {
                colon = true;
            } else if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return Optional.empty();
            }
        }
        int length = Ip4.decimal(text, dash + 1, text.length());
        if (!colon || length < 0 || length > 128) {
            return Optional.empty();
        }
        try {
            // Only hex digits and colons, with a colon: the JDK parses it as a literal and never looks it up.
            if (!(InetAddress.getByName(address) instanceof Inet6Address)) {
                return Optional.empty();
            }
        } catch (UnknownHostException | RuntimeException e) {
            return Optional.empty();
        }
        return Optional.of(address + "/" + length);
    }
}
