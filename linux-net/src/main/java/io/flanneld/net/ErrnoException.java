package io.flanneld.net;

/**
 * A system call or kernel request failed with an errno. The message names the operation, the errno's symbolic name and
 * its text, e.g. {@code setns(/var/run/netns/a): ENOENT (No such file or directory)}, so a log line alone says what
 * was attempted and why the kernel refused.
 */
public class ErrnoException extends RuntimeException {
    private final String operation;
    private final int errno;

    public ErrnoException(String operation, int errno) {
        this(operation, errno, null);
    }

    protected ErrnoException(String operation, int errno, String detail) {
        super(operation + ": " + Errno.name(errno) + " (" + Errno.message(errno) + ")"
                + (detail == null || detail.isEmpty() ? "" : ": " + detail));
        this.operation = operation;
        this.errno = Math.abs(errno);
    }

    /** What was attempted, e.g. "RTM_NEWROUTE add 198.19.2.0/24 via 198.19.2.0 dev flannel.1 onlink". */
    public String operation() {
        return operation;
    }

    /** The positive errno value. */
    public int errno() {
        return errno;
    }

    public String errnoName() {
        return Errno.name(errno);
    }

    public String errnoMessage() {
        return Errno.message(errno);
    }
}
