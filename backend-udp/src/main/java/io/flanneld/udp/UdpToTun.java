package io.flanneld.udp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.unix.FileDescriptor;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inbound direction, on Netty's epoll event loop: each datagram a peer sent is one IPv4 packet, checked and
 * written to flannel0 as is (flannel decrements the TTL only on the way out, and so does this).
 *
 * <p>Datagrams arrive in pooled direct buffers (filled by recvmmsg, several per system call); the packet is checked
 * in place and written to the TUN device straight from that memory, then the buffer goes back to the pool.
 *
 * <p>Beyond flannel, a datagram is only accepted from a host that holds a lease (its source address is some lease's
 * PublicIP) and only if the inner packet's source address lies in a subnet leased by that very host. Without these
 * checks anyone who can reach port 8285 could inject packets into the overlay as any pod.
 */
final class UdpToTun extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(UdpToTun.class);
    /** {@link #verdict} for a datagram to write to the TUN device; drops are {@link CounterCells} indices. */
    static final int ACCEPT = -1;

    private final FileDescriptor tun;
    private final AtomicReference<ForwardingTable> table;
    private final CounterCells counters;

    UdpToTun(FileDescriptor tun, AtomicReference<ForwardingTable> table, CounterCells counters) {
        this.tun = tun;
        this.table = table;
        this.counters = counters;
    }

    /**
     * Whether the datagram from {@code sender} carrying the {@code length} bytes at {@code offset} may enter the
     * overlay: {@link #ACCEPT}, or the drop reason's {@link CounterCells} index. A stranger's datagram is counted as
     * {@code unknown_peer} whatever it holds; a member's garbage as {@code malformed}; a member's packet claiming a
     * source outside its own subnets as {@code spoofed_source}.
     */
    static int verdict(ForwardingTable table, int sender, ByteBuffer buf, int offset, int length) {
        if (!table.isPeer(sender)) {
            return CounterCells.UNKNOWN_PEER;
        }
        if (Ipv4Packet.validate(buf, offset, length) == Ipv4Packet.MALFORMED) {
            return CounterCells.MALFORMED;
        }
        int entry = table.find(Ipv4Packet.source(buf, offset));
        if (entry < 0 || table.publicIp(entry) != sender) {
            return CounterCells.SPOOFED_SOURCE;
        }
        return ACCEPT;
    }

    /**
     * The sender's IPv4 address as an int without allocating: {@code Inet4Address.hashCode()} is specified to be the
     * address itself, whereas {@code getAddress()} would copy it into a new array for every datagram.
     */
    static int senderAddress(InetSocketAddress sender) {
        return sender.getAddress() instanceof Inet4Address v4 ? v4.hashCode() : 0;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof DatagramPacket packet)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        try {
            forward(packet);
        } finally {
            packet.release();
        }
    }

    private void forward(DatagramPacket packet) {
        ByteBuf content = packet.content();
        int index = content.readerIndex();
        int length = content.readableBytes();
        // For a direct pooled buffer this is a cached view: no allocation.
        ByteBuffer view = content.internalNioBuffer(index, length);
        int offset = view.position();
        int verdict = verdict(table.get(), senderAddress(packet.sender()), view, offset, length);
        if (verdict != ACCEPT) {
            counters.increment(verdict);
            return;
        }
        try {
            if (content.hasMemoryAddress()) {
                tun.writeAddress(content.memoryAddress(), index, index + length);
            } else {
                tun.write(view, offset, offset + length);
            }
            counters.increment(CounterCells.PACKETS);
            counters.add(CounterCells.BYTES, length);
        } catch (IOException e) {
            counters.increment(CounterCells.IO_ERRORS);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        // A failed receive must not close the socket: log it, count it, keep the data path up.
        counters.increment(CounterCells.IO_ERRORS);
        log.warn("UDP to TUN: {}", cause.toString());
    }
}
