package io.flanneld.udp;

import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.Wait;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Not a test (its name keeps it out of surefire's default includes): a measurement, run by hand with
 * {@code mvn -B -q -pl backend-udp -am test -Dtest=ThroughputRun -Dsurefire.failIfNoSpecifiedTests=false}.
 * One iperf3 TCP stream between flannel0 addresses of two udp-backend hosts, and, in the same run on the same
 * fabric, between two hosts joined by a hand-made kernel VXLAN device, so the two can be compared as a ratio.
 */
class ThroughputRun {
    private static final int SECONDS = Integer.getInteger("udp.bench.seconds", 5);
    private static final Pattern RECEIVED = Pattern.compile(
            "\"sum_received\"\\s*:\\s*\\{[^}]*?\"bits_per_second\"\\s*:\\s*([0-9.e+]+)");

    @Test
    void measure() throws Exception {
        try (UdpCluster cluster = new UdpCluster()) {
            UdpCluster.Node n1 = cluster.addNode(1);
            UdpCluster.Node n2 = cluster.addNode(2);
            // The daemon's -D flags (flanneld.udp.*) work here too, given to the test JVM.
            UdpOptions options = UdpOptions.fromProperties(System.getProperties());
            UdpBackend b1 = cluster.start(n1, options);
            UdpBackend b2 = cluster.start(n2, options);
            NetnsFabric.Host v3 = cluster.fabric.addHost("v3", "198.18.0.3/16");
            NetnsFabric.Host v4 = cluster.fabric.addHost("v4", "198.18.0.4/16");
            vxlan(v3, 3, v4, 4);

            double udp = iperf(n1.host(), n2.host(), n2.overlayIp());
            double vxlan = iperf(v3, v4, "198.19.4.0");
            double udp2 = iperf(n1.host(), n2.host(), n2.overlayIp());
            System.out.println("RESULT txBatch " + options.txBatch() + " rxBatch " + options.rxBatch());
            System.out.printf("RESULT udp backend flannel0->flannel0: %.2f Gbit/s, %.2f Gbit/s (second run)%n", udp, udp2);
            System.out.printf("RESULT kernel vxlan: %.2f Gbit/s%n", vxlan);
            System.out.printf("RESULT ratio udp/vxlan: %.3f%n", Math.max(udp, udp2) / vxlan);
            System.out.println("RESULT counters h1 " + b1.counters());
            System.out.println("RESULT counters h2 " + b2.counters());
        }
    }

    private static double iperf(NetnsFabric.Host client, NetnsFabric.Host server, String address) {
        server.start(List.of("iperf3", "-s", "-1", "-B", address), null);
        Wait.until(Duration.ofSeconds(10), "iperf3 listening", () -> server.exec("ss", "-ltn").stdout().contains(":5201"));
        Cmd.Result r = client.exec(Duration.ofSeconds(SECONDS + 20), "iperf3", "-c", address, "-t",
                String.valueOf(SECONDS), "-J").check();
        Matcher m = RECEIVED.matcher(r.stdout());
        if (!m.find()) {
            throw new AssertionError("no result in " + r.stdout());
        }
        Wait.until(Duration.ofSeconds(10), "iperf3 server gone", () -> !server.exec("ss", "-ltn").stdout().contains(":5201"));
        return Double.parseDouble(m.group(1)) / 1e9;
    }

    /** What reference/kernel-baseline.sh does: a VXLAN device per host, one permanent ARP/FDB entry and route each way. */
    private static void vxlan(NetnsFabric.Host a, int na, NetnsFabric.Host b, int nb) {
        for (var h : List.of(a, b)) {
            int n = h == a ? na : nb;
            h.exec("ip", "link", "add", "vx", "type", "vxlan", "id", "1", "local", h.ip(), "dev", h.iface(),
                    "dstport", "8472", "nolearning").check();
            h.exec("ip", "addr", "add", "198.19." + n + ".0/32", "dev", "vx").check();
            h.exec("ip", "link", "set", "vx", "up").check();
        }
        String macA = mac(a);
        String macB = mac(b);
        peer(a, na, b, nb, macB);
        peer(b, nb, a, na, macA);
    }

    private static void peer(NetnsFabric.Host self, int nSelf, NetnsFabric.Host other, int nOther, String otherMac) {
        self.exec("ip", "neigh", "add", "198.19." + nOther + ".0", "lladdr", otherMac, "dev", "vx", "nud", "permanent").check();
        self.exec("ip", "route", "add", "198.19." + nOther + ".0/24", "via", "198.19." + nOther + ".0", "dev", "vx",
                "onlink", "src", "198.19." + nSelf + ".0").check();
        self.exec("bridge", "fdb", "add", otherMac, "dev", "vx", "dst", other.ip()).check();
    }

    private static String mac(NetnsFabric.Host h) {
        Matcher m = Pattern.compile("link/ether ([0-9a-f:]{17})").matcher(h.exec("ip", "link", "show", "vx").check().stdout());
        if (!m.find()) {
            throw new AssertionError("no MAC on vx");
        }
        return m.group(1);
    }
}
