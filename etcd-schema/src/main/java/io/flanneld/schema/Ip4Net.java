package io.flanneld.schema;

/**
 * An IPv4 network in canonical form: the address has no bits set beyond the prefix. Ordering
 * and equality are by (address, prefix length), so sets and maps of subnets behave predictably.
 */
public record Ip4Net(int address, int prefixLength) implements Comparable<Ip4Net> {
    /** 0.0.0.0/0, every IPv4 address: the destination of a default route. */
    public static final Ip4Net ALL = new Ip4Net(0, 0);

    public Ip4Net {
        int mask = Ip4.mask(prefixLength);
        if ((address & ~mask) != 0) {
            throw new IllegalArgumentException(Ip4.format(address) + "/" + prefixLength
                    + " has host bits set; the network is " + Ip4.format(address & mask) + "/" + prefixLength);
        }
    }

    /** The network containing {@code address}, host bits cleared. */
    public static Ip4Net containing(int address, int prefixLength) {
        return new Ip4Net(address & Ip4.mask(prefixLength), prefixLength);
    }

    /** Parses CIDR notation strictly: host bits must be clear. */
    public static Ip4Net parse(String cidr) {
        return parse(cidr, false);
    }

    /**
     * Parses CIDR notation; with {@code maskHostBits} an address such as 10.244.1.5/16 is read as
     * 10.244.0.0/16, which is how flannel reads the Network field.
     */
    public static Ip4Net parse(String cidr, boolean maskHostBits) {
        if (cidr == null) {
            throw new IllegalArgumentException("missing IPv4 network");
        }
        int slash = cidr.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("not a CIDR network (want a.b.c.d/len): \"" + cidr + "\"");
        }
        int address = Ip4.parse(cidr.substring(0, slash));
        String lengthText = cidr.substring(slash + 1);
        if (lengthText.isEmpty() || lengthText.length() > 2 || !lengthText.chars().allMatch(Character::isDigit)) {
            throw new IllegalArgumentException("not a CIDR network (bad prefix length): \"" + cidr + "\"");
        }
        int length = Integer.parseInt(lengthText);
        if (length > 32) {
            throw new IllegalArgumentException("not a CIDR network (prefix length " + length + " > 32): \"" + cidr + "\"");
        }
        return maskHostBits ? containing(address, length) : new Ip4Net(address, length);
    }

    public int mask() {
        return Ip4.mask(prefixLength);
    }

    /** Number of addresses, as a long because a /0 holds 2^32. */
    public long size() {
        return 1L << (32 - prefixLength);
    }

    /** The last address of the network (its broadcast address). */
    public int lastAddress() {
        return address | ~mask();
    }

    public boolean contains(int ip) {
        return (ip & mask()) == address;
    }

    public boolean contains(Ip4Net other) {
        return other.prefixLength >= prefixLength && contains(other.address);
    }

    public boolean overlaps(Ip4Net other) {
        return contains(other) || other.contains(this);
    }

    /** The first host address, the one flannel hands to docker0 or cni0 (x.y.z.1). */
    public int firstHost() {
        return address + 1;
    }

    @Override
    public int compareTo(Ip4Net o) {
        int c = Integer.compareUnsigned(address, o.address);
        return c != 0 ? c : Integer.compare(prefixLength, o.prefixLength);
    }

    @Override
    public String toString() {
        return Ip4.format(address) + "/" + prefixLength;
    }
}
