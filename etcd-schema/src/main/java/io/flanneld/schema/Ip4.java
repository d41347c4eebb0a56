package io.flanneld.schema;

/**
 * IPv4 addresses as unsigned 32-bit values held in an {@code int}, the representation every
 * subnet computation here uses. Parsing is strict: exactly four decimal octets, no leading
 * sign, no host names, so that a typo in etcd or a flag is reported instead of resolved.
 */
public final class Ip4 {
    private Ip4() {
    }

    /**
     * Parses a dotted quad such as {@code 198.18.0.1}. A hand loop rather than split and streams: every lease a node
     * lists or watches goes through here, thousands of times per start in a large cluster.
     */
    public static int parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("missing IPv4 address");
        }
        int dots = 0;
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) == '.') {
                dots++;
            }
        }
        if (dots != 3) {
            throw new IllegalArgumentException("not an IPv4 address: \"" + text + "\"");
        }
        int value = 0;
        int start = 0;
        for (int part = 0; part < 4; part++) {
            int end = part < 3 ? text.indexOf('.', start) : text.length();
            int octet = decimal(text, start, end);
            if (octet < 0) {
                throw new IllegalArgumentException("not an IPv4 address: \"" + text + "\"");
            }
            if (octet > 255) {
                throw new IllegalArgumentException("not an IPv4 address: \"" + text + "\" (octet " + octet + " > 255)");
            }
            value = (value << 8) | octet;
            start = end + 1;
        }
        return value;
    }

    /** The number written in {@code text[from, to)} as 1–3 decimal digits (leading zeros allowed), or -1 when it is not. */
    static int decimal(String text, int from, int to) {
        if (to - from < 1 || to - from > 3) {
            return -1;
        }
        int value = 0;
        for (int i = from; i < to; i++) {
            char c = text.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            value = value * 10 + (c - '0');
        }
        return value;
    }

    public static String format(int address) {
        return ((address >>> 24) & 0xff) + "." + ((address >>> 16) & 0xff) + "."
                + ((address >>> 8) & 0xff) + "." + (address & 0xff);
    }

    /** The netmask for a prefix length, e.g. 24 gives 0xffffff00. */
    public static int mask(int prefixLength) {
        if (prefixLength < 0 || prefixLength > 32) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is outside 0..32");
        }
        return prefixLength == 0 ? 0 : -1 << (32 - prefixLength);
    }

    /** Network byte order, as the kernel and the wire expect. */
    public static byte[] toBytes(int address) {
        return new byte[] {(byte) (address >>> 24), (byte) (address >>> 16), (byte) (address >>> 8), (byte) address};
    }

    public static int fromBytes(byte[] bytes) {
        if (bytes.length != 4) {
            throw new IllegalArgumentException("an IPv4 address has 4 bytes, got " + bytes.length);
        }
        return ((bytes[0] & 0xff) << 24) | ((bytes[1] & 0xff) << 16) | ((bytes[2] & 0xff) << 8) | (bytes[3] & 0xff);
    }
}
