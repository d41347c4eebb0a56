package io.flanneld.daemon;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Lease;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code doctor --probe}: three ICMP echo requests to each peer's subnet .0 (its {@code flannel.<VNI>} or
 * {@code flannel0} address), which the kernel routes through the overlay, with the {@code ping} binary. At most
 * {@link #PARALLEL} at a time, each bounded to a few seconds.
 */
final class PeerProbe {
    static final int COUNT = 3;
    static final int PARALLEL = 16;
    private static final long BOUND_SECONDS = 8;
    private static final Pattern COUNTS = Pattern.compile("(\\d+) packets transmitted, (\\d+) (?:packets )?received");
    private static final Pattern RTT = Pattern.compile("= [\\d.]+/([\\d.]+)/[\\d.]+");

    private PeerProbe() {
    }

    static List<DoctorSnapshot.Probe> probe(List<Lease> peers) {
        if (peers.isEmpty()) {
            return List.of();
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(PARALLEL, peers.size()), r -> {
            Thread t = new Thread(r, "probe");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<DoctorSnapshot.Probe>> futures = new ArrayList<>();
            for (Lease peer : peers) {
                futures.add(pool.submit(() -> one(peer)));
            }
            List<DoctorSnapshot.Probe> out = new ArrayList<>();
            for (int i = 0; i < peers.size(); i++) {
                try {
                    out.add(futures.get(i).get(BOUND_SECONDS * 2, TimeUnit.SECONDS));
                } catch (Exception e) {
                    out.add(failed(peers.get(i), "could not be probed: " + e));
                }
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    private static DoctorSnapshot.Probe one(Lease peer) {
        String target = Ip4.format(peer.subnet().address());
        Process p;
        try {
            p = new ProcessBuilder("ping", "-n", "-q", "-c", Integer.toString(COUNT), "-i", "0.2", "-W", "1", target)
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            return failed(peer, "ping cannot be run: " + e.getMessage());
        }
        try {
            p.getOutputStream().close();
            if (!p.waitFor(BOUND_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return failed(peer, "ping did not end within " + BOUND_SECONDS + " s");
            }
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            return parse(peer, target, output);
        } catch (IOException e) {
            return failed(peer, "ping's output cannot be read: " + e.getMessage());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return failed(peer, "interrupted");
        }
    }

    /** Reads ping's summary: "3 packets transmitted, 3 received, …" and "rtt min/avg/max/mdev = 0.05/0.07/0.09/0.01 ms". */
    static DoctorSnapshot.Probe parse(Lease peer, String target, String output) {
        Matcher counts = COUNTS.matcher(output);
        if (!counts.find()) {
            String reason = output.strip().lines().reduce((a, b) -> b).orElse("no output");
            return new DoctorSnapshot.Probe(peer.subnet(), peer.attrs().publicIpText(), target, 0, 0, Optional.empty(),
                    Optional.of("ping failed: " + reason));
        }
        Matcher rtt = RTT.matcher(output);
        Optional<Double> avg = rtt.find() ? Optional.of(Double.parseDouble(rtt.group(1))) : Optional.empty();
        return new DoctorSnapshot.Probe(peer.subnet(), peer.attrs().publicIpText(), target, Integer.parseInt(counts.group(1)),
                Integer.parseInt(counts.group(2)), avg, Optional.empty());
    }

    private static DoctorSnapshot.Probe failed(Lease peer, String why) {
        return new DoctorSnapshot.Probe(peer.subnet(), peer.attrs().publicIpText(), Ip4.format(peer.subnet().address()), 0, 0,
                Optional.empty(), Optional.of(why));
    }
}
