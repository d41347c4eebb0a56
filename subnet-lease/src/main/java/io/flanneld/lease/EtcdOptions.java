package io.flanneld.lease;

import java.net.URI;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * How to reach etcd, as given by the flanneld flags. The password never appears in
 * {@link #toString()}, so these options can be logged.
 */
public record EtcdOptions(List<URI> endpoints, Path certFile, Path keyFile, Path caFile, String username, String password) {

    public EtcdOptions {
        endpoints = List.copyOf(Objects.requireNonNull(endpoints, "endpoints"));
        if (endpoints.isEmpty()) {
            throw new IllegalArgumentException("--etcd-endpoints: at least one endpoint is needed");
        }
        if ((certFile == null) != (keyFile == null)) {
            throw new IllegalArgumentException(certFile == null
                    ? "--etcd-keyfile is set but --etcd-certfile is not: a client certificate needs both"
                    : "--etcd-certfile is set but --etcd-keyfile is not: a client certificate needs both");
        }
        if (username != null && !username.isEmpty() && (password == null || password.isEmpty())) {
            throw new IllegalArgumentException("--etcd-username is set but --etcd-password is empty");
        }
    }

    public static EtcdOptions plain(String... endpoints) {
        return new EtcdOptions(parseEndpoints(String.join(",", endpoints)), null, null, null, null, null);
    }

    /** Parses flanneld's comma-separated endpoint list, e.g. {@code http://198.18.0.100:2379,https://…}. */
    public static List<URI> parseEndpoints(String commaSeparated) {
        if (commaSeparated == null || commaSeparated.isBlank()) {
            throw new IllegalArgumentException("--etcd-endpoints is empty");
        }
        return java.util.Arrays.stream(commaSeparated.split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .map(EtcdOptions::parseEndpoint)
                .toList();
    }

    private static URI parseEndpoint(String text) {
        URI uri;
        try {
            uri = URI.create(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--etcd-endpoints: \"" + text + "\" is not a URL: " + e.getMessage());
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme())) {
            throw new IllegalArgumentException("--etcd-endpoints: \"" + text + "\" must start with http:// or https://");
        }
        if (uri.getHost() == null || uri.getPort() < 0) {
            throw new IllegalArgumentException("--etcd-endpoints: \"" + text + "\" needs a host and a port, e.g. http://127.0.0.1:2379");
        }
        return uri;
    }

    public boolean usesTls() {
        return caFile != null || certFile != null || endpoints.stream().anyMatch(u -> "https".equals(u.getScheme()));
    }

    public String endpointList() {
        return String.join(",", endpoints.stream().map(URI::toString).toList());
    }

    @Override
    public String toString() {
        return "etcd " + endpointList() + (usesTls() ? " (TLS)" : "") + (username == null || username.isEmpty() ? "" : " as user " + username);
    }
}
