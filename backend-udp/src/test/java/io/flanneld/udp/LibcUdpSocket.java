package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static io.flanneld.net.LinuxAbi.*;

import io.flanneld.net.LibC;
import io.flanneld.net.MessageBatch;
import io.flanneld.net.NetworkNamespaces;
import io.flanneld.schema.Ip4;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A UDP socket made with libc ({@link LibC}) inside a test host's namespace, for datagrams the JDK's sockets
 * cannot send: one send cut into datagrams by the kernel ({@code UDP_SEGMENT}), or datagrams with no UDP checksum at
 * all ({@code SO_NO_CHECK}: the checksum field is 0, which IPv4 allows and the receiving kernel then does not verify).
 * Not bound: the kernel picks the source port at the first send.
 */
final class LibcUdpSocket implements AutoCloseable {
    private final LibC sys = LibC.Native.libc();
    private final int fd;

    private LibcUdpSocket(int fd) {
        this.fd = fd;
    }

    /** An IPv4 UDP socket in namespace {@code netns}. */
    static LibcUdpSocket open(String netns) {
        int fd = NetworkNamespaces.callIn(netns, () -> LibC.Native.libc().socket(AF_INET, SOCK_DGRAM, 0));
        assertTrue(fd >= 0, "socket errno " + LibC.Native.errno());
        return new LibcUdpSocket(fd);
    }

    /** setsockopt with an int value. */
    LibcUdpSocket option(int level, int name, int value) {
        ByteBuffer v = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, value);
        assertEquals(0, sys.setsockopt(fd, level, name, LibC.Native.address(v), 4),
                "setsockopt(" + level + ", " + name + ") errno " + LibC.Native.errno());
        return this;
    }

    /** One sendmsg of {@code data} to {@code ip}:{@code port}; fails the test unless all of it was taken. */
    void send(String ip, int port, byte[] data) {
        ByteBuffer payload = ByteBuffer.allocateDirect(data.length).put(0, data);
        MessageBatch message = new MessageBatch(1);
        message.setDestination(0, Ip4.parse(ip), port);
        message.setIov(0, LibC.Native.address(payload), data.length);
        long sent = sys.sendmsg(fd, message.address(0), 0);
        java.lang.ref.Reference.reachabilityFence(payload);
        java.lang.ref.Reference.reachabilityFence(message);
        assertEquals(data.length, sent, "sendmsg errno " + LibC.Native.errno());
    }

    @Override
    public void close() {
        sys.close(fd);
    }
}
