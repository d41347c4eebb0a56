package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;

/** The classification of failure chains the etcd ITs cannot easily provoke; the real ones are in EtcdAccessIT. */
class EtcdAccessErrorsTest {
    private static final List<URI> ENDPOINT = List.of(URI.create("https://198.18.0.100:2379"));

    private static Throwable wrapped(Throwable cause) {
        return new RuntimeException("UNAVAILABLE: io exception", cause);
    }

    @Test
    void hostNameMismatchSaysToUseANameFromTheCertificate() {
        Optional<String> m = EtcdAccessErrors.classify(wrapped(new SSLHandshakeException(
                "No subject alternative names matching IP address 198.18.0.100 found")), new EtcdOptions(ENDPOINT, null, null, Path.of("/ca.pem"), null, null));
        assertTrue(m.orElseThrow().contains("does not name the host"), m.get());
    }

    @Test
    void noCaFileMeansTheSystemCasAreNamed() {
        Optional<String> m = EtcdAccessErrors.classify(wrapped(new SSLHandshakeException("PKIX path building failed")),
                new EtcdOptions(ENDPOINT, null, null, null, null, null));
        assertEquals("etcd at https://198.18.0.100:2379: the server's certificate is not trusted by the system's CA certificates "
                + "(no --etcd-cafile given); set --etcd-cafile to the CA that signed etcd's certificate", m.orElseThrow());
    }

    @Test
    void tls13CertificateRequiredAlertMeansAClientCertificateIsNeeded() {
        Optional<String> m = EtcdAccessErrors.classify(wrapped(new SSLHandshakeException("Received fatal alert: certificate_required")),
                new EtcdOptions(ENDPOINT, null, null, Path.of("/ca.pem"), null, null));
        assertTrue(m.orElseThrow().contains("requires a client certificate"), m.get());
    }

    @Test
    void userWithoutPermissionIsNamedAndThePasswordNever() {
        Optional<String> m = EtcdAccessErrors.classify(new RuntimeException("PERMISSION_DENIED: etcdserver: permission denied"),
                new EtcdOptions(ENDPOINT, null, null, null, "flannel", "hunter2-secret"));
        assertTrue(m.orElseThrow().contains("user flannel is not permitted"), m.get());
        assertFalse(m.get().contains("hunter2-secret"));
    }

    @Test
    void anEtcdThatIsDownIsNotARefusal() {
        assertEquals(Optional.empty(), EtcdAccessErrors.classify(wrapped(new ConnectException("Connection refused")),
                new EtcdOptions(ENDPOINT, null, null, null, null, null)));
        assertEquals(Optional.empty(), EtcdAccessErrors.classify(new java.util.concurrent.TimeoutException(),
                new EtcdOptions(ENDPOINT, null, null, null, null, null)));
    }
}
