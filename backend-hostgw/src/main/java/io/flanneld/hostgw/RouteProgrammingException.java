package io.flanneld.hostgw;

import io.flanneld.backend.PeersNotProgrammedException;
import java.util.List;

/**
 * The kernel refused some peers' routes (or the removal of stale ones); see {@link PeersNotProgrammedException}. Not
 * fatal: {@link HostGwBackend#repair} retries the refused peers.
 */
public final class RouteProgrammingException extends PeersNotProgrammedException {
    private static final long serialVersionUID = 1L;

    RouteProgrammingException(List<Failure> failures) {
        super("host-gw route change(s)", failures);
    }
}
