package io.flanneld.net;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens to the kernel's rtnetlink notifications about links, addresses and routes of both families, and neighbours
 * in one network namespace (multicast groups RTMGRP_LINK, RTMGRP_NEIGH (both families), RTMGRP_IPV4_IFADDR,
 * RTMGRP_IPV4_ROUTE, RTMGRP_IPV6_IFADDR, RTMGRP_IPV6_ROUTE) and hands each
 * to a listener, on a thread of its own, so that kernel state someone else changes is noticed at once rather than at
 * the next periodic check. Receives into one buffer allocated once; a full socket buffer (ENOBUFS) becomes
 * {@link KernelChange#OVERRUN}. The thread waits in poll(2) on the socket and on an eventfd that {@link #close}
 * writes, so that a stop does not wait for a receive timeout.
 */
public final class KernelChanges implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KernelChanges.class);
    private static final int GROUPS = 0x1 /* LINK */ | 0x4 /* NEIGH */ | 0x10 /* IPV4_IFADDR */ | 0x40 /* IPV4_ROUTE */
            | 0x100 /* IPV6_IFADDR */ | 0x400 /* IPV6_ROUTE */;

    private final LibC libc;
    private final int fd;
    private final int wakeFd;
    private final Thread thread;
    private volatile boolean closed;

    private KernelChanges(LibC libc, int fd, int wakeFd, Consumer<KernelChange> listener) {
        this.libc = libc;
        this.fd = fd;
        this.wakeFd = wakeFd;
        this.thread = new Thread(() -> run(listener), "netlink-changes");
        this.thread.setDaemon(true);
    }

    /** Starts listening in the calling thread's network namespace. */
    public static KernelChanges start(Consumer<KernelChange> listener) {
        LibC libc = LibC.Native.libc();
        int wakeFd = libc.eventfd(0, LinuxAbi.EFD_CLOEXEC | LinuxAbi.EFD_NONBLOCK);
        if (wakeFd < 0) {
            throw new ErrnoException("eventfd", LibC.Native.errno());
        }
        int fd;
        try {
            fd = NetlinkSocket.openFd(libc, GROUPS, 0); // no receive timeout: close() wakes the poll
        } catch (RuntimeException e) {
            libc.close(wakeFd);
            throw e;
        }
        KernelChanges changes = new KernelChanges(libc, fd, wakeFd, listener);
        changes.thread.start();
        return changes;
    }

    private void run(Consumer<KernelChange> listener) {
        ByteBuffer buffer = ByteBuffer.allocateDirect(64 * 1024).order(ByteOrder.nativeOrder());
        byte[] pollfds = new byte[2 * LinuxAbi.POLLFD_SIZE];
        ByteBuffer p = ByteBuffer.wrap(pollfds).order(ByteOrder.nativeOrder());
        while (!closed) {
            p.putInt(LinuxAbi.POLLFD_FD, fd).putShort(LinuxAbi.POLLFD_EVENTS, LinuxAbi.POLLIN)
                    .putShort(LinuxAbi.POLLFD_REVENTS, (short) 0);
            p.putInt(LinuxAbi.POLLFD_SIZE + LinuxAbi.POLLFD_FD, wakeFd)
                    .putShort(LinuxAbi.POLLFD_SIZE + LinuxAbi.POLLFD_EVENTS, LinuxAbi.POLLIN)
                    .putShort(LinuxAbi.POLLFD_SIZE + LinuxAbi.POLLFD_REVENTS, (short) 0);
            int ready = libc.poll(pollfds, 2, -1);
            if (closed) {
                return;
            }
            if (ready < 0) {
                int errno = LibC.Native.errno();
                if (errno != Errno.EINTR) {
                    LOG.warn("kernel change notifications stopped: poll: {}", Errno.name(errno));
                    return;
                }
                continue;
            }
            if (p.getShort(LinuxAbi.POLLFD_REVENTS) == 0) {
                continue;
            }
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

    /** Whether the listening thread still runs (it ends at {@link #close}, or when the socket fails). */
    boolean listening() {
        return thread.isAlive();
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        ByteBuffer one = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder()).putLong(0, 1);
        libc.write(wakeFd, one, 8);
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        libc.close(fd);
        libc.close(wakeFd);
    }
}
