package io.flanneld.daemon;

import io.flanneld.lease.EtcdOptions;
import io.flanneld.lease.LeaseOptions;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/** Everything the daemon was told on its command line, validated. */
record DaemonOptions(
        EtcdOptions etcd,
        String etcdPrefix,
        List<String> ifaces,
        String publicIp,
        Path subnetFile,
        LeaseOptions lease,
        boolean ipMasq,
        String healthzIp,
        int healthzPort,
        java.util.Optional<Path> cniConfDir) {

    DaemonOptions {
        ifaces = List.copyOf(ifaces);
    }

    static Duration parseDuration(String flag, String text) {
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        try {
            if (t.endsWith("ms")) {
                return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
            }
            long n = Long.parseLong(t.substring(0, t.length() - 1));
            return switch (t.charAt(t.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                default -> throw new NumberFormatException();
            };
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw new IllegalArgumentException(flag + ": \"" + text + "\" is not a duration like 24h, 30m or 90s");
        }
    }
}
