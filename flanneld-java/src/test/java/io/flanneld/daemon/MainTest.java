package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class MainTest {

    private static DaemonOptions parse(String... args) {
        Main main = new Main();
        CommandLine cli = new CommandLine(main);
        cli.parseArgs(Main.acceptSingleDash(cli, args));
        return main.options();
    }

    @Test
    void defaultsAreFlanneldsDefaults() {
        DaemonOptions o = parse();
        assertEquals("http://127.0.0.1:2379", o.etcd().endpointList());
        assertEquals("/coreos.com/network", o.etcdPrefix());
        assertEquals("/run/flannel/subnet.env", o.subnetFile().toString());
        assertEquals(Duration.ofHours(24), o.lease().ttl());
        assertEquals(Duration.ofMinutes(60), o.lease().renewMargin());
        assertEquals(false, o.ipMasq());
        assertEquals(0, o.healthzPort());
    }

    @Test
    void nodeIntegrationFlagsHaveFlanneldsDefaultsAndEnvironment() {
        assertEquals(DaemonOptions.NodeIntegration.defaults(), parse().node(),
                "forward rules on, resync 5 s, no blackhole route, --random-fully");
        assertEquals(new DaemonOptions.NodeIntegration(false, Duration.ofSeconds(30), true, false),
                parse("--iptables-forward-rules=false", "-iptables-resync", "30", "--ip-blackhole-route", "--ip-masq-fully-random-disable").node());
        IllegalArgumentException zero = assertThrows(IllegalArgumentException.class, () -> parse("--iptables-resync", "0"));
        assertEquals("--iptables-resync: must be at least 1 second, got 0", zero.getMessage());
        IllegalArgumentException regex = assertThrows(IllegalArgumentException.class, () -> parse("--iface-regex", "eth["));
        assertTrue(regex.getMessage().startsWith("--iface-regex: \"eth[\" is not a regular expression"), regex.getMessage());
    }

    @Test
    void acceptsFlanneldStyleSingleDashFlags() {
        DaemonOptions o = parse("-etcd-endpoints=http://198.18.0.100:2379,http://198.18.0.101:2379", "-iface", "eth0",
                "-ip-masq", "--subnet-lease-renew-margin", "30", "--subnet-lease-ttl", "90s", "--public-ip", "198.18.0.1",
                "-public-ipv6", "2001:2::1");
        assertEquals("http://198.18.0.100:2379,http://198.18.0.101:2379", o.etcd().endpointList());
        assertEquals(java.util.List.of("eth0"), o.iface().names());
        assertEquals(true, o.ipMasq());
        assertEquals(Duration.ofMinutes(30), o.lease().renewMargin());
        assertEquals(Duration.ofSeconds(90), o.lease().ttl());
        assertEquals("198.18.0.1", o.publicIp());
        assertEquals("2001:2::1", o.publicIpv6());
        assertEquals(null, parse().publicIpv6());
        DaemonOptions.InterfaceChoice choice = parse("--iface-regex", "^eth", "-iface-regex", "^198\\.18\\.",
                "--iface-can-reach", "198.18.0.254", "--iface", "eth1").iface();
        assertEquals(new DaemonOptions.InterfaceChoice(java.util.List.of("eth1"), java.util.List.of("^eth", "^198\\.18\\."),
                java.util.Optional.of("198.18.0.254")), choice);
        String[] untouched = {"-x", "--iface", "-e"};
        CommandLine cli = Main.commandLine(java.util.Map.of());
        assertArrayEquals(untouched, Main.acceptSingleDash(cli, untouched));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--etcd-endpoints=ftp://198.18.0.1:2379 | --etcd-endpoints",
        "--etcd-endpoints=http://198.18.0.1     | needs a host and a port",
        "--subnet-lease-ttl=5x                  | --subnet-lease-ttl",
        "--subnet-lease-ttl=1s                  | --subnet-lease-ttl",
        "--subnet-lease-renew-margin=-5         | --subnet-lease-renew-margin",
        "--healthz-port=70000                   | --healthz-port",
        "--etcd-prefix=relative                 | --etcd-prefix",
        "--etcd-certfile=/tmp/c.pem             | --etcd-keyfile",
        "--etcd-username=root                   | --etcd-password",
        "--iface-can-reach=eth0                 | --iface-can-reach",
        "--iface-regex=eth[0                    | --iface-regex",
    })
    void badFlagsAreNamed(String arg, String named) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse(arg));
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }

    @Test
    void logLevelsAreCheckedAndVerbosityWins() {
        Main main = new Main();
        new CommandLine(main).parseArgs("--log-level", "loud");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, main::configureLogging);
        assertTrue(e.getMessage().contains("--log-level") && e.getMessage().contains("loud"), e.getMessage());
        Main verbose = new Main();
        new CommandLine(verbose).parseArgs("--log-level", "warn", "--v", "2");
        String before = System.getProperty("org.slf4j.simpleLogger.defaultLogLevel");
        try {
            verbose.configureLogging();
            assertEquals("debug", System.getProperty("org.slf4j.simpleLogger.defaultLogLevel"));
        } finally {
            if (before == null) {
                System.clearProperty("org.slf4j.simpleLogger.defaultLogLevel");
            } else {
                System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", before);
            }
            System.clearProperty("org.slf4j.simpleLogger.log.io.flanneld");
        }
    }

    @Test
    void unknownFlagsExitTwoWithAHint() {
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine(java.util.Map.of());
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("--no-such-flag"));
        assertTrue(err.toString().contains("--no-such-flag"), err.toString());
        assertTrue(err.toString().contains("--help"), err.toString());
    }

    @Test
    void aBadCommandLineNeverEchoesAPassword() {
        String[][] lines = {
            {"--etcd-pasword", "hunter2-secret"},                              // mistyped flag: its value is unmatched
            {"--etcd-password", "hunter2-secret", "--no-such-flag"},
            {"--etcd-password=hunter2-secret", "--no-such-flag", "stray"},
            {"--etcd-pasword=hunter2-secret"},
            {"--healthz-port", "hunter2-secret", "--etcd-password", "hunter2-secret"},  // value quoted by a conversion error
            {"-etcd-password", "hunter2-secret", "--bogus"},
        };
        for (String[] line : lines) {
            StringWriter err = new StringWriter();
            CommandLine cli = Main.commandLine(java.util.Map.of());
            cli.setErr(new PrintWriter(err));
            assertEquals(2, cli.execute(Main.acceptSingleDash(cli, line)), String.join(" ", line));
            assertFalse(err.toString().contains("hunter2"), String.join(" ", line) + " printed: " + err);
            assertTrue(err.toString().startsWith("flanneld-java: "), err.toString());
        }
        StringWriter typo = new StringWriter();
        CommandLine typoCli = Main.commandLine(java.util.Map.of());
        typoCli.setErr(new PrintWriter(typo));
        typoCli.execute("--etcd-pasword", "hunter2-secret");
        assertTrue(typo.toString().contains("did you mean --etcd-password?"), typo.toString());
        StringWriter err = new StringWriter();
        CommandLine cli = Main.commandLine(java.util.Map.of("FLANNELD_ETCD_PASSWORD", "from-env-secret"));
        cli.setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("--healthz-port", "from-env-secret"));
        assertFalse(err.toString().contains("from-env-secret"), err.toString());
        assertTrue(err.toString().contains("--healthz-port"), "still names the flag: " + err);
    }

    @Test
    void versionAndHelpWork() {
        StringWriter out = new StringWriter();
        CommandLine cli = Main.commandLine(java.util.Map.of());
        cli.setOut(new PrintWriter(out));
        assertEquals(0, cli.execute("--help"));
        for (String flag : new String[] {"--etcd-endpoints", "--etcd-prefix", "--etcd-certfile", "--etcd-keyfile", "--etcd-cafile",
            "--etcd-username", "--etcd-password", "--iface", "--public-ip", "--public-ipv6", "--subnet-file", "--subnet-lease-renew-margin",
            "--ip-masq", "--healthz-ip", "--healthz-port", "--version"}) {
            assertTrue(out.toString().contains(flag), "--help lists " + flag);
        }
        StringWriter version = new StringWriter();
        cli.setOut(new PrintWriter(version));
        assertEquals(0, cli.execute("--version"));
        assertTrue(version.toString().startsWith("flanneld-java "), version.toString());
    }
}
