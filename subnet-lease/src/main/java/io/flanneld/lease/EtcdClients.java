package io.flanneld.lease;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** Builds a jetcd client from the flags, checking the TLS files first so a bad path is named, not hidden in gRPC. */
public final class EtcdClients {
    private EtcdClients() {
    }

    /**
     * Loads the TLS files the options name, as {@link #connect} would, without connecting.
     *
     * @throws IllegalArgumentException naming the flag and the path of a missing, unreadable or unusable file
     */
    public static void checkTlsFiles(EtcdOptions options) {
        if (options.usesTls()) {
            sslContext(options);
        }
    }

    public static Client connect(EtcdOptions options) {
        ClientBuilder builder = Client.builder()
                .endpoints(options.endpoints().toArray(java.net.URI[]::new))
                .connectTimeout(Duration.ofSeconds(5))
                .keepaliveTime(Duration.ofSeconds(10))
                .keepaliveTimeout(Duration.ofSeconds(5))
                // Requests fail fast so that our own loops decide how to retry and what to log.
                .retryMaxDuration(Duration.ofSeconds(3))
                .waitForReady(false);
        if (options.username() != null && !options.username().isEmpty()) {
            builder.user(ByteSequence.from(options.username(), StandardCharsets.UTF_8))
                    .password(ByteSequence.from(options.password(), StandardCharsets.UTF_8));
        }
        if (options.usesTls()) {
            builder.sslContext(sslContext(options));
        }
        return builder.build();
    }

    private static io.netty.handler.ssl.SslContext sslContext(EtcdOptions options) {
        SslContextBuilder ssl = GrpcSslContexts.forClient();
        if (options.caFile() != null) {
            Path ca = readable(options.caFile(), "--etcd-cafile");
            try {
                ssl.trustManager(ca.toFile());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--etcd-cafile " + ca + ": not a PEM CA certificate (" + rootMessage(e) + ")", e);
            }
        }
        if (options.certFile() != null) {
            Path cert = readable(options.certFile(), "--etcd-certfile");
            Path key = readable(options.keyFile(), "--etcd-keyfile");
            try {
                ssl.keyManager(cert.toFile(), key.toFile());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--etcd-certfile " + cert + " / --etcd-keyfile " + key
                        + ": not a PEM certificate and its PKCS#8 private key (" + rootMessage(e) + ")", e);
            }
        }
        try {
            return ssl.build();
        } catch (Exception e) {
            throw new IllegalArgumentException("etcd TLS files could not be loaded (--etcd-cafile " + options.caFile()
                    + ", --etcd-certfile " + options.certFile() + ", --etcd-keyfile " + options.keyFile() + "): " + e.getMessage(), e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getMessage();
    }

    private static Path readable(Path file, String flag) {
        if (!Files.exists(file)) {
            throw new IllegalArgumentException(flag + " " + file + ": no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(flag + " " + file + ": not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(flag + " " + file + ": not readable by this process");
        }
        return file;
    }
}
