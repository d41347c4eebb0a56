package io.flanneld.net;

import java.nio.ByteBuffer;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.annotations.In;
import jnr.ffi.annotations.Out;
import jnr.ffi.annotations.SaveError;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * The libc calls this module makes, bound through jnr-ffi. {@code @SaveError} makes jnr capture errno right after
 * each call, before the JVM can overwrite it; read it with {@link Native#errno()}.
 *
 * <p>Public only because jnr-ffi generates the implementation in its own class loader, which cannot implement a
 * package-private interface; it is not part of this module's API.
 *
 * <p>Buffers are passed as direct ByteBuffers (jnr hands the native address of position() to the callee, no copy)
 * or small byte/int arrays (copied in and out, cheap for sockaddr and ifreq sized structs).
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

    @SaveError
    @ssize_t
    long sendto(int fd, @In ByteBuffer buffer, @size_t long length, int flags, @In byte[] address, int addressLength);

    @SaveError
    @ssize_t
    long recv(int fd, @Out ByteBuffer buffer, @size_t long length, int flags);

    @SaveError
    @ssize_t
    long read(int fd, @Out ByteBuffer buffer, @size_t long length);

    @SaveError
    @ssize_t
    long write(int fd, @In ByteBuffer buffer, @size_t long length);

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

    /** Lazily bound libc, shared by all users of this module. */
    final class Native {
        private static volatile LibC instance;

        private Native() {
        }

        public static LibC libc() {
            LibC local = instance;
            if (local == null) {
                synchronized (Native.class) {
                    local = instance;
                    if (local == null) {
                        local = LibraryLoader.create(LibC.class).load("c");
                        instance = local;
                    }
                }
            }
            return local;
        }

        /** errno of the calling thread's last {@code @SaveError} call. */
        public static int errno() {
            return Runtime.getRuntime(libc()).getLastError();
        }
    }
}
