package io.flanneld.lease;

import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.AbstractExecutorService;
import java.util.concurrent.Callable;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A single-threaded scheduled executor on a clock the test moves: a task due now runs at once on the calling thread
 * (after the ones queued before it; never inside another task), a delayed one when {@link #advance} passes its time.
 * So a state machine's retries and grace periods run in order, in milliseconds, without sleeping.
 */
final class ManualLoop extends AbstractExecutorService implements ScheduledExecutorService {
    private final PriorityQueue<Task> queue = new PriorityQueue<>(Comparator.comparingLong((Task t) -> t.due).thenComparingLong(t -> t.seq));
    private long now;
    private long seq;
    private boolean running;
    private boolean shutdown;

    private final class Task implements ScheduledFuture<Object> {
        final long due;
        final long seq;
        final Runnable body;
        boolean cancelled;
        boolean done;

        Task(long due, Runnable body) {
            this.due = due;
            this.seq = ManualLoop.this.seq++;
            this.body = body;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(due - now, TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(getDelay(TimeUnit.NANOSECONDS), o.getDelay(TimeUnit.NANOSECONDS));
        }

        @Override
        public boolean cancel(boolean mayInterrupt) {
            boolean was = !done && !cancelled;
            cancelled = true;
            return was;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return done || cancelled;
        }

        @Override
        public Object get() {
            return null;
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            return null;
        }
    }

    /** Moves the clock by {@code by}, running every task that falls due on the way, in time order. */
    void advance(Duration by) {
        long target = now + by.toNanos();
        while (!queue.isEmpty() && queue.peek().due <= target) {
            now = Math.max(now, queue.peek().due);
            drain();
        }
        now = target;
        drain();
    }

    /** Tasks waiting for the clock. */
    int pending() {
        return (int) queue.stream().filter(t -> !t.cancelled).count();
    }

    private void drain() {
        if (running) {
            return;
        }
        running = true;
        try {
            while (!queue.isEmpty() && queue.peek().due <= now) {
                Task t = queue.poll();
                if (!t.cancelled) {
                    t.done = true;
                    t.body.run();
                }
            }
        } finally {
            running = false;
        }
    }

    @Override
    public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
        if (shutdown) {
            throw new java.util.concurrent.RejectedExecutionException("shut down");
        }
        Task t = new Task(now + Math.max(0, unit.toNanos(delay)), command);
        queue.add(t);
        drain();
        return t;
    }

    @Override
    public void execute(Runnable command) {
        schedule(command, 0, TimeUnit.NANOSECONDS);
    }

    @Override
    public <V> ScheduledFuture<V> schedule(Callable<V> callable, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    @Override
    public ScheduledFuture<?> scheduleAtFixedRate(Runnable command, long initialDelay, long period, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    @Override
    public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
        throw new UnsupportedOperationException();
    }

    @Override
    public void shutdown() {
        shutdown = true;
    }

    @Override
    public List<Runnable> shutdownNow() {
        shutdown = true;
        queue.clear();
        return List.of();
    }

    @Override
    public boolean isShutdown() {
        return shutdown;
    }

    @Override
    public boolean isTerminated() {
        return shutdown;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) {
        return true;
    }
}
