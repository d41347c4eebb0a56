package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One struct pollfd in native memory allocated once, for a loop that waits on one descriptor at a time without
 * allocating per wait. Not thread-safe: one loop owns it.
 */
public final class PollFd {
    private final LibC libc = LibC.Native.libc();
    private final ByteBuffer memory = ByteBuffer.allocateDirect(POLLFD_SIZE).order(ByteOrder.nativeOrder());
    private final long address = LibC.Native.address(memory);

    /**
     * Waits up to {@code timeoutMillis} for {@code events} ({@link LinuxAbi#POLLIN}, {@link LinuxAbi#POLLOUT}) on
     * {@code fd}: poll(2)'s result, 1 when ready, 0 on timeout, negative on error (errno in {@link LibC.Native}).
     */
    public int await(int fd, short events, int timeoutMillis) {
        memory.putInt(POLLFD_FD, fd);
        memory.putShort(POLLFD_EVENTS, events);
        memory.putShort(POLLFD_REVENTS, (short) 0);
        return libc.poll(address, 1, timeoutMillis);
    }

    /** The events the last {@link #await} reported. */
    public short revents() {
        return memory.getShort(POLLFD_REVENTS);
    }
}
