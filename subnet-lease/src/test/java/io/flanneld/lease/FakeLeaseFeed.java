package io.flanneld.lease;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link LeaseFeed} the test drives, as flannel's mock registry allows: it answers listings and revisions from what
 * the test set (or fails while {@link #down}), records every watch started, and lets the test deliver changes,
 * compaction or a break to a watch.
 */
final class FakeLeaseFeed implements LeaseFeed {
    /** One watch the state machine started. */
    static final class Started implements Subscription {
        final long fromRevision;
        final Listener listener;
        boolean closed;

        Started(long fromRevision, Listener listener) {
            this.fromRevision = fromRevision;
            this.listener = listener;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    final List<Started> watches = new ArrayList<>();
    LeaseSnapshot listing;
    long revision;
    boolean down;
    int lists;
    int revisionReads;

    FakeLeaseFeed(LeaseSnapshot listing) {
        this.listing = listing;
        this.revision = listing.revision();
    }

    @Override
    public LeaseSnapshot list() throws EtcdUnavailableException {
        lists++;
        if (down) {
            throw new EtcdUnavailableException("list: etcd down (fake)", null);
        }
        return listing;
    }

    @Override
    public long revision() throws EtcdUnavailableException {
        revisionReads++;
        if (down) {
            throw new EtcdUnavailableException("revision: etcd down (fake)", null);
        }
        return revision;
    }

    @Override
    public Subscription watch(long fromRevision, Listener listener) {
        Started s = new Started(fromRevision, listener);
        watches.add(s);
        return s;
    }

    /** The watch started last. */
    Started current() {
        return watches.get(watches.size() - 1);
    }

    /** Changes a listing as etcd would: the new one becomes what list() answers, and etcd's revision with it. */
    void relisted(LeaseSnapshot now) {
        listing = now;
        revision = now.revision();
    }
}
