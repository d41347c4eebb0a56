package io.flanneld.schema;

import java.math.BigInteger;

/**
 * An IPv6 address as two unsigned 64-bit halves ({@code hi} holds the first 8 bytes in network order), the IPv6 member
 * of the project's one address family beside {@link Ip4}. No {@code InetAddress} is involved: parsing never resolves a
 * name, and formatting is exactly what Go's {@code net.IP.String()} prints (what flannel writes into keys and values):
 * RFC 5952 — lowercase hex, no leading zeros in a group, the longest run of two or more zero groups (the first of equal
 * runs) written as {@code ::}, a single zero group written as {@code 0}; an IPv4-mapped address
 * ({@code ::ffff:a.b.c.d}) as the dotted quad alone.
 */
public record Ip6(long hi, long lo) implements Comparable<Ip6> {
    /** {@code ::}, flannel's "no address". */
    public static final Ip6 ZERO = new Ip6(0, 0);

    private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);

    /**
     * Parses RFC 4291 text: eight groups of 1–4 hex digits (either case), at most one {@code ::}, optionally ending in
     * a dotted quad for the last 32 bits. A bare dotted quad is read as its IPv4-mapped address, as Go's
     * {@code net.ParseIP} reads it, so that every text {@link #format} writes parses back. No zone, no brackets, no
     * prefix length.
     */
    public static Ip6 parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("missing IPv6 address");
        }
        if (text.indexOf(':') < 0) {
            // Go's net.ParseIP reads a dotted quad as ::ffff:a.b.c.d.
            int v4;
            try {
                v4 = Ip4.parse(text);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("not an IPv6 address: \"" + text + "\"");
            }
            return new Ip6(0, 0xffff_0000_0000L | Integer.toUnsignedLong(v4));
        }
        int[] groups = new int[8];
        int count = 0;
        int gap = -1;
        int i = 0;
        int n = text.length();
        if (text.startsWith("::")) {
            gap = 0;
            i = 2;
            if (i == n) {
                return ZERO;
            }
        } else if (text.startsWith(":")) {
            throw bad(text);
        }
        while (i < n) {
            if (count == 8) {
                throw bad(text);
            }
            int end = i;
            while (end < n && text.charAt(end) != ':' && text.charAt(end) != '.') {
                end++;
            }
            if (end < n && text.charAt(end) == '.') {
                // A dotted quad must be the last 32 bits.
                if (count > 6) {
                    throw bad(text);
                }
                int v4;
                try {
                    v4 = Ip4.parse(text.substring(i));
                } catch (IllegalArgumentException e) {
                    throw bad(text);
                }
                groups[count++] = v4 >>> 16;
                groups[count++] = v4 & 0xffff;
                i = n;
                break;
            }
            int digits = end - i;
            if (digits < 1 || digits > 4) {
                throw bad(text);
            }
            int value = 0;
            for (int k = i; k < end; k++) {
                int d = hexDigit(text.charAt(k));
                if (d < 0) {
                    throw bad(text);
                }
                value = (value << 4) | d;
            }
            groups[count++] = value;
            if (end == n) {
                i = n;
                break;
            }
            // text[end] == ':'
            if (end + 1 < n && text.charAt(end + 1) == ':') {
                if (gap >= 0) {
                    throw bad(text);
                }
                gap = count;
                i = end + 2;
            } else {
                i = end + 1;
                if (i == n) {
                    throw bad(text);
                }
            }
        }
        if (gap < 0 && count != 8 || gap >= 0 && count > 7) {
            throw bad(text);
        }
        int[] full = new int[8];
        if (gap < 0) {
            full = groups;
        } else {
            int tail = count - gap;
            System.arraycopy(groups, 0, full, 0, gap);
            System.arraycopy(groups, gap, full, 8 - tail, tail);
        }
        long hi = 0;
        long lo = 0;
        for (int g = 0; g < 4; g++) {
            hi = (hi << 16) | full[g];
            lo = (lo << 16) | full[g + 4];
        }
        return new Ip6(hi, lo);
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        return -1;
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("not an IPv6 address: \"" + text + "\"");
    }

    /** The 16-bit group {@code index} (0 is the first). */
    public int group(int index) {
        long half = index < 4 ? hi : lo;
        return (int) (half >>> (16 * (3 - (index & 3)))) & 0xffff;
    }

    /** True for {@code ::ffff:a.b.c.d}, which Go prints as the dotted quad. */
    public boolean isIpv4Mapped() {
        return hi == 0 && (lo >>> 32) == 0xffffL;
    }

    /** See the class comment: Go's {@code net.IP.String()}. */
    public static String format(Ip6 address) {
        return address.toString();
    }

    @Override
    public String toString() {
        if (isIpv4Mapped()) {
            return Ip4.format((int) lo);
        }
        // The longest run of zero groups, two or more long; the first of equal runs.
        int bestStart = -1;
        int bestLength = 1;
        for (int g = 0; g < 8; ) {
            if (group(g) != 0) {
                g++;
                continue;
            }
            int start = g;
            while (g < 8 && group(g) == 0) {
                g++;
            }
            if (g - start > bestLength) {
                bestStart = start;
                bestLength = g - start;
            }
        }
        StringBuilder sb = new StringBuilder(39);
        for (int g = 0; g < 8; g++) {
            if (g == bestStart) {
                sb.append("::");
                g += bestLength - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(group(g)));
        }
        return sb.toString();
    }

    /** The network mask of a prefix length as its upper half. */
    public static long maskHi(int prefixLength) {
        checkLength(prefixLength);
        return prefixLength == 0 ? 0 : prefixLength >= 64 ? -1L : -1L << (64 - prefixLength);
    }

    /** The network mask of a prefix length as its lower half. */
    public static long maskLo(int prefixLength) {
        checkLength(prefixLength);
        return prefixLength <= 64 ? 0 : prefixLength == 128 ? -1L : -1L << (128 - prefixLength);
    }

    static void checkLength(int prefixLength) {
        if (prefixLength < 0 || prefixLength > 128) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is outside 0..128");
        }
    }

    /** This address with the bits beyond {@code prefixLength} cleared. */
    public Ip6 masked(int prefixLength) {
        return new Ip6(hi & maskHi(prefixLength), lo & maskLo(prefixLength));
    }

    /** This address plus {@code n} (modulo 2^128). */
    public Ip6 plus(long n) {
        long sum = lo + n;
        long carry = Long.compareUnsigned(sum, lo) < 0 && n > 0 ? 1 : 0;
        long borrow = n < 0 && Long.compareUnsigned(sum, lo) > 0 ? 1 : 0;
        return new Ip6(hi + carry - borrow, sum);
    }

    public boolean isZero() {
        return hi == 0 && lo == 0;
    }

    /** The address as an unsigned 128-bit number, for range arithmetic that does not fit a long. */
    public BigInteger toBigInteger() {
        BigInteger high = new BigInteger(Long.toUnsignedString(hi));
        return high.shiftLeft(64).add(new BigInteger(Long.toUnsignedString(lo)));
    }

    public static Ip6 fromBigInteger(BigInteger value) {
        if (value.signum() < 0 || value.bitLength() > 128) {
            throw new IllegalArgumentException(value + " is not a 128-bit address");
        }
        return new Ip6(value.shiftRight(64).longValue(), value.mod(TWO_64).longValue());
    }

    /** Network byte order, as the kernel and the wire expect. */
    public byte[] toBytes() {
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (hi >>> (56 - 8 * i));
            b[i + 8] = (byte) (lo >>> (56 - 8 * i));
        }
        return b;
    }

    public static Ip6 fromBytes(byte[] bytes) {
        if (bytes.length != 16) {
            throw new IllegalArgumentException("an IPv6 address has 16 bytes, got " + bytes.length);
        }
        long hi = 0;
        long lo = 0;
        for (int i = 0; i < 8; i++) {
            hi = (hi << 8) | (bytes[i] & 0xff);
            lo = (lo << 8) | (bytes[i + 8] & 0xff);
        }
        return new Ip6(hi, lo);
    }

    @Override
    public int compareTo(Ip6 o) {
        int c = Long.compareUnsigned(hi, o.hi);
        return c != 0 ? c : Long.compareUnsigned(lo, o.lo);
    }
}
