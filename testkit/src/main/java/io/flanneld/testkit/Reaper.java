package io.flanneld.testkit;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One JVM shutdown hook for every resource the kit holds (etcd processes, fabrics): closes whatever is still open,
 * newest first, so nothing the kit started outlives the test JVM.
 */
final class Reaper {
    private static final Set<AutoCloseable> OPEN = new LinkedHashSet<>();
    private static boolean hookInstalled;

    private Reaper() {
    }

    static synchronized void register(AutoCloseable c) {
        if (!hookInstalled) {
            Runtime.getRuntime().addShutdownHook(new Thread(Reaper::closeAll, "testkit-reaper"));
            hookInstalled = true;
        }
        OPEN.add(c);
    }

    static synchronized void unregister(AutoCloseable c) {
        OPEN.remove(c);
    }

    private static void closeAll() {
        List<AutoCloseable> open;
        synchronized (Reaper.class) {
            open = new ArrayList<>(OPEN);
        }
        for (int i = open.size() - 1; i >= 0; i--) {
            try {
                open.get(i).close();
            } catch (Throwable t) {
                System.err.println("testkit: cleanup at exit failed for " + open.get(i) + ": " + t);
            }
        }
    }
}
