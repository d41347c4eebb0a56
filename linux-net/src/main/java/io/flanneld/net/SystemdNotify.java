package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.*;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * sd_notify(3) without libsystemd: one datagram on the AF_UNIX socket named by
 * {@code $NOTIFY_SOCKET}, so that a {@code Type=notify} unit is started only once the daemon says
 * {@code READY=1}. Java 17's own sockets have no AF_UNIX datagrams, hence libc.
 */
public final class SystemdNotify {
    private static final int SUN_PATH_MAX = 108;

    private SystemdNotify() {
    }

    /**
     * Sends {@code state} (e.g. {@code READY=1}) to {@code $NOTIFY_SOCKET}.
     *
     * @return false when the variable is not set: not started by systemd with Type=notify
     * @throws ErrnoException when the socket exists but the message cannot be sent
     */
    public static boolean notify(String state) {
        Optional<String> socket = Optional.ofNullable(System.getenv("NOTIFY_SOCKET")).filter(s -> !s.isEmpty());
        if (socket.isEmpty()) {
            return false;
        }
        send(socket.get(), state);
        return true;
    }

    /** Sends one datagram to a unix socket path; a leading {@code @} names an abstract socket, as systemd writes it. */
    public static void send(String socketPath, String message) {
        LibC libc = LibC.Native.libc();
        int fd = libc.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            throw new ErrnoException("socket(AF_UNIX, SOCK_DGRAM)", LibC.Native.errno());
        }
        try {
            byte[] address = sockaddrUn(socketPath);
            byte[] payload = message.getBytes(StandardCharsets.UTF_8);
            ByteBuffer buffer = ByteBuffer.allocateDirect(payload.length).put(payload).flip();
            if (libc.sendto(fd, buffer, payload.length, 0, address, address.length) < 0) {
                throw new ErrnoException("sendto " + socketPath + " \"" + message + "\"", LibC.Native.errno());
            }
        } finally {
            libc.close(fd);
        }
    }

    /** struct sockaddr_un: sa_family_t then the path, NUL-terminated unless abstract. */
    static byte[] sockaddrUn(String socketPath) {
        byte[] path = socketPath.getBytes(StandardCharsets.UTF_8);
        boolean abstractName = socketPath.startsWith("@");
        if (path.length >= SUN_PATH_MAX) {
            throw new IllegalArgumentException("unix socket path longer than " + (SUN_PATH_MAX - 1) + " bytes: " + socketPath);
        }
        byte[] address = new byte[2 + path.length + (abstractName ? 0 : 1)];
        address[0] = (byte) AF_UNIX;
        address[1] = 0;
        System.arraycopy(path, 0, address, 2, path.length);
        if (abstractName) {
            address[2] = 0;
        }
        return address;
    }
}
