package io.flanneld.daemon;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the daemon closes on the way out, and in which order: everything it set up, newest first, and then the data
 * path and the netlink socket it uses, newest first. The data path goes last because for the udp backend it is the
 * daemon itself that forwards pod traffic: whatever the rest of a stop costs (the watch, etcd's client, the health
 * server, the packet filters) is then time the node still forwards, not time its pods lose. Not thread-safe: the
 * daemon's main thread alone adds and closes.
 */
final class ShutdownOrder {
    private static final Logger LOG = LoggerFactory.getLogger(ShutdownOrder.class);
    private final Deque<AutoCloseable> rest = new ArrayDeque<>();
    private final Deque<AutoCloseable> dataPath = new ArrayDeque<>();

    /** Closed on the way out, before anything added earlier and before the data path. */
    void closeLater(AutoCloseable c) {
        rest.push(c);
    }

    /** Closed after everything added with {@link #closeLater}, before any data-path part added earlier. */
    void closeLast(AutoCloseable c) {
        dataPath.push(c);
    }

    /** Closes everything in order; a failure to close one part is reported and does not keep the others open. */
    void closeAll(BiConsumer<AutoCloseable, Exception> onFailure) {
        for (Deque<AutoCloseable> part : List.of(rest, dataPath)) {
            while (!part.isEmpty()) {
                AutoCloseable c = part.pop();
                long t0 = System.nanoTime();
                try {
                    c.close();
                } catch (Exception e) {
                    onFailure.accept(c, e);
                }
                LOG.debug("closed {} in {} ms", c.getClass().getSimpleName(), (System.nanoTime() - t0) / 1_000_000);
            }
        }
    }
}
