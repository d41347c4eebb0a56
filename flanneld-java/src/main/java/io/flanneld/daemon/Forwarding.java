package io.flanneld.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * This network namespace's forwarding sysctls, read from /proc: {@code net.ipv4.ip_forward} and the reverse-path
 * filter ({@code net.ipv4.conf.<device>.rp_filter}).
 */
final class Forwarding {
    static final Path IPV4 = Path.of("/proc/sys/net/ipv4/ip_forward");
    static final Path IPV6 = Path.of("/proc/sys/net/ipv6/conf/all/forwarding");

    private Forwarding() {
    }

    /** True or false as the sysctl says; empty when it cannot be read. */
    static Optional<Boolean> ipv4Enabled() {
        try {
            return Optional.of(!Files.readString(IPV4).strip().equals("0"));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** {@code net.ipv6.conf.all.forwarding}: true or false; empty when it cannot be read (IPv6 disabled, say). */
    static Optional<Boolean> ipv6Enabled() {
        try {
            return Optional.of(!Files.readString(IPV6).strip().equals("0"));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * {@code net.ipv4.conf.<device>.rp_filter} (0 off, 1 strict, 2 loose) for a device name or {@code all}; empty when it
     * cannot be read (no such device). The kernel applies the larger of {@code all}'s and the device's.
     */
    static Optional<Integer> rpFilter(String device) {
        try {
            return Optional.of(Integer.parseInt(Files.readString(Path.of("/proc/sys/net/ipv4/conf", device, "rp_filter")).strip()));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
