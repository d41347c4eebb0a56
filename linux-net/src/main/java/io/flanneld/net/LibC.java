package io.flanneld.net;

import java.nio.ByteBuffer;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The libc calls this project makes, bound once through jnr-ffi. {@code @SaveError} makes jnr capture errno right
 * after each call, before the JVM can overwrite it; read it with {@link Native#errno()}. Numbers and struct layouts
 * for the arguments are in {@link LinuxAbi}, errno numbers in {@link Errno}.
 *
 * <p>Two argument styles:
 * <ul>
 *   <li>set-up and control paths pass direct ByteBuffers (jnr hands the native address of position() to the callee,
 *       no copy) or small byte/int arrays (copied in and out, cheap for sockaddr and ifreq sized structs);</li>
 *   <li>the forwarding loops pass raw native addresses ({@code long}, pointer-sized on the 64-bit Linux this runs on)
 *       into memory they allocated once ({@link Native#address}, {@link MessageBatch}, {@link PollFd}), so a call
 *       costs no Java objects. {@code sendmmsg}/{@code recvmmsg} move many datagrams per system call, each with its
 *       own peer address and control message.</li>
 * </ul>
 *
 * <p>Public because jnr-ffi generates the implementation in its own class loader, which cannot implement a
 * package-private interface, and because backend-udp's loops call it directly.
 */
public interface LibC {
    @SaveError
    int socket(int domain, int type, int protocol);

    @SaveError
    int bind(int fd, @In byte[] address, int addressLength);

    @SaveError
    int getsockname(int fd, @Out byte[] address, @In @Out int[] addressLength);

    @SaveError
    int setsockopt(int fd, int level, int option, @In byte[] value, int valueLength);

    /** setsockopt with the value at a native address. */
    @SaveError
    int setsockopt(int fd, int level, int option, long value, int valueLength);

    @SaveError
    @ssize_t
    long sendto(int fd, @In ByteBuffer buffer, @size_t long length, int flags, @In byte[] address, int addressLength);

    @SaveError
    @ssize_t
    long recv(int fd, @Out ByteBuffer buffer, @size_t long length, int flags);

    @SaveError
    @ssize_t
    long read(int fd, @Out ByteBuffer buffer, @size_t long length);

    /** read into native memory at {@code buffer}. */
    @SaveError
    @ssize_t
    long read(int fd, long buffer, @size_t long length);

    @SaveError
    @ssize_t
    long write(int fd, @In ByteBuffer buffer, @size_t long length);

    /** write from native memory at {@code buffer}. */
    @SaveError
    @ssize_t
    long write(int fd, long buffer, @size_t long length);

    /** ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) */
    @SaveError
    @ssize_t
    long sendmsg(int fd, long msghdr, int flags);

    /** int sendmmsg(int fd, struct mmsghdr *msgvec, unsigned int vlen, int flags) */
    @SaveError
    int sendmmsg(int fd, long msgvec, int vlen, int flags);

    /** int recvmmsg(int fd, struct mmsghdr *msgvec, unsigned int vlen, int flags, struct timespec *timeout) */
    @SaveError
    int recvmmsg(int fd, long msgvec, int vlen, int flags, long timeout);

    @SaveError
    int open(String path, int flags);

    @SaveError
    int close(int fd);

    @SaveError
    int setns(int fd, int nstype);

    /** ioctl with a struct argument, e.g. TUNSETIFF and its struct ifreq. */
    @SaveError
    int ioctl(int fd, long request, @In @Out byte[] argument);

    /** ioctl with an integer argument, e.g. TUNSETOFFLOAD. */
    @SaveError
    int ioctl(int fd, long request, long argument);

    /** poll(2) on a single struct pollfd (int fd; short events; short revents), passed as 8 bytes. */
    @SaveError
    int poll(@In @Out byte[] pollfd, long count, int timeoutMillis);

    /** poll(2) on {@code count} struct pollfd at native address {@code fds}. */
    @SaveError
    int poll(long fds, long count, int timeoutMillis);

    /** eventfd(2): a counter another thread can write to wake a poll. */
    @SaveError
    int eventfd(int initialValue, int flags);

    /** The bound libc, shared by all users; loaded on first use. */
    final class Native {
        private Native() {
        }

        /** Loaded when first asked for, once (the holder's class initialisation), then a constant. */
        private static final class Holder {
            static final LibC INSTANCE = LibraryLoader.create(LibC.class).load("c");
            static final Runtime RUNTIME = Runtime.getRuntime(INSTANCE);
        }

        public static LibC libc() {
            return Holder.INSTANCE;
        }

        /** errno of the calling thread's last {@code @SaveError} call. */
        public static int errno() {
            return Holder.RUNTIME.getLastError();
        }

        /** The native address of a direct buffer's first byte (set-up time only: it allocates a wrapper). */
        public static long address(ByteBuffer direct) {
            if (!direct.isDirect()) {
                throw new IllegalArgumentException("not a direct buffer");
            }
            return Pointer.wrap(Runtime.getSystemRuntime(), direct).address();
        }
    }
}
