package io.flanneld.lease;

/** etcd did not answer (down, unreachable, timed out, refused our credentials); the caller decides whether to retry. */
public final class EtcdUnavailableException extends Exception {
    private static final long serialVersionUID = 1L;

    public EtcdUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
