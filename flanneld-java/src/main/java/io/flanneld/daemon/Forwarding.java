package io.flanneld.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Whether this network namespace forwards IPv4 ({@code net.ipv4.ip_forward}), read from /proc. */
final class Forwarding {
    static final Path IPV4 = Path.of("/proc/sys/net/ipv4/ip_forward");

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
}
