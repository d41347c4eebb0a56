package io.flanneld.lease;

/**
 * etcd answered but refused this client for a reason retrying cannot fix: a server certificate the given CA does not
 * trust, a missing or rejected client certificate, a wrong user name or password, a user without permission. The
 * message says which, naming the endpoints and the flags to change, and never contains the password.
 *
 * <p>Deliberately not an {@link EtcdUnavailableException}: code that waits out an etcd that does not answer must not
 * wait out a refusal by accident, so every call that can be refused declares this exception on its own.
 */
public final class EtcdAccessException extends Exception {
    private static final long serialVersionUID = 1L;

    public EtcdAccessException(String message, Throwable cause) {
        super(message, cause);
    }
}
