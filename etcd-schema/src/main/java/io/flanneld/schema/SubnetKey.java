package io.flanneld.schema;

import java.util.Objects;
import java.util.Optional;

/**
 * The name of a lease key below {@code <prefix>/subnets/}, in every form flannel writes:
 * <ul>
 *   <li>{@code 198.19.1.0-24}: an IPv4 subnet (every release);</li>
 *   <li>{@code 198.19.1.0-24&2001:2:19:1::-64}: a dual-stack node's IPv4 and IPv6 subnets under one key (flannel with
 *       {@code EnableIPv6});</li>
 *   <li>{@code 0.0.0.0-0&2001:2:19:1::-64}: an IPv6-only node ({@code EnableIPv4: false}), whose IPv4 part is flannel's
 *       empty network. It holds no IPv4 subnet: {@link #ipv4()} is empty, never 0.0.0.0/0, which would overlap every
 *       subnet of the Network.</li>
 * </ul>
 * flannel's {@code subnet.MakeSubnetKey} writes them (pkg/subnet/subnet.go): {@code IP4Net.StringSep(".", "-")},
 * then {@code "&" + IP6Net.StringSep(":", "-")} when the IPv6 subnet is not empty; an IPv6-only lease's IPv4 part is
 * the empty {@code ip.IP4Net{}}. {@link #of(Ip4Net, Ip6Net)} writes each form the same way.
 *
 * <p>The IPv4 part must be spelled canonically (no leading zeros, no host bits), as {@link EtcdKeys#parseSubnetName}
 * requires, and be longer than /0; the IPv6 part is what flannel's key pattern admits: lowercase hexadecimal digits and
 * colons, a prefix length of 1–3 digits up to 128. Its address may be spelled non-canonically or carry host bits (no
 * flannel writes either, but an operator's hand might): the key is still read, holding the network that contains the
 * address, because a key that is not read holds nothing, and its IPv4 subnet would look free.
 *
 * @param name the key's name below the subnets prefix, exactly as it is in etcd
 * @param ipv4 the IPv4 subnet the key holds, or null for an IPv6-only node's key
 * @param ipv6 the IPv6 subnet the key holds, or null for a plain key
 */
public record SubnetKey(String name, Ip4Net ipv4, Ip6Net ipv6) {
    /** flannel's spelling of "no IPv4 subnet" in an IPv6-only node's key. */
    static final String NO_IPV4 = "0.0.0.0-0";

    public SubnetKey {
        Objects.requireNonNull(name, "name");
        if (ipv4 == null && ipv6 == null) {
            throw new IllegalArgumentException("a subnet key holds an IPv4 subnet, an IPv6 subnet or both: " + name);
        }
    }

    /** The plain key of {@code subnet}. */
    public static SubnetKey of(Ip4Net subnet) {
        return new SubnetKey(EtcdKeys.subnetName(subnet), subnet, null);
    }

    /**
     * The key of a lease holding {@code ipv4} and {@code ipv6}, in the form flannel writes for it: plain when
     * {@code ipv6} is null, dual-stack with both, IPv6-only ({@code 0.0.0.0-0&…}) when {@code ipv4} is null.
     */
    public static SubnetKey of(Ip4Net ipv4, Ip6Net ipv6) {
        return new SubnetKey(EtcdKeys.subnetName(ipv4, ipv6), ipv4, ipv6);
    }

    public Optional<Ip4Net> ipv4Subnet() {
        return Optional.ofNullable(ipv4);
    }

    public Optional<Ip6Net> ipv6Subnet() {
        return Optional.ofNullable(ipv6);
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
        Optional<Ip6Net> v6 = ipv6Part(name.substring(amp + 1));
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

    /** {@code 2001:2:19:1::-64} → 2001:2:19:1::/64, or empty when it is not an IPv6 network. */
    static Optional<Ip6Net> ipv6Part(String text) {
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
            return Optional.of(Ip6Net.containing(Ip6.parse(address), length));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
