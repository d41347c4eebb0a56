package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ShutdownOrderTest {
    private final List<String> closed = new ArrayList<>();

    private AutoCloseable part(String name) {
        return () -> closed.add(name);
    }

    @Test
    void theDataPathClosesAfterEverythingElseNewestFirst() {
        ShutdownOrder order = new ShutdownOrder();
        order.closeLater(part("etcd"));
        order.closeLater(part("metrics"));
        order.closeLast(part("netlink"));
        order.closeLast(part("backend"));
        order.closeLater(part("watcher"));
        order.closeLater(part("keeper"));
        order.closeAll((c, e) -> closed.add("failed"));
        assertEquals(List.of("keeper", "watcher", "metrics", "etcd", "backend", "netlink"), closed);
    }

    @Test
    void aFailureDoesNotKeepTheRestOpen() {
        ShutdownOrder order = new ShutdownOrder();
        List<String> failures = new ArrayList<>();
        order.closeLast(part("backend"));
        order.closeLater(() -> {
            throw new IllegalStateException("etcd gone");
        });
        order.closeLater(part("watcher"));
        order.closeAll((c, e) -> failures.add(e.getMessage()));
        assertEquals(List.of("watcher", "backend"), closed);
        assertEquals(List.of("etcd gone"), failures);
    }
}
