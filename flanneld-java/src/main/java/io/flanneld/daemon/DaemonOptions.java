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
        InterfaceChoice iface,
        String publicIp,
        String publicIpv6,
        Path subnetFile,
        LeaseOptions lease,
        boolean ipMasq,
        String healthzIp,
        int healthzPort,
        java.util.Optional<Path> cniConfDir,
        NodeIntegration node) {

    /**
     * How the interface for traffic between hosts is chosen, flanneld's way: each {@code --iface} (name or address) in
     * order, then each {@code --iface-regex}, then the interface {@code --iface-can-reach} goes out of, else the
     * default route's.
     */
    record InterfaceChoice(List<String> names, List<String> regexes, java.util.Optional<String> canReach) {
        InterfaceChoice {
            names = List.copyOf(names);
            regexes = List.copyOf(regexes);
        }

        static InterfaceChoice ofNames(List<String> names) {
            return new InterfaceChoice(names, List.of(), java.util.Optional.empty());
        }
    }

    /**
     * What the daemon keeps in place on the node beside the data path.
     *
     * @param forwardRules  {@code --iptables-forward-rules}: ACCEPT rules for the Network in filter/FLANNEL-FWD
     * @param resync        {@code --iptables-resync}: how often rules and kernel state are checked and repaired
     * @param blackholeRoute {@code --ip-blackhole-route}: a blackhole route for this node's subnet
     * @param randomFully   MASQUERADE with --random-fully where iptables has it (off with --ip-masq-fully-random-disable)
     */
    record NodeIntegration(boolean forwardRules, Duration resync, boolean blackholeRoute, boolean randomFully) {
        static NodeIntegration defaults() {
            return new NodeIntegration(true, Duration.ofSeconds(5), false, true);
        }
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
