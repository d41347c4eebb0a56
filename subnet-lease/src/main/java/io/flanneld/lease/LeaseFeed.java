package io.flanneld.lease;

import java.util.List;

/**
 * The registry side of the lease watch, all {@link LeaseWatcher} needs from etcd: a listing of every lease key with
 * its revision, etcd's current revision, and a watch of the lease keys from a revision on. {@link EtcdLeaseFeed} is
 * the jetcd one; tests drive the watcher's state machine with a fake.
 */
interface LeaseFeed {

    /** One range read of every lease key. */
    LeaseSnapshot list() throws EtcdUnavailableException, EtcdAccessException;

    /** etcd's current revision (a cheap read). */
    long revision() throws EtcdUnavailableException, EtcdAccessException;

    /** Starts a watch of every lease key from {@code fromRevision} on; its calls arrive on any thread. */
    Subscription watch(long fromRevision, Listener listener);

    /** One change of a lease key: its key-value as etcd reports it (for a delete, the key and the deletion's revision). */
    record Change(StoredKey kv, boolean put) {
    }

    interface Listener {
        /** Changes of one watch response, in etcd's order. */
        void changes(List<Change> changes);

        /** The revision asked for was compacted away: the watch is over, and only a new listing can catch up. */
        void compacted();

        /** The watch broke (etcd unreachable, restarted, lost its leader): it is over. */
        void failed(Throwable error);
    }

    /** A running watch. */
    interface Subscription {
        void close();
    }
}
