package io.flanneld.net;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens to the kernel's rtnetlink notifications about links, IPv4 addresses, IPv4 routes and neighbours in one
 * network namespace (multicast groups RTMGRP_LINK, RTMGRP_NEIGH, RTMGRP_IPV4_IFADDR, RTMGRP_IPV4_ROUTE) and hands each
 * to a listener, on a thread of its own, so that kernel state someone else changes is noticed at once rather than at
 * the next periodic check. Receives into one buffer allocated once; a full socket buffer (ENOBUFS) becomes
 * {@link KernelChange#OVERRUN}.
 */
public final class KernelChanges implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KernelChanges.class);
    private static final int GROUPS = 0x1 /* LINK */ | 0x4 /* NEIGH */ | 0x10 /* IPV4_IFADDR */ | 0x40 /* IPV4_ROUTE */;

    private final LibC libc;
    private final int fd;
    private final Thread thread;
    private volatile boolean closed;

    private KernelChanges(LibC libc, int fd, Consumer<KernelChange> listener) {
        this.libc = libc;
        this.fd = fd;
        this.thread = new Thread(() -> run(listener), "netlink-changes");
        this.thread.setDaemon(true);
    }

    /** Starts listening in the calling thread's network namespace. */
    public static KernelChanges start(Consumer<KernelChange> listener) {
        LibC libc = LibC.Native.libc();
        // A one-second receive timeout lets the thread notice close() without a signal.
        KernelChanges changes = new KernelChanges(libc, NetlinkSocket.openFd(libc, GROUPS, 1), listener);
        changes.thread.start();
        return changes;
    }

    private void run(Consumer<KernelChange> listener) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024).order(ByteOrder.nativeOrder());
        while (!closed) {
            buffer.clear();
            long length = libc.recv(fd, buffer, buffer.capacity(), 0);
            if (closed) {
                return;
            }
            if (length < 0) {
                int errno = LibC.Native.errno();
                if (errno == Errno.ENOBUFS) {
                    deliver(listener, KernelChange.OVERRUN);
                } else if (errno != Errno.EAGAIN && errno != Errno.EINTR) {
                    LOG.warn("kernel change notifications stopped: recv: {}", Errno.name(errno));
                    return;
                }
                continue;
            }
            buffer.limit((int) Math.min(length, buffer.capacity()));
            for (KernelChange change : KernelChange.decode(buffer)) {
                deliver(listener, change);
            }
        }
    }

    private static void deliver(Consumer<KernelChange> listener, KernelChange change) {
        try {
            listener.accept(change);
        } catch (RuntimeException e) {
            LOG.warn("kernel change listener failed: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        libc.close(fd);
    }
}
