package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** What doctor makes of the command lines in /proc and of ping's summary. */
class DoctorReadingTest {
    private static Optional<DoctorSnapshot.DaemonProcess> parse(Map<String, String> env, String... args) {
        return DaemonProcesses.parse(7, List.of(args), env);
    }

    @Test
    void theDaemonIsTheJarOrMainClassWithoutASubcommand() {
        assertEquals(Optional.of(new DoctorSnapshot.DaemonProcess(7, "flanneld-java", Path.of("/tmp/h1/subnet.env"))),
                parse(Map.of(), "java", "-Xmx64m", "-jar", "/opt/flanneld-java/flanneld-java.jar", "--etcd-endpoints", "http://e:2379",
                        "--subnet-file", "/tmp/h1/subnet.env"));
        assertEquals(Optional.of(new DoctorSnapshot.DaemonProcess(7, "flanneld-java", Path.of("/x/s.env"))),
                parse(Map.of(), "/usr/bin/java", "-cp", "a.jar", "io.flanneld.daemon.Main", "-subnet-file=/x/s.env"));
        assertEquals(Optional.empty(), parse(Map.of(), "java", "-jar", "flanneld-java.jar", "doctor", "--probe"), "doctor itself");
        assertEquals(Optional.empty(), parse(Map.of(), "java", "-jar", "flanneld-java.jar", "--etcd-endpoints", "x", "status"));
        assertEquals(Optional.empty(), parse(Map.of(), "java", "-jar", "other.jar"));
        assertEquals(Optional.empty(), parse(Map.of(), "bash", "-c", "sleep 1"));
    }

    @Test
    void theSubnetFileComesFromTheFlagTheEnvironmentOrTheDefault() {
        assertEquals(Path.of("/etc/env.subnet"), parse(Map.of("FLANNELD_SUBNET_FILE", "/etc/env.subnet"), "java", "-jar", "flanneld-java.jar")
                .orElseThrow().subnetFile());
        assertEquals(DaemonProcesses.DEFAULT_SUBNET_FILE, parse(Map.of(), "java", "-jar", "flanneld-java.jar").orElseThrow().subnetFile());
        assertEquals(new DoctorSnapshot.DaemonProcess(7, "flanneld", Path.of("/run/f.env")),
                parse(Map.of(), "/opt/bin/flanneld", "-subnet-file", "/run/f.env", "-ip-masq").orElseThrow());
    }

    @Test
    void pingsSummaryGivesTheRepliesAndTheAverageRoundTrip() {
        Lease peer = new Lease(Ip4Net.parse("198.19.2.0/24"), new LeaseAttrs(Ip4.parse("198.18.0.2"), "vxlan", null), 1, 1);
        String answered = "PING 198.19.2.0 (198.19.2.0) 56(84) bytes of data.\n\n--- 198.19.2.0 ping statistics ---\n"
                + "3 packets transmitted, 3 received, 0% packet loss, time 404ms\nrtt min/avg/max/mdev = 0.051/0.140/0.297/0.111 ms\n";
        assertEquals(new DoctorSnapshot.Probe(peer.subnet(), "198.18.0.2", "198.19.2.0", 3, 3, Optional.of(0.140), Optional.empty()),
                PeerProbe.parse(peer, "198.19.2.0", answered));
        String silent = "PING 198.19.2.0 (198.19.2.0) 56(84) bytes of data.\n\n--- 198.19.2.0 ping statistics ---\n"
                + "3 packets transmitted, 0 received, 100% packet loss, time 2040ms\n";
        assertEquals(new DoctorSnapshot.Probe(peer.subnet(), "198.18.0.2", "198.19.2.0", 3, 0, Optional.empty(), Optional.empty()),
                PeerProbe.parse(peer, "198.19.2.0", silent));
        assertEquals(Optional.of("ping failed: ping: connect: Network is unreachable"),
                PeerProbe.parse(peer, "198.19.2.0", "ping: connect: Network is unreachable\n").error());
    }
}
