package io.flanneld.backend;

import io.flanneld.schema.Lease;

/**
 * A change in another host's lease, as a backend sees it. The lease manager delivers them in
 * etcd revision order and never reports the local host's own lease.
 */
public sealed interface LeaseEvent {
    Lease lease();

    /** A host's lease appeared, or its attributes changed (e.g. a new PublicIP): (re)program it. */
    record Added(Lease lease) implements LeaseEvent {
    }

    /** A host's lease is gone (deleted or expired): remove what was programmed for it. */
    record Removed(Lease lease) implements LeaseEvent {
    }
}
