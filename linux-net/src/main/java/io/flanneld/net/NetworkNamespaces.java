package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.*;

import java.util.function.Supplier;

/**
 * Runs an action with the calling thread inside a named network namespace (a file /var/run/netns/NAME, as `ip netns
 * add` creates), then moves the thread back.
 *
 * <p>Namespace membership is per thread, and a socket or TUN device belongs to the namespace it was created in for
 * its whole life. So creating it inside the action and using it afterwards from any thread works: this is how tests
 * and benchmarks drive several simulated hosts from one JVM.
 */
public final class NetworkNamespaces {
    private static final String NAMED_NAMESPACES = "/var/run/netns/";
    /** The namespace of this thread (not of the process: another thread may have moved). */
    private static final String THIS_THREAD = "/proc/thread-self/ns/net";

    private NetworkNamespaces() {
    }

    /** The file behind a namespace name; the name must be a plain file name. */
    public static String path(String name) {
        if (name.isEmpty() || name.equals(".") || name.equals("..") || name.contains("/") || name.contains("\0")) {
            throw new IllegalArgumentException("not a network namespace name: '" + name + "'");
        }
        return NAMED_NAMESPACES + name;
    }

    /**
     * Calls {@code action} on this thread inside namespace {@code name}, always returning the thread to its own
     * namespace afterwards. If even that fails the thread is unusable for network work, so an {@link Error} is thrown
     * rather than letting it carry on in the wrong namespace.
     */
    public static <T> T callIn(String name, Supplier<T> action) {
        LibC libc = LibC.Native.libc();
        String target = path(name);
        int original = open(libc, THIS_THREAD);
        try {
            int targetFd = open(libc, target);
            try {
                if (libc.setns(targetFd, CLONE_NEWNET) < 0) {
                    throw new ErrnoException("setns(" + target + ", CLONE_NEWNET)", LibC.Native.errno());
                }
            } finally {
                libc.close(targetFd);
            }
            try {
                return action.get();
            } finally {
                if (libc.setns(original, CLONE_NEWNET) < 0) {
                    throw new IllegalThreadStateError("could not return thread " + Thread.currentThread().getName()
                            + " from network namespace " + name + ": " + Errno.name(LibC.Native.errno()));
                }
            }
        } finally {
            libc.close(original);
        }
    }

    private static int open(LibC libc, String path) {
        int fd = libc.open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            throw new ErrnoException("open(" + path + ")", LibC.Native.errno());
        }
        return fd;
    }

    /** The thread is stranded in another network namespace; nothing it does on the network can be trusted. */
    public static final class IllegalThreadStateError extends Error {
        IllegalThreadStateError(String message) {
            super(message);
        }
    }
}
