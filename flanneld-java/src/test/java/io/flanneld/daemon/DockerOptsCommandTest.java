package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class DockerOptsCommandTest {
    @TempDir
    Path dir;
    private Path subnetEnv;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @BeforeEach
    void subnetEnv() throws Exception {
        subnetEnv = dir.resolve("subnet.env");
        Files.writeString(subnetEnv, "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.15.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=false\n");
    }

    private int run(String... args) {
        CommandLine cli = Main.commandLine(java.util.Map.of());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        return cli.execute(args);
    }

    @Test
    void writesIndividualAndCombinedOptionsByDefaultAsTheScriptDoes() throws Exception {
        Path target = dir.resolve("docker_opts.env");
        assertEquals(0, run("mk-docker-opts", "-f", subnetEnv.toString(), "-d", target.toString()));
        assertEquals("DOCKER_OPT_BIP=\"--bip=10.1.15.1/24\"\nDOCKER_OPT_IPMASQ=\"--ip-masq=true\"\nDOCKER_OPT_MTU=\"--mtu=1472\"\n"
                + "DOCKER_OPTS=\"--bip=10.1.15.1/24 --ip-masq=true --mtu=1472\"\n", Files.readString(target));
    }

    @Test
    void combinedOnlyWithAnotherKeyAndNoIpMasq() {
        assertEquals(0, run("mk-docker-opts", "-f", subnetEnv.toString(), "-d", "-", "-c", "-k", "FLANNEL_DOCKER_OPTS", "-m"));
        assertEquals("FLANNEL_DOCKER_OPTS=\"--bip=10.1.15.1/24 --mtu=1472\"\n", out.toString());
    }

    @Test
    void masqueradingFlannelTurnsDockersOffAndDaemonJsonFollows() throws Exception {
        Files.writeString(subnetEnv, "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.15.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
        Path json = dir.resolve("daemon.json");
        assertEquals(0, run("mk-docker-opts", "-f", subnetEnv.toString(), "-d", "-", "-i", "--daemon-json", json.toString()));
        assertEquals("DOCKER_OPT_BIP=\"--bip=10.1.15.1/24\"\nDOCKER_OPT_IPMASQ=\"--ip-masq=false\"\nDOCKER_OPT_MTU=\"--mtu=1450\"\n", out.toString());
        assertEquals("{\"bip\":\"10.1.15.1/24\",\"ip-masq\":false,\"mtu\":1450}\n", Files.readString(json));
    }

    @Test
    void dualStackAddsDockersIpv6Options() throws Exception {
        Files.writeString(subnetEnv, "FLANNEL_NETWORK=198.19.0.0/16\nFLANNEL_SUBNET=198.19.15.1/24\n"
                + "FLANNEL_IPV6_NETWORK=2001:2:19::/48\nFLANNEL_IPV6_SUBNET=2001:2:19:15::1/64\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
        Path json = dir.resolve("daemon.json");
        assertEquals(0, run("mk-docker-opts", "-f", subnetEnv.toString(), "-d", "-", "--daemon-json", json.toString()));
        assertEquals("DOCKER_OPT_BIP=\"--bip=198.19.15.1/24\"\nDOCKER_OPT_IPMASQ=\"--ip-masq=false\"\n"
                + "DOCKER_OPT_IPV6=\"--ipv6\"\nDOCKER_OPT_IPV6_FIXED_CIDR=\"--fixed-cidr-v6=2001:2:19:15::/64\"\n"
                + "DOCKER_OPT_MTU=\"--mtu=1450\"\n"
                + "DOCKER_OPTS=\"--bip=198.19.15.1/24 --ip-masq=false --ipv6 --fixed-cidr-v6=2001:2:19:15::/64 --mtu=1450\"\n",
                out.toString());
        assertEquals("{\"bip\":\"198.19.15.1/24\",\"ip-masq\":false,\"ipv6\":true,\"fixed-cidr-v6\":\"2001:2:19:15::/64\","
                + "\"mtu\":1450}\n", Files.readString(json));
    }

    @Test
    void ipv6OnlyHasNoBip() throws Exception {
        Files.writeString(subnetEnv, "FLANNEL_IPV6_NETWORK=2001:2:19::/48\nFLANNEL_IPV6_SUBNET=2001:2:19:15::1/64\n"
                + "FLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n");
        Path json = dir.resolve("daemon.json");
        assertEquals(0, run("mk-docker-opts", "-f", subnetEnv.toString(), "-d", "-", "-c", "-m", "--daemon-json", json.toString()));
        assertEquals("DOCKER_OPTS=\"--ipv6 --fixed-cidr-v6=2001:2:19:15::/64 --mtu=1430\"\n", out.toString());
        assertEquals("{\"ipv6\":true,\"fixed-cidr-v6\":\"2001:2:19:15::/64\",\"mtu\":1430}\n", Files.readString(json));
    }

    @Test
    void aMissingFileIsAClearErrorAndExitOne() {
        assertEquals(1, run("mk-docker-opts", "-f", dir.resolve("absent.env").toString(), "-d", "-"));
        assertTrue(err.toString().contains("absent.env does not exist"), err.toString());
        assertEquals("", out.toString());
    }

    @Test
    void aMalformedFileNamesTheVariable() throws Exception {
        Files.writeString(subnetEnv, "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.15.1/24\nFLANNEL_MTU=lots\n");
        assertEquals(1, run("mk-docker-opts", "-f", subnetEnv.toString(), "-d", "-"));
        assertTrue(err.toString().contains("FLANNEL_MTU is not a number"), err.toString());
    }

    @Test
    void putConfigRefusesAnInvalidConfigBeforeTouchingEtcd() throws Exception {
        Path conf = dir.resolve("net-conf.json");
        Files.writeString(conf, "{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":31}");
        assertEquals(2, run("--etcd-endpoints", "http://127.0.0.1:1", "put-config", "--file", conf.toString()));
        assertTrue(err.toString().contains("SubnetLen: must be less than /31, got 31"), err.toString());
    }

    @Test
    void aBadKeyIsRefused() {
        assertEquals(2, run("mk-docker-opts", "-f", subnetEnv.toString(), "-d", "-", "-k", "NOT A NAME"));
        assertTrue(err.toString().contains("-k"), err.toString());
    }
}
