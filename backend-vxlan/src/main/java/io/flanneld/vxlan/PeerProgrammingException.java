package io.flanneld.vxlan;

import io.flanneld.backend.PeersNotProgrammedException;
import java.util.List;

/** Some VXLAN peers (or stale entries) could not be programmed; see {@link PeersNotProgrammedException}. */
public final class PeerProgrammingException extends PeersNotProgrammedException {
    private static final long serialVersionUID = 1L;

    PeerProgrammingException(List<Failure> failures) {
        super("VXLAN peer change(s)", failures);
    }
}
