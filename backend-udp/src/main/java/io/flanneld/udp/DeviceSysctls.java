package io.flanneld.udp;

import io.flanneld.net.NetworkNamespaces;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-device sysctls flannel0 needs, written under /proc/sys/net (which shows the network namespace of the thread
 * that opens the file, so a namespace's device is configured from inside that namespace). Best effort: a missing
 * file (no IPv6 in this kernel) or a read-only /proc is logged, not fatal.
 */
final class DeviceSysctls {
    private static final Logger log = LoggerFactory.getLogger(DeviceSysctls.class);

    private DeviceSysctls() {
    }

    /**
     * {@code ipv6/disable_ipv6 = 1}: the overlay is IPv4 only, and an IPv6 link would have the kernel send router and
     * multicast listener solicitations into flannel0, each one a pointless malformed drop.
     *
     * <p>{@code ipv4/accept_local = 1}: the ICMP net unreachable this backend writes into flannel0 comes, as in
     * flannel, from flannel0's own address. Without this the kernel drops any packet arriving on a device with a
     * local source address as a martian, so the sender would never see the error.
     */
    static void configure(String device, String namespace) {
        Runnable write = () -> {
            set("/proc/sys/net/ipv6/conf/" + device + "/disable_ipv6", "1");
            set("/proc/sys/net/ipv4/conf/" + device + "/accept_local", "1");
        };
        if (namespace == null) {
            write.run();
        } else {
            NetworkNamespaces.callIn(namespace, () -> {
                write.run();
                return null;
            });
        }
    }

    private static void set(String file, String value) {
        try {
            Files.writeString(Path.of(file), value, StandardCharsets.US_ASCII);
        } catch (NoSuchFileException e) {
            log.debug("udp backend: {} does not exist; not set", file);
        } catch (IOException e) {
            log.warn("udp backend: could not set {} = {}: {}", file, value, e.toString());
        }
    }
}
