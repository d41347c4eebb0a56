package io.flanneld.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A TLS etcd with client-certificate auth from the kit's own PKI, and etcd's user authentication. */
class EtcdTlsTest {
    @TempDir
    Path dir;

    @Test
    void tlsWithClientCertificatesAndUserAuth() {
        TestPki pki = TestPki.create(dir.resolve("pki"), "127.0.0.1");
        for (Path p : List.of(pki.caCert(), pki.serverCert(), pki.serverKey(), pki.clientCert(), pki.clientKey(), pki.otherCaCert())) {
            assertTrue(Files.isRegularFile(p), p + " made");
        }
        try (EtcdProcess etcd = EtcdProcess.builder().tls(pki).start()) {
            assertTrue(etcd.endpoint().startsWith("https://127.0.0.1:"), etcd.endpoint());
            assertTrue(etcd.healthy());
            etcd.etcdctl("put", "/k", "v").check();
            assertEquals("v", etcd.etcdctl("get", "/k", "--print-value-only").check().stdout().strip());

            Cmd.Result noClientCert = EtcdProcess.etcdctl(null, List.of(etcd.endpoint()), "--cacert=" + pki.caCert(), "get", "/k");
            assertFalse(noClientCert.ok(), "a client without a certificate is refused: " + noClientCert.stdout());
            Cmd.Result wrongCa = EtcdProcess.etcdctl(null, List.of(etcd.endpoint()), "--cacert=" + pki.otherCaCert(),
                    "--cert=" + pki.clientCert(), "--key=" + pki.clientKey(), "get", "/k");
            assertFalse(wrongCa.ok(), "a client trusting another CA refuses the server: " + wrongCa.stdout());

            etcd.enableAuth("s3cret-pw");
            assertTrue(etcd.healthy(), "the kit's own calls authenticate after auth enable");
            assertEquals("v", etcd.etcdctl("get", "/k", "--print-value-only").check().stdout().strip());
            Cmd.Result wrongPassword = EtcdProcess.etcdctl(null, List.of(etcd.endpoint()), "--cacert=" + pki.caCert(),
                    "--cert=" + pki.clientCert(), "--key=" + pki.clientKey(), "--user=root:nope", "get", "/k");
            assertFalse(wrongPassword.ok(), "a wrong password is refused");
            assertTrue(wrongPassword.stderr().contains("authentication failed"), wrongPassword.stderr());
        }
    }
}
