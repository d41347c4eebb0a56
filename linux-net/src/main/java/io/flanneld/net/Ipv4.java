package io.flanneld.net;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Conversions between IPv4 addresses and their textual and 4-byte forms. Parsing is strict dotted-quad and never
 * touches DNS (InetAddress.getByName would resolve anything that does not look like a literal).
 */
public final class Ipv4 {
    private Ipv4() {
    }

    /** Parses "198.19.1.0"; anything else (hostnames, short forms, IPv6) is rejected. */
    public static Inet4Address parse(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("not a dotted-quad IPv4 address: " + text);
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            String part = parts[i];
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("not a dotted-quad IPv4 address: " + text);
            }
            int value = Integer.parseInt(part);
            if (value > 255) {
                throw new IllegalArgumentException("not a dotted-quad IPv4 address: " + text);
            }
            bytes[i] = (byte) value;
        }
        return fromBytes(bytes);
    }

    /** The address whose network-order bytes are given; the array must have exactly 4 bytes. */
    public static Inet4Address fromBytes(byte[] bytes) {
        if (bytes.length != 4) {
            throw new IllegalArgumentException("an IPv4 address has 4 bytes, got " + bytes.length);
        }
        try {
            return (Inet4Address) InetAddress.getByAddress(bytes);
        } catch (UnknownHostException impossible) {
            throw new IllegalArgumentException(impossible);
        }
    }

    /** The address of a 32-bit value in host arithmetic, most significant byte first (198.19.0.0 = 0xC6130000). */
    public static Inet4Address fromInt(int value) {
        return fromBytes(new byte[] {(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value});
    }

    public static int toInt(Inet4Address address) {
        byte[] b = address.getAddress();
        return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | (b[3] & 0xff);
    }

    public static String format(Inet4Address address) {
        return address.getHostAddress();
    }
}
