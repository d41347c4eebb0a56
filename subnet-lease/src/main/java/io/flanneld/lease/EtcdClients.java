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
            ssl.trustManager(readable(options.caFile(), "--etcd-cafile").toFile());
        }
        if (options.certFile() != null) {
            ssl.keyManager(readable(options.certFile(), "--etcd-certfile").toFile(), readable(options.keyFile(), "--etcd-keyfile").toFile());
        }
        try {
            return ssl.build();
        } catch (Exception e) {
            throw new IllegalArgumentException("etcd TLS files could not be loaded (--etcd-cafile " + options.caFile()
                    + ", --etcd-certfile " + options.certFile() + ", --etcd-keyfile " + options.keyFile() + "): " + e.getMessage(), e);
        }
    }

    private static Path readable(Path file, String flag) {
        if (!Files.isReadable(file)) {
            throw new IllegalArgumentException(flag + ": cannot read " + file);
        }
        return file;
    }
}
