package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.net.NetworkNamespaces;
import io.flanneld.schema.Ip4;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A UDP socket made with libc ({@link Syscalls}) inside a test host's namespace, for datagrams the JDK's sockets
 * cannot send: one send cut into datagrams by the kernel ({@code UDP_SEGMENT}), or datagrams with no UDP checksum at
 * all ({@code SO_NO_CHECK}: the checksum field is 0, which IPv4 allows and the receiving kernel then does not verify).
 * Not bound: the kernel picks the source port at the first send.
 */
final class LibcUdpSocket implements AutoCloseable {
    static final int SOL_SOCKET = 1;
    static final int SO_NO_CHECK = 11;
    static final int SOL_UDP = 17;
    static final int UDP_SEGMENT = 103;

    private final Syscalls sys = Syscalls.Native.get();
    private final int fd;

    private LibcUdpSocket(int fd) {
        this.fd = fd;
    }

    /** An IPv4 UDP socket in namespace {@code netns}. */
    static LibcUdpSocket open(String netns) {
        int fd = NetworkNamespaces.callIn(netns, () -> Syscalls.Native.get().socket(2, 2, 0));
        assertTrue(fd >= 0, "socket errno " + Syscalls.Native.errno());
        return new LibcUdpSocket(fd);
    }

    /** setsockopt with an int value. */
    LibcUdpSocket option(int level, int name, int value) {
        ByteBuffer v = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, value);
        assertEquals(0, sys.setsockopt(fd, level, name, Syscalls.Native.address(v), 4),
                "setsockopt(" + level + ", " + name + ") errno " + Syscalls.Native.errno());
        return this;
    }

    /** One sendmsg of {@code data} to {@code ip}:{@code port}; fails the test unless all of it was taken. */
    void send(String ip, int port, byte[] data) {
        // struct msghdr (56 bytes) with the destination and one iovec; then the iovec, the sockaddr_in, the data.
        ByteBuffer m = ByteBuffer.allocateDirect(56 + 16 + 16 + data.length).order(ByteOrder.nativeOrder());
        long base = Syscalls.Native.address(m);
        m.putLong(0, base + 72).putInt(8, 16).putLong(16, base + 56).putLong(24, 1);
        m.putLong(56, base + 88).putLong(64, data.length);
        m.putShort(72, (short) 2);
        m.order(ByteOrder.BIG_ENDIAN).putShort(74, (short) port).putInt(76, Ip4.parse(ip)).put(88, data);
        long sent = sys.sendmsg(fd, base, 0);
        assertEquals(data.length, sent, "sendmsg errno " + Syscalls.Native.errno());
    }

    @Override
    public void close() {
        sys.close(fd);
    }
}
