package io.flanneld.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Certificates a test makes for itself with {@code openssl}: a CA, a server certificate signed by it (for the
 * given IP addresses, as subject alternative names), a client certificate signed by it, and a second, unrelated CA
 * that trusts nothing here. EC P-256 keys in PKCS#8 PEM, which both etcd (Go) and Netty read; valid for one day.
 */
public record TestPki(Path dir, Path caCert, Path serverCert, Path serverKey, Path clientCert, Path clientKey, Path otherCaCert) {
    private static final Duration OPENSSL_TIMEOUT = Duration.ofSeconds(30);

    /** Makes everything in {@code dir} (created if missing); the server certificate covers {@code serverIps}. */
    public static TestPki create(Path dir, String... serverIps) {
        if (serverIps.length == 0) {
            throw new IllegalArgumentException("the server certificate needs at least one IP address");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir, e);
        }
        Path ca = dir.resolve("ca.pem");
        Path caKey = dir.resolve("ca-key.pem");
        selfSigned(caKey, ca, "flanneld-java test CA");
        Path other = dir.resolve("other-ca.pem");
        selfSigned(dir.resolve("other-ca-key.pem"), other, "unrelated test CA");

        List<String> sans = new ArrayList<>();
        for (String ip : serverIps) {
            sans.add("IP:" + ip);
        }
        Path server = dir.resolve("server.pem");
        Path serverKey = dir.resolve("server-key.pem");
        signed(ca, caKey, serverKey, server, "etcd server",
                "subjectAltName=" + String.join(",", sans) + "\nextendedKeyUsage=serverAuth,clientAuth\n");
        Path client = dir.resolve("client.pem");
        Path clientKey = dir.resolve("client-key.pem");
        signed(ca, caKey, clientKey, client, "flanneld", "extendedKeyUsage=clientAuth\n");
        return new TestPki(dir, ca, server, serverKey, client, clientKey, other);
    }

    private static void selfSigned(Path key, Path cert, String commonName) {
        newKey(key);
        openssl("req", "-new", "-x509", "-key", key.toString(), "-out", cert.toString(), "-days", "1",
                "-subj", "/CN=" + commonName, "-addext", "basicConstraints=critical,CA:TRUE",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    }

    private static void signed(Path ca, Path caKey, Path key, Path cert, String commonName, String extensions) {
        newKey(key);
        Path csr = key.resolveSibling(key.getFileName() + ".csr");
        Path ext = key.resolveSibling(key.getFileName() + ".ext");
        try {
            Files.writeString(ext, extensions);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        openssl("req", "-new", "-key", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + commonName);
        openssl("x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
                "-CAcreateserial", "-out", cert.toString(), "-days", "1", "-extfile", ext.toString());
    }

    private static void newKey(Path key) {
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.toString());
    }

    private static void openssl(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("openssl");
        cmd.addAll(List.of(args));
        Cmd.run(OPENSSL_TIMEOUT, cmd).check();
    }
}
