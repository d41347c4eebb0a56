package io.flanneld.lease;

/**
 * etcd did not answer (down, unreachable, timed out) or refused us; the caller decides whether to retry. The
 * subclass {@link EtcdAccessException} marks refusals that retrying cannot fix.
 */
public class EtcdUnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    public EtcdUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
