package io.flanneld.lease;

import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Tells a refusal that retrying cannot fix (TLS trust, client certificate, user name or password) from an etcd that
 * is merely down, by reading the gRPC/TLS failure chain, and words it for the operator: which endpoints, which flag
 * and file to fix. Never includes the password.
 */
public final class EtcdAccessErrors {
    private static final Pattern ALERT = Pattern.compile(
            "Received fatal alert: (bad_certificate|certificate_required|unknown_ca|certificate_unknown|access_denied|unsupported_certificate)");

    private EtcdAccessErrors() {
    }

    /** The operator's explanation when {@code failure} is a definitive refusal by etcd, else empty (retry). */
    public static Optional<String> classify(Throwable failure, EtcdOptions options) {
        String at = "etcd at " + options.endpointList();
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            String message = String.valueOf(t.getMessage());
            String lower = message.toLowerCase(Locale.ROOT);
            if (lower.contains("pkix path") || lower.contains("unable to find valid certification path")
                    || lower.contains("signature check failed") || t.getClass().getSimpleName().equals("SunCertPathBuilderException")) {
                return Optional.of(at + ": the server's certificate is not trusted by "
                        + (options.caFile() != null ? "--etcd-cafile " + options.caFile() : "the system's CA certificates (no --etcd-cafile given)")
                        + "; set --etcd-cafile to the CA that signed etcd's certificate");
            }
            if (lower.contains("no subject alternative")) {
                return Optional.of(at + ": the server's certificate does not name the host it was reached at (" + message
                        + "); use an address from its subject alternative names in --etcd-endpoints");
            }
            Matcher alert = ALERT.matcher(message);
            if (alert.find()) {
                return Optional.of(options.certFile() == null
                        ? at + " requires a client certificate (it ended the TLS handshake with " + alert.group(1)
                                + "); set --etcd-certfile and --etcd-keyfile to a certificate signed by a CA etcd trusts"
                        : at + " rejected the client certificate --etcd-certfile " + options.certFile() + " (TLS alert "
                                + alert.group(1) + "); it must be signed by a CA in etcd's --trusted-ca-file");
            }
            if (t.getClass().getSimpleName().equals("NotSslRecordException")) {
                return Optional.of(at + ": the server does not speak TLS; use http:// in --etcd-endpoints, or enable TLS on etcd");
            }
            if (lower.contains("authentication failed")) {
                return Optional.of(at + ": authentication failed for user " + (options.username() == null ? "(none)" : options.username())
                        + ": etcd rejected the user name or the password; check --etcd-username and --etcd-password");
            }
            if (lower.contains("permission denied")) {
                return Optional.of(options.username() == null
                        ? at + " has authentication enabled and refused a request without a user (permission denied); "
                                + "set --etcd-username and --etcd-password"
                        : at + ": user " + options.username() + " is not permitted (permission denied); "
                                + "grant it a role with readwrite on the --etcd-prefix keys");
            }
        }
        return Optional.empty();
    }
}
