package io.flanneld.schema;

import java.math.BigInteger;

/**
 * An IPv6 network in canonical form, the IPv6 member beside {@link Ip4Net}: the address halves ({@code hi} the first 8
 * bytes) have no bits set beyond the prefix. Ordering is by address (unsigned), then prefix length. {@link #toString}
 * is Go's spelling ({@link Ip6}), so {@code 2001:2:19:1::/64}, never {@code 2001:0002:0019:0001::/64}.
 */
public record Ip6Net(long hi, long lo, int prefixLength) implements Comparable<Ip6Net> {

    public Ip6Net {
        Ip6.checkLength(prefixLength);
        if ((hi & ~Ip6.maskHi(prefixLength)) != 0 || (lo & ~Ip6.maskLo(prefixLength)) != 0) {
            Ip6 address = new Ip6(hi, lo);
            throw new IllegalArgumentException(address + "/" + prefixLength + " has host bits set; the network is "
                    + address.masked(prefixLength) + "/" + prefixLength);
        }
    }

    public Ip6Net(Ip6 address, int prefixLength) {
        this(address.hi(), address.lo(), prefixLength);
    }

    /** The network containing {@code address}, host bits cleared. */
    public static Ip6Net containing(Ip6 address, int prefixLength) {
        return new Ip6Net(address.masked(prefixLength), prefixLength);
    }

    /** Parses CIDR notation strictly: host bits must be clear. */
    public static Ip6Net parse(String cidr) {
        return parse(cidr, false);
    }

    /**
     * Parses CIDR notation ({@code 2001:2:19::/48}); with {@code maskHostBits} an address such as
     * {@code 2001:2:19::5/48} is read as its network, as Go's {@code net.ParseCIDR} (and so flannel's
     * {@code IPv6Network}) reads it. The address must be IPv6 text (with a colon): an IPv4 network is not one.
     */
    public static Ip6Net parse(String cidr, boolean maskHostBits) {
        if (cidr == null) {
            throw new IllegalArgumentException("missing IPv6 network");
        }
        int slash = cidr.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("not an IPv6 CIDR network (want e.g. 2001:db8::/48): \"" + cidr + "\"");
        }
        String addressText = cidr.substring(0, slash);
        if (addressText.indexOf(':') < 0) {
            throw new IllegalArgumentException("not an IPv6 CIDR network (want e.g. 2001:db8::/48): \"" + cidr + "\"");
        }
        Ip6 address = Ip6.parse(addressText);
        String lengthText = cidr.substring(slash + 1);
        if (lengthText.isEmpty() || lengthText.length() > 3 || !lengthText.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("not an IPv6 CIDR network (bad prefix length): \"" + cidr + "\"");
        }
        int length = Integer.parseInt(lengthText);
        if (length > 128) {
            throw new IllegalArgumentException("not an IPv6 CIDR network (prefix length " + length + " > 128): \"" + cidr + "\"");
        }
        return maskHostBits ? containing(address, length) : new Ip6Net(address, length);
    }

    public Ip6 address() {
        return new Ip6(hi, lo);
    }

    /** The last address of the network. */
    public Ip6 lastAddress() {
        return new Ip6(hi | ~Ip6.maskHi(prefixLength), lo | ~Ip6.maskLo(prefixLength));
    }

    /** Number of addresses (2^(128 − prefix length)). */
    public BigInteger size() {
        return BigInteger.ONE.shiftLeft(128 - prefixLength);
    }

    public boolean contains(Ip6 ip) {
        return (ip.hi() & Ip6.maskHi(prefixLength)) == hi && (ip.lo() & Ip6.maskLo(prefixLength)) == lo;
    }

    public boolean contains(Ip6Net other) {
        return other.prefixLength >= prefixLength && contains(other.address());
    }

    public boolean overlaps(Ip6Net other) {
        return contains(other) || other.contains(this);
    }

    /** The first host address: the network's address + 1 (what flannel writes as FLANNEL_IPV6_SUBNET). */
    public Ip6 firstHost() {
        return address().plus(1);
    }

    /** {@code 2001:2:19:1::-64}: the form flannel writes in a lease key name (a dash for the slash). */
    public String keyForm() {
        return address() + "-" + prefixLength;
    }

    @Override
    public int compareTo(Ip6Net o) {
        int c = address().compareTo(o.address());
        return c != 0 ? c : Integer.compare(prefixLength, o.prefixLength);
    }

    @Override
    public String toString() {
        return address() + "/" + prefixLength;
    }
}
