package io.flanneld.backend;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The data path runs but the kernel refused some peers' entries: thrown by {@link Backend#start} and
 * {@link Backend#apply} after every other peer was handled, so one bad peer never holds the rest back; each failure
 * is attached as a suppressed exception with its own netlink operation and errno. Not fatal: the daemon logs it, and
 * {@link Backend#repair} retries those peers on every check, as it does for anything the kernel refuses later.
 */
public class PeersNotProgrammedException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    /** Failures spelled out in the message; the rest are only counted (all are attached as suppressed). */
    private static final int SHOWN = 5;

    /** One failed step: what was being done (naming the peer subnet or the entry) and why it failed. */
    public record Failure(String what, RuntimeException cause) {
    }

    private final transient List<Failure> failures;

    /** @param changes what failed, in the plural, for the message: "VXLAN peer change(s)" */
    protected PeersNotProgrammedException(String changes, List<Failure> failures) {
        super(failures.size() + " " + changes + " failed: " + failures.stream()
                .limit(SHOWN)
                .map(f -> f.what() + ": " + f.cause().getMessage())
                .collect(Collectors.joining("; "))
                + (failures.size() > SHOWN ? "; and " + (failures.size() - SHOWN) + " more" : ""));
        this.failures = List.copyOf(failures);
        failures.forEach(f -> addSuppressed(f.cause()));
    }

    public List<Failure> failures() {
        return failures;
    }
}
