package io.flanneld.schema;

/** A lease value that cannot be read; the message names the field at fault. */
public final class MalformedLeaseException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedLeaseException(String message) {
        super(message);
    }
}
