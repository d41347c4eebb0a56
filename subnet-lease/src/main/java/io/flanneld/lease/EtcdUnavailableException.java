package io.flanneld.lease;

/**
 * etcd did not answer (down, unreachable, timed out) or failed the request in a way a retry can mend; the caller
 * decides whether to retry. Refusals that retrying cannot fix are {@link EtcdAccessException}s, a separate type.
 */
public class EtcdUnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    public EtcdUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
