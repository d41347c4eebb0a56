package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The receiving end of {@link SystemdNotify}: a bound AF_UNIX datagram socket, as systemd holds
 * for a Type=notify unit. Lets tests (and a supervisor) read what the daemon announces.
 */
public final class UnixDatagramReceiver implements AutoCloseable {

    private final LibC libc = LibC.Native.libc();
    private final Path path;
    private final int fd;

    private UnixDatagramReceiver(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    public static UnixDatagramReceiver bind(Path path) {
        LibC libc = LibC.Native.libc();
        int fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw new ErrnoException("socket(AF_UNIX, SOCK_DGRAM)", LibC.Native.errno());
        }
        byte[] address = SystemdNotify.sockaddrUn(path.toString());
        if (libc.bind(fd, address, address.length) < 0) {
            int errno = LibC.Native.errno();
            libc.close(fd);
            throw new ErrnoException("bind " + path, errno);
        }
        return new UnixDatagramReceiver(path, fd);
    }

    public Path path() {
        return path;
    }

    /** The next datagram as text, or empty when none arrives within {@code timeoutMillis}. */
    public Optional<String> receive(int timeoutMillis) {
        byte[] pollfd = ByteBuffer.allocate(8).order(java.nio.ByteOrder.nativeOrder()).putInt(fd).putShort((short) POLLIN).putShort((short) 0).array();
        int ready = libc.poll(pollfd, 1, timeoutMillis);
        if (ready < 0) {
            throw new ErrnoException("poll " + path, LibC.Native.errno());
        }
        if (ready == 0) {
            return Optional.empty();
        }
        ByteBuffer buffer = ByteBuffer.allocateDirect(4096);
        long n = libc.recv(fd, buffer, buffer.capacity(), 0);
        if (n < 0) {
            throw new ErrnoException("recv " + path, LibC.Native.errno());
        }
        byte[] bytes = new byte[(int) n];
        buffer.get(0, bytes);
        return Optional.of(new String(bytes, StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        libc.close(fd);
        try {
            Files.deleteIfExists(path);
        } catch (java.io.IOException e) {
            // A leftover socket file in a temporary directory is harmless.
        }
    }
}
