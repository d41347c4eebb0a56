package io.flanneld.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Ends process trees the kit started: SIGTERM to the process and every descendant, a bounded wait, then SIGKILL to
 * whatever is left. Descendants are collected before the root is signalled, since an orphan is re-parented and no
 * longer shows up as a descendant. Only ever pass handles of processes the caller itself started.
 */
public final class Processes {
    /** Grace period between SIGTERM and SIGKILL used when none is given. */
    public static final Duration DEFAULT_GRACE = Duration.ofSeconds(5);

    private Processes() {
    }

    /** SIGTERM {@code root} and its descendants, wait up to {@code grace}, then SIGKILL the survivors. */
    public static void terminateTree(ProcessHandle root, Duration grace) {
        terminateTrees(List.of(root), grace);
    }

    /**
     * Like {@link #terminateTree} for several roots at once: every tree is collected first, then all get SIGTERM,
     * share one grace period, and the survivors get SIGKILL.
     */
    public static void terminateTrees(List<ProcessHandle> roots, Duration grace) {
        List<ProcessHandle> all = new ArrayList<>();
        for (ProcessHandle root : roots) {
            all.addAll(treeOf(root));
        }
        for (ProcessHandle h : all) {
            h.destroy();
        }
        long deadline = System.nanoTime() + grace.toNanos();
        for (ProcessHandle h : all) {
            long left = deadline - System.nanoTime();
            if (left > 0) {
                awaitExit(h, Duration.ofNanos(left));
            }
        }
        for (ProcessHandle root : roots) {
            if (root.isAlive()) {
                // it may have forked again during the grace period
                root.descendants().forEach(all::add);
            }
        }
        killAll(all);
    }

    /** SIGKILL {@code root} and every descendant, then wait (bounded) for them to be gone. */
    public static void killTree(ProcessHandle root) {
        killAll(treeOf(root));
    }

    private static List<ProcessHandle> treeOf(ProcessHandle root) {
        List<ProcessHandle> all = new ArrayList<>();
        all.add(root);
        try {
            root.descendants().forEach(all::add);
        } catch (RuntimeException ignored) {
            // the process may be gone already
        }
        return all;
    }

    private static void killAll(List<ProcessHandle> all) {
        for (ProcessHandle h : all) {
            if (isRunning(h)) {
                h.destroyForcibly();
            }
        }
        for (ProcessHandle h : all) {
            awaitExit(h, Duration.ofSeconds(5));
        }
    }

    /**
     * Waits up to {@code timeout} for the process to exit; returns whether it did. Polls every 10 ms: the JDK's
     * {@code onExit()} for a process that is not our direct child backs off to second-long sleeps.
     */
    public static boolean awaitExit(ProcessHandle h, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (isRunning(h)) {
            if (System.nanoTime() - deadline >= 0) {
                return false;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !isRunning(h);
            }
        }
        return true;
    }

    /**
     * Whether the process is alive and not a zombie. A killed orphan stays a zombie until init reaps it, which can
     * take over a second in a container, and the JDK counts a zombie as alive.
     */
    public static boolean isRunning(ProcessHandle h) {
        if (!h.isAlive()) {
            return false;
        }
        try {
            String stat = Files.readString(Path.of("/proc/" + h.pid() + "/stat"));
            int close = stat.lastIndexOf(')');
            return close < 0 || close + 2 >= stat.length() || stat.charAt(close + 2) != 'Z';
        } catch (IOException | RuntimeException e) {
            return h.isAlive();
        }
    }
}
