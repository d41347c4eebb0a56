package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.testkit.TestPki;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon jar against etcd over TLS with client certificates, then with user authentication: the right flags
 * lease a subnet; a wrong CA, a missing client certificate, a missing certificate file and a wrong password each end
 * the daemon with one line saying which, without a stack trace; the password never shows in the log (at debug
 * level), in /metrics, or in the leases and status subcommands.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class EtcdAccessDaemonIT {
    private static final String PASSWORD = "Pw-7c1e9f-secret";
    private static final String WRONG_PASSWORD = "Wr0ng-5d2a-secret";

    @TempDir
    Path dir;
    private DaemonCluster cluster;

    @AfterEach
    void teardown() {
        if (cluster != null) {
            cluster.close();
        }
    }

    /** Runs a daemon that must exit with {@code exitCode}; returns its one error line, after checking there is no stack trace. */
    private static String failure(NetnsFabric.Host host, Path dir, String endpoint, int exitCode, Map<String, String> env, String... flags)
            throws InterruptedException {
        Daemons.Running d = Daemons.start(host, dir, endpoint, env, flags);
        int code = d.awaitExit();
        String log = d.logText();
        assertEquals(exitCode, code, log);
        assertFalse(log.contains("\tat "), "no stack trace:\n" + log);
        List<String> errors = log.lines().filter(l -> l.contains(" ERROR ") || l.startsWith("flanneld-java:")).toList();
        assertEquals(1, errors.size(), "one error line:\n" + log);
        System.out.println("daemon exit " + code + ": " + errors.get(0));
        return errors.get(0);
    }

    @Test
    void tlsClientCertificatesAndPasswords() throws Exception {
        TestPki pki = TestPki.create(dir.resolve("pki"), "198.18.0.100");
        cluster = DaemonCluster.start(pki);
        cluster.config(DaemonCluster.networkConfig("alloc"));
        EtcdProcess etcd = cluster.etcd();
        String endpoint = etcd.endpoint();
        assertTrue(endpoint.startsWith("https://198.18.0.100:"), endpoint);
        NetnsFabric.Host host = cluster.fabric().addHost("h1", "198.18.0.1/16");
        String[] tls = {"--etcd-cafile", pki.caCert().toString(), "--etcd-certfile", pki.clientCert().toString(),
            "--etcd-keyfile", pki.clientKey().toString()};

        Daemons.Running ok = Daemons.start(host, dir.resolve("ok"), endpoint, tls);
        ok.awaitSubnetFile();
        assertTrue(cluster.leaseValue(ok.keyName()).contains("\"PublicIP\":\"198.18.0.1\""), "leased over TLS");
        assertEquals(0, ok.stop());

        String wrongCa = failure(host, dir.resolve("wrong-ca"), endpoint, 1, Map.of(), "--etcd-cafile", pki.otherCaCert().toString(),
                "--etcd-certfile", pki.clientCert().toString(), "--etcd-keyfile", pki.clientKey().toString());
        assertTrue(wrongCa.endsWith("ERROR flanneld - etcd at " + endpoint + ": the server's certificate is not trusted by --etcd-cafile "
                + pki.otherCaCert() + "; set --etcd-cafile to the CA that signed etcd's certificate"), wrongCa);

        String noCert = failure(host, dir.resolve("no-cert"), endpoint, 1, Map.of(), "--etcd-cafile", pki.caCert().toString());
        assertTrue(noCert.contains("ERROR flanneld - etcd at " + endpoint + " requires a client certificate"), noCert);
        assertTrue(noCert.endsWith("set --etcd-certfile and --etcd-keyfile to a certificate signed by a CA etcd trusts"), noCert);

        Path missing = dir.resolve("pki/missing-client.pem");
        String noFile = failure(host, dir.resolve("no-file"), endpoint, 2, Map.of(), "--etcd-cafile", pki.caCert().toString(),
                "--etcd-certfile", missing.toString(), "--etcd-keyfile", pki.clientKey().toString());
        assertEquals("flanneld-java: --etcd-certfile " + missing + ": no such file", noFile);

        etcd.enableAuth(PASSWORD);
        List<String> wrongPw = new ArrayList<>(List.of(tls));
        wrongPw.addAll(List.of("--etcd-username", "root", "--etcd-password", WRONG_PASSWORD, "--log-level", "debug"));
        String badPassword = failure(host, dir.resolve("wrong-pw"), endpoint, 1, Map.of(), wrongPw.toArray(String[]::new));
        assertTrue(badPassword.endsWith("ERROR flanneld - etcd at " + endpoint + ": authentication failed for user root: "
                + "etcd rejected the user name or the password; check --etcd-username and --etcd-password"), badPassword);

        // A user who may read the network but not write it: the config is read, the claim is refused, exit 1 at once.
        etcd.etcdctl("role", "add", "reader").check();
        etcd.etcdctl("role", "grant-permission", "reader", "--prefix=true", "read", DaemonCluster.PREFIX + "/").check();
        etcd.etcdctl("user", "add", "viewer:" + PASSWORD, "--interactive=false").check();
        etcd.etcdctl("user", "grant-role", "viewer", "reader").check();
        List<String> readOnly = new ArrayList<>(List.of(tls));
        readOnly.addAll(List.of("--etcd-username", "viewer"));
        // A host without a key yet (one that has a key with its PublicIP only extends the key's etcd lease, which
        // etcd allows any authenticated user).
        NetnsFabric.Host newHost = cluster.fabric().addHost("h2", "198.18.0.2/16");
        String denied = failure(newHost, dir.resolve("read-only"), endpoint, 1, Map.of("FLANNELD_ETCD_PASSWORD", PASSWORD),
                readOnly.toArray(String[]::new));
        assertTrue(denied.endsWith("ERROR flanneld - etcd at " + endpoint + ": user viewer is not permitted (permission denied); "
                + "grant it a role with readwrite on the --etcd-prefix keys"), denied);

        List<String> rightPw = new ArrayList<>(List.of(tls));
        rightPw.addAll(List.of("--etcd-username", "root", "--log-level", "debug", "--healthz-ip", "127.0.0.1", "--healthz-port", "8471"));
        Daemons.Running authed = Daemons.start(host, dir.resolve("right-pw"), endpoint, Map.of("FLANNELD_ETCD_PASSWORD", PASSWORD),
                rightPw.toArray(String[]::new));
        authed.awaitSubnetFile();
        authed.awaitLog("running;");
        String metrics = Daemons.httpGet(host, 8471, "/metrics");
        assertEquals(1.0, Daemons.metric(metrics, "flannel_lease_held"));

        List<String> sub = new ArrayList<>(List.of("java", "-jar", Daemons.JAR.toString(), "--etcd-endpoints", endpoint));
        sub.addAll(List.of(tls));
        sub.addAll(List.of("--etcd-username", "root", "--etcd-password", PASSWORD));
        List<String> leases = new ArrayList<>(sub);
        leases.add("leases");
        Cmd.Result leasesOut = host.exec(Duration.ofSeconds(60), leases.toArray(String[]::new));
        assertEquals(0, leasesOut.exitCode(), leasesOut.stdout() + leasesOut.stderr());
        assertTrue(leasesOut.stdout().contains("198.18.0.1"), leasesOut.stdout());
        List<String> status = new ArrayList<>(sub);
        status.addAll(List.of("status", "--subnet-file", authed.subnetFile().toString()));
        Cmd.Result statusOut = host.exec(Duration.ofSeconds(60), status.toArray(String[]::new));
        assertEquals(0, statusOut.exitCode(), statusOut.stdout() + statusOut.stderr());

        String authedLog = authed.logText();
        assertTrue(authedLog.contains(" DEBUG "), "the run logs at debug level");
        assertTrue(authedLog.contains("as user root"), authedLog);
        assertEquals(0, authed.stop());
        for (var e : Map.of("the failed run's log (debug)", failuresLog(dir.resolve("wrong-pw")), "the good run's log (debug)", authed.logText(),
                "/metrics", metrics, "leases", leasesOut.stdout() + leasesOut.stderr(), "status", statusOut.stdout() + statusOut.stderr()).entrySet()) {
            assertFalse(e.getValue().contains(PASSWORD), "the password appears in " + e.getKey() + ":\n" + e.getValue());
            assertFalse(e.getValue().contains(WRONG_PASSWORD), "the wrong password appears in " + e.getKey() + ":\n" + e.getValue());
        }
    }

    private static String failuresLog(Path runDir) throws java.io.IOException {
        StringBuilder all = new StringBuilder();
        try (var files = java.nio.file.Files.list(runDir)) {
            for (Path p : files.filter(p -> p.getFileName().toString().endsWith(".log")).toList()) {
                all.append(java.nio.file.Files.readString(p));
            }
        }
        assertTrue(all.length() > 0, "a log in " + runDir);
        return all.toString();
    }
}
