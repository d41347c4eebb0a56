package io.flanneld.lease;

/** A subnet.env that exists but cannot be used; the message names the file and the variable. */
public final class SubnetFileException extends Exception {
    private static final long serialVersionUID = 1L;

    public SubnetFileException(String message) {
        super(message);
    }
}
