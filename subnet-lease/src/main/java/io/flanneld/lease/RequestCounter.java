package io.flanneld.lease;

import java.util.concurrent.atomic.LongAdder;

/**
 * Observes etcd requests: counts them, so the cost of leasing can be measured per node rather than
 * guessed, and (for metrics) how long each took and whether it failed.
 */
public interface RequestCounter {
    RequestCounter NONE = () -> { };

    /** A request is about to be sent. */
    void request();

    /** The request ended after {@code nanos}; {@code failed} when etcd did not answer or refused it. */
    default void completed(long nanos, boolean failed) {
    }

    /** A counter that keeps its total. */
    final class Total implements RequestCounter {
        private final LongAdder total = new LongAdder();
        private final LongAdder failed = new LongAdder();

        @Override
        public void request() {
            total.increment();
        }

        @Override
        public void completed(long nanos, boolean failed) {
            if (failed) {
                this.failed.increment();
            }
        }

        public long total() {
            return total.sum();
        }

        /** Requests that timed out, failed or were refused. */
        public long failed() {
            return failed.sum();
        }
    }
}
