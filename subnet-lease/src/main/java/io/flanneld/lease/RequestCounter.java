package io.flanneld.lease;

import java.util.concurrent.atomic.LongAdder;

/** Counts etcd requests, so the cost of leasing can be measured per node rather than guessed. */
public interface RequestCounter {
    RequestCounter NONE = () -> { };

    void request();

    /** A counter that keeps its total. */
    final class Total implements RequestCounter {
        private final LongAdder total = new LongAdder();

        @Override
        public void request() {
            total.increment();
        }

        public long total() {
            return total.sum();
        }
    }
}
