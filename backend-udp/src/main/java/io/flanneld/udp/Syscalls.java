package io.flanneld.udp;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;

/**
 * The libc calls both forwarding loops make, in an allocation-free form: every pointer is a raw native address
 * ({@code long}, pointer-sized on the 64-bit Linux this runs on) into memory a loop allocated once, so a call costs
 * no Java objects. {@code sendmmsg}/{@code recvmmsg} move many datagrams per system call, each with its own peer
 * address and control message (UDP_SEGMENT, UDP_GRO).
 *
 * <p>Public only because jnr-ffi generates the implementation in its own class loader; not API.
 */
public interface Syscalls {
    /** int socket(int domain, int type, int protocol) */
    @SaveError
    int socket(int domain, int type, int protocol);

    /** int setsockopt(int fd, int level, int name, const void *value, socklen_t len) */
    @SaveError
    int setsockopt(int fd, int level, int name, long value, int length);

    /** int close(int fd) */
    @SaveError
    int close(int fd);

    /** ssize_t read(int fd, void *buf, size_t count) */
    @SaveError
    long read(int fd, long buffer, long count);

    /** ssize_t write(int fd, const void *buf, size_t count) */
    @SaveError
    long write(int fd, long buffer, long count);

    /** ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) */
    @SaveError
    long sendmsg(int fd, long msghdr, int flags);

    /** int sendmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags) */
    @SaveError
    int sendmmsg(int fd, long msgvec, int vlen, int flags);

    /** int recvmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags, struct timespec *timeout) */
    @SaveError
    int recvmmsg(int fd, long msgvec, int vlen, int flags, long timeout);

    /** int poll(struct pollfd *fds, nfds_t nfds, int timeout) */
    @SaveError
    int poll(long fds, long count, int timeoutMillis);

    final class Native {
        private static final Syscalls INSTANCE = LibraryLoader.create(Syscalls.class).load("c");

        private Native() {
        }

        static Syscalls get() {
            return INSTANCE;
        }

        /** The native address of a direct buffer's first byte (set-up time only: it allocates a wrapper). */
        static long address(java.nio.ByteBuffer direct) {
            if (!direct.isDirect()) {
                throw new IllegalArgumentException("not a direct buffer");
            }
            return jnr.ffi.Pointer.wrap(Runtime.getSystemRuntime(), direct).address();
        }

        /** errno of the calling thread's last call. */
        static int errno() {
            return Runtime.getRuntime(INSTANCE).getLastError();
        }
    }
}
