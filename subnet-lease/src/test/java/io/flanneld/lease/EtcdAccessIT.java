package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.Client;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.TestPki;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * etcd over TLS with client-certificate auth, then with user authentication on top: the right flags lease a
 * subnet, and each wrong one is an {@link EtcdAccessException} (or a flag error) that says what to fix.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class EtcdAccessIT {
    private static final LeaseOptions FAST = new LeaseOptions(Duration.ofSeconds(60), Duration.ofSeconds(10),
            Duration.ofMillis(100), Duration.ofSeconds(1));
    private static final String PASSWORD = "pw-Xq7-never-logged";
    private static final EtcdKeys KEYS = new EtcdKeys("/coreos.com/network");

    @TempDir
    static Path dir;
    private static TestPki pki;
    private static EtcdProcess etcd;

    @BeforeAll
    static void startEtcd() {
        pki = TestPki.create(dir.resolve("pki"), "127.0.0.1");
        etcd = EtcdProcess.builder().tls(pki).start();
        etcd.etcdctl("put", KEYS.config(), "{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}").check();
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    private static List<URI> endpoints() {
        return List.of(URI.create(etcd.endpoint()));
    }

    private static EtcdOptions tls(Path ca, Path cert, Path key) {
        return new EtcdOptions(endpoints(), cert, key, ca, null, null);
    }

    /** Leases a subnet with {@code options}, the daemon's way (config first, then acquire). */
    private static Lease lease(EtcdOptions options, String publicIp) throws Exception {
        try (Client client = EtcdClients.connect(options);
             LeaseManager m = new LeaseManager(new SubnetRegistry(client, KEYS, Duration.ofSeconds(5), RequestCounter.NONE, options),
                     FAST, options.endpointList())) {
            NetworkConfig config = m.awaitConfig();
            return m.acquire(config, new LeaseAttrs(Ip4.parse(publicIp), "alloc", null), Optional.empty());
        }
    }

    /** The refusal awaitConfig reports with {@code options}: it must not wait, since waiting cannot fix it. */
    private static String refusal(EtcdOptions options) {
        try (Client client = EtcdClients.connect(options);
             LeaseManager m = new LeaseManager(new SubnetRegistry(client, KEYS, Duration.ofSeconds(5), RequestCounter.NONE, options),
                     FAST, options.endpointList())) {
            return assertThrows(EtcdAccessException.class, m::awaitConfig).getMessage();
        }
    }

    @Test
    void tlsAndThenUserAuthentication() throws Exception {
        Lease lease = lease(tls(pki.caCert(), pki.clientCert(), pki.clientKey()), "198.18.0.1");
        assertTrue(etcd.etcdctl("get", KEYS.subnet(lease.subnet()), "--print-value-only").check().stdout().contains("198.18.0.1"));

        String wrongCa = refusal(tls(pki.otherCaCert(), pki.clientCert(), pki.clientKey()));
        assertEquals("etcd at " + etcd.endpoint() + ": the server's certificate is not trusted by --etcd-cafile " + pki.otherCaCert()
                + "; set --etcd-cafile to the CA that signed etcd's certificate", wrongCa);

        String noClientCert = refusal(tls(pki.caCert(), null, null));
        assertTrue(noClientCert.startsWith("etcd at " + etcd.endpoint() + " requires a client certificate"), noClientCert);
        assertTrue(noClientCert.contains("set --etcd-certfile and --etcd-keyfile"), noClientCert);

        // A client certificate from a CA etcd does not trust: the server's refusal names our certificate file.
        TestPki stranger = TestPki.create(dir.resolve("stranger"), "127.0.0.1");
        String foreignCert = refusal(tls(pki.caCert(), stranger.clientCert(), stranger.clientKey()));
        assertTrue(foreignCert.startsWith("etcd at " + etcd.endpoint() + " rejected the client certificate --etcd-certfile "
                + stranger.clientCert()), foreignCert);

        Path missing = dir.resolve("no-such-client.pem");
        IllegalArgumentException noFile = assertThrows(IllegalArgumentException.class,
                () -> EtcdClients.connect(tls(pki.caCert(), missing, pki.clientKey())));
        assertEquals("--etcd-certfile " + missing + ": no such file", noFile.getMessage());
        Path notAKey = Files.writeString(dir.resolve("not-a-key.pem"), "hello\n");
        IllegalArgumentException badKey = assertThrows(IllegalArgumentException.class,
                () -> EtcdClients.checkTlsFiles(tls(pki.caCert(), pki.clientCert(), notAKey)));
        assertTrue(badKey.getMessage().startsWith("--etcd-certfile " + pki.clientCert() + " / --etcd-keyfile " + notAKey + ": "),
                badKey.getMessage());
        IllegalArgumentException badCa = assertThrows(IllegalArgumentException.class,
                () -> EtcdClients.checkTlsFiles(tls(notAKey, pki.clientCert(), pki.clientKey())));
        assertTrue(badCa.getMessage().startsWith("--etcd-cafile " + notAKey + ": not a PEM CA certificate"), badCa.getMessage());

        etcd.enableAuth(PASSWORD);
        EtcdOptions right = new EtcdOptions(endpoints(), pki.clientCert(), pki.clientKey(), pki.caCert(), "root", PASSWORD);
        Lease again = lease(right, "198.18.0.2");
        assertFalse(again.subnet().equals(lease.subnet()));
        assertFalse(right.toString().contains(PASSWORD), right.toString());

        String wrongPassword = refusal(new EtcdOptions(endpoints(), pki.clientCert(), pki.clientKey(), pki.caCert(), "root", "wrong-" + PASSWORD));
        assertEquals("etcd at " + etcd.endpoint() + ": authentication failed for user root: etcd rejected the user name or the password; "
                + "check --etcd-username and --etcd-password", wrongPassword);

        String noUser = refusal(tls(pki.caCert(), pki.clientCert(), pki.clientKey()));
        assertTrue(noUser.contains("has authentication enabled") && noUser.contains("set --etcd-username and --etcd-password"), noUser);

        // A user who may read the network but not write to it: the config is read, the claim of a subnet is refused, and
        // acquire says so at once instead of waiting for an etcd that is answering all along.
        etcd.etcdctl("role", "add", "reader").check();
        etcd.etcdctl("role", "grant-permission", "reader", "--prefix=true", "read", "/coreos.com/network/").check();
        etcd.etcdctl("user", "add", "viewer:pw-viewer", "--interactive=false").check();
        etcd.etcdctl("user", "grant-role", "viewer", "reader").check();
        EtcdOptions viewer = new EtcdOptions(endpoints(), pki.clientCert(), pki.clientKey(), pki.caCert(), "viewer", "pw-viewer");
        try (Client client = EtcdClients.connect(viewer);
             LeaseManager m = new LeaseManager(new SubnetRegistry(client, KEYS, Duration.ofSeconds(5), RequestCounter.NONE, viewer),
                     FAST, viewer.endpointList())) {
            NetworkConfig config = m.awaitConfig();
            EtcdAccessException denied = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThrows(EtcdAccessException.class,
                    () -> m.acquire(config, new LeaseAttrs(Ip4.parse("198.18.0.3"), "alloc", null), Optional.empty())));
            assertTrue(denied.getMessage().startsWith("etcd at " + etcd.endpoint() + ": user viewer is not permitted (permission denied)"),
                    denied.getMessage());
        }
    }
}
