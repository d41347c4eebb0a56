package io.flanneld.backend;

/**
 * The data path runs but the kernel refused some peers' entries: thrown by {@link Backend#start} and
 * {@link Backend#apply} after every other peer was handled, so one bad peer never holds the rest back. Not fatal: the
 * daemon logs it, and {@link Backend#repair} retries those peers on every check, as it does for anything the kernel
 * refuses later.
 */
public class PeersNotProgrammedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PeersNotProgrammedException(String message) {
        super(message);
    }
}
