package io.flanneld.schema;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Flannel's key layout under a prefix: {@code <prefix>/config} and
 * {@code <prefix>/subnets/10.244.7.0-24}. Subnet key names use a dash instead of a slash so
 * that each subnet is one key, not a directory.
 */
public record EtcdKeys(String prefix) {
    public static final String DEFAULT_PREFIX = "/coreos.com/network";
    private static final Pattern SUBNET_NAME = Pattern.compile("(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})-(\\d{1,2})");

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

    /** {@code 10.244.7.0-24} for 10.244.7.0/24. */
    public static String subnetName(Ip4Net subnet) {
        return Ip4.format(subnet.address()) + "-" + subnet.prefixLength();
    }

    /**
     * The subnet a lease key names, or empty when the key is not a well-formed lease key under
     * this prefix (someone else's key, a typo, host bits set, a non-canonical spelling such as leading zeros).
     */
    public Optional<Ip4Net> parseSubnetKey(String key) {
        if (key == null || !key.startsWith(subnetsPrefix())) {
            return Optional.empty();
        }
        return parseSubnetName(key.substring(subnetsPrefix().length()));
    }

    public static Optional<Ip4Net> parseSubnetName(String name) {
        Matcher m = SUBNET_NAME.matcher(name);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            Ip4Net subnet = new Ip4Net(Ip4.parse(m.group(1)), Integer.parseInt(m.group(2)));
            // Only the canonical spelling names a subnet: "198.019.7.0-24" or "10.244.7.0-024" would otherwise be a
            // second key for the same subnet (flannel's parser rejects leading zeros too).
            return name.equals(subnetName(subnet)) ? Optional.of(subnet) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
