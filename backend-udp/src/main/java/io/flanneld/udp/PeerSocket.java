package io.flanneld.udp;

import static io.flanneld.net.LinuxAbi.*;

import io.flanneld.net.LibC;
import io.flanneld.net.NetworkNamespaces;
import io.flanneld.schema.Ip4;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollEventLoopGroup;
import io.netty.channel.socket.InternetProtocolFamily;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend's UDP socket: a Netty epoll datagram channel bound to the interface address and the backend port,
 * with large buffers, and UDP GSO/GRO where the kernel has them. Netty creates it (inside the host's namespace when
 * there is one), binds it and owns its lifetime, but never reads it (auto-read off): the forwarding loops drive its
 * file descriptor with batched system calls.
 */
final class PeerSocket implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PeerSocket.class);
    private static final int SOCKET_BUFFER = 4 << 20;

    private final LibC libc = LibC.Native.libc();
    private final EventLoopGroup group;
    private final EpollDatagramChannel channel;
    private final int fd;
    private boolean closed;

    private PeerSocket(EventLoopGroup group, EpollDatagramChannel channel) {
        this.group = group;
        this.channel = channel;
        this.fd = channel.fd().intValue();
    }

    /** Binds {@code address}:{@code port}, in {@code namespace} unless it is null; forces 4 MiB buffers. */
    static PeerSocket open(int address, int port, String namespace) throws UnknownHostException {
        Epoll.ensureAvailability();
        EventLoopGroup group = new EpollEventLoopGroup(1, new DefaultThreadFactory("flannel-udp-socket", true));
        try {
            ChannelFactory<EpollDatagramChannel> factory = namespace == null
                    ? () -> new EpollDatagramChannel(InternetProtocolFamily.IPv4)
                    : () -> NetworkNamespaces.callIn(namespace,
                            () -> new EpollDatagramChannel(InternetProtocolFamily.IPv4));
            ChannelFuture bound = new Bootstrap()
                    .group(group)
                    .channelFactory(factory)
                    .option(ChannelOption.AUTO_READ, false)
                    .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                    .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                    .handler(new ChannelInboundHandlerAdapter())
                    .bind(new InetSocketAddress(InetAddress.getByAddress(Ip4.toBytes(address)), port))
                    .awaitUninterruptibly();
            if (!bound.isSuccess()) {
                throw new IllegalStateException("udp backend: cannot bind " + Ip4.format(address) + ":" + port
                        + " (Backend.Port): " + bound.cause().getMessage(), bound.cause());
            }
            PeerSocket socket = new PeerSocket(group, (EpollDatagramChannel) bound.channel());
            socket.forceBuffers();
            return socket;
        } catch (RuntimeException | UnknownHostException e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
            throw e;
        }
    }

    int fd() {
        return fd;
    }

    /** UDP_SEGMENT with size 0 (each send names its own): whether the kernel has UDP GSO. */
    boolean enableGso() {
        return setIntOption(SOL_UDP, UDP_SEGMENT, 0);
    }

    /** UDP_GRO on: whether the kernel has UDP GRO. */
    boolean enableGro() {
        return setIntOption(SOL_UDP, UDP_GRO, 1);
    }

    /**
     * SO_RCVBUF/SO_SNDBUF are capped by net.core.rmem_max/wmem_max (about 200 KiB by default), which a burst of
     * datagrams overflows while the event loop is busy writing to the TUN device. The FORCE variants (root or
     * CAP_NET_ADMIN, which this daemon has anyway) ignore the cap; without the capability the capped size stays.
     */
    private void forceBuffers() {
        if (!setIntOption(SOL_SOCKET, SO_RCVBUFFORCE, SOCKET_BUFFER)
                || !setIntOption(SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFFER)) {
            log.debug("udp backend: socket buffers stay capped: errno {}", LibC.Native.errno());
        }
    }

    private boolean setIntOption(int level, int option, int value) {
        ByteBuffer v = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, value);
        boolean set = libc.setsockopt(fd, level, option, LibC.Native.address(v), 4) == 0;
        java.lang.ref.Reference.reachabilityFence(v);
        return set;
    }

    /** Closes the channel and its event loop; the loops using {@link #fd} must have stopped. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        channel.close().awaitUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }
}
