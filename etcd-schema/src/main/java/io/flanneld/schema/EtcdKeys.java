package io.flanneld.schema;

import java.util.Optional;

/**
 * Flannel's key layout under a prefix: {@code <prefix>/config} and
 * {@code <prefix>/subnets/10.244.7.0-24}. Subnet key names use a dash instead of a slash so
 * that each subnet is one key, not a directory.
 */
public record EtcdKeys(String prefix) {
    public static final String DEFAULT_PREFIX = "/coreos.com/network";

    public EtcdKeys {
        if (prefix == null || prefix.isEmpty() || !prefix.startsWith("/")) {
            throw new IllegalArgumentException("etcd prefix must start with '/': \"" + prefix + "\"");
        }
        while (prefix.length() > 1 && prefix.endsWith("/")) {
            prefix = prefix.substring(0, prefix.length() - 1);
        }
    }

    public static EtcdKeys defaults() {
        return new EtcdKeys(DEFAULT_PREFIX);
    }

    public String config() {
        return prefix + "/config";
    }

    /** The prefix of every lease key, with its trailing slash, for range reads and watches. */
    public String subnetsPrefix() {
        return prefix + "/subnets/";
    }

    public String subnet(Ip4Net subnet) {
        return subnetsPrefix() + subnetName(subnet);
    }

    /** The full key of a lease key name ({@link SubnetKey#name()}), in whichever form it was written. */
    public String subnet(String name) {
        return subnetsPrefix() + name;
    }

    /** The full key of a lease holding {@code ipv4} and {@code ipv6} ({@link #subnetName(Ip4Net, Ip6Net)}). */
    public String subnet(Ip4Net ipv4, Ip6Net ipv6) {
        return subnetsPrefix() + subnetName(ipv4, ipv6);
    }

    /** {@code 10.244.7.0-24} for 10.244.7.0/24. */
    public static String subnetName(Ip4Net subnet) {
        return Ip4.format(subnet.address()) + "-" + subnet.prefixLength();
    }

    /**
     * A lease key name in flannel's form for its subnets ({@code subnet.MakeSubnetKey}): {@code 198.19.1.0-24} without
     * an IPv6 subnet, {@code 198.19.1.0-24&2001:2:19:1::-64} with both, {@code 0.0.0.0-0&2001:2:19:1::-64} for an
     * IPv6 subnet alone (flannel's empty IPv4 network).
     */
    public static String subnetName(Ip4Net ipv4, Ip6Net ipv6) {
        if (ipv6 == null) {
            if (ipv4 == null) {
                throw new IllegalArgumentException("a lease key names an IPv4 subnet, an IPv6 subnet or both");
            }
            return subnetName(ipv4);
        }
        return (ipv4 == null ? SubnetKey.NO_IPV4 : subnetName(ipv4)) + "&" + ipv6.keyForm();
    }

    /**
     * The lease key under this prefix in any of flannel's forms (plain, dual-stack {@code <v4>&<v6>}, IPv6-only), or
     * empty when it is not a well-formed lease key (someone else's key, a typo, host bits set, a non-canonical spelling
     * such as leading zeros).
     */
    public Optional<SubnetKey> parseLeaseKey(String key) {
        if (key == null || !key.startsWith(subnetsPrefix())) {
            return Optional.empty();
        }
        return SubnetKey.parse(key.substring(subnetsPrefix().length()));
    }

    /**
     * The IPv4 subnet a lease key holds, whatever its form, or empty when the key is not a well-formed lease key or
     * holds no IPv4 subnet (an IPv6-only node's).
     */
    public Optional<Ip4Net> parseSubnetKey(String key) {
        return parseLeaseKey(key).flatMap(SubnetKey::ipv4Subnet);
    }

    public static Optional<Ip4Net> parseSubnetName(String name) {
        // By hand, not by a regular expression and a round trip through the formatter: every lease key a node lists
        // or watches comes through here. Only the canonical spelling names a subnet: "198.019.7.0-24" or
        // "10.244.7.0-024" would otherwise be a second key for the same subnet (flannel's parser rejects leading
        // zeros too).
        int dash = name.indexOf('-');
        if (dash < 0) {
            return Optional.empty();
        }
        int address = 0;
        int start = 0;
        for (int part = 0; part < 4; part++) {
            int end = part < 3 ? name.indexOf('.', start) : dash;
            if (end < 0 || end > dash) {
                return Optional.empty();
            }
            int octet = canonicalNumber(name, start, end, 255);
            if (octet < 0) {
                return Optional.empty();
            }
            address = (address << 8) | octet;
            start = end + 1;
        }
        int length = canonicalNumber(name, dash + 1, name.length(), 32);
        if (length < 0 || (address & ~Ip4.mask(length)) != 0) {
            return Optional.empty();
        }
        return Optional.of(new Ip4Net(address, length));
    }

    /** The decimal number in {@code text[from, to)} when it is written canonically (1–3 digits, no leading zero) and at most {@code max}; else -1. */
    private static int canonicalNumber(String text, int from, int to, int max) {
        if (to - from > 1 && text.charAt(from) == '0') {
            return -1;
        }
        int value = Ip4.decimal(text, from, to);
        return value <= max ? value : -1;
    }
}
