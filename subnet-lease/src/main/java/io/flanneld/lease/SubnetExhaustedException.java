package io.flanneld.lease;

/** Every subnet in [SubnetMin, SubnetMax] is held; the message names the range. */
public final class SubnetExhaustedException extends Exception {
    private static final long serialVersionUID = 1L;

    public SubnetExhaustedException(String message) {
        super(message);
    }
}
