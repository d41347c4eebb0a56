package io.flanneld.hostgw;

import io.flanneld.backend.PeersNotProgrammedException;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The kernel refused some peers' routes (or the removal of stale ones). Thrown after every other peer of the batch
 * was handled, so one bad peer never holds the rest back; each failure is attached as a suppressed exception with its
 * own netlink operation and errno. Not fatal: {@link HostGwBackend#repair} retries the refused peers.
 */
public final class RouteProgrammingException extends PeersNotProgrammedException {
    private static final long serialVersionUID = 1L;
    /** Failures spelled out in the message; the rest are only counted (all are attached as suppressed). */
    private static final int SHOWN = 5;

    /** One failed step: what was being done (naming the peer subnet or the route) and why it failed. */
    public record Failure(String what, RuntimeException cause) {
    }

    private final transient List<Failure> failures;

    RouteProgrammingException(List<Failure> failures) {
        super(failures.size() + " host-gw route change(s) failed: " + failures.stream()
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
