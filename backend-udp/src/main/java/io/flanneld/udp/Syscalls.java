package io.flanneld.udp;

import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.SaveError;

/**
 * The two libc calls the TUN-to-UDP loop makes that neither linux-net nor Netty offers in an allocation-free form:
 * {@code sendmmsg} (many datagrams, each to its own peer, in one system call) and {@code poll}. Pointers are passed
 * as raw native addresses ({@code long}, pointer-sized on the 64-bit Linux this runs on) into memory the loop
 * allocated once, so a call costs no Java objects.
 *
 * <p>Public only because jnr-ffi generates the implementation in its own class loader; not API.
 */
public interface Syscalls {
    /** int sendmmsg(int sockfd, struct mmsghdr *msgvec, unsigned int vlen, int flags) */
    @SaveError
    int sendmmsg(int fd, long msgvec, int vlen, int flags);

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

        /** errno of the calling thread's last call. */
        static int errno() {
            return Runtime.getRuntime(INSTANCE).getLastError();
        }
    }
}
