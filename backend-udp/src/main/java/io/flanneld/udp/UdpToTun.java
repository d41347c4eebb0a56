package io.flanneld.udp;

import io.flanneld.net.Errno;
import io.flanneld.net.LibC;
import io.flanneld.net.LinuxAbi;
import io.flanneld.net.MessageBatch;
import io.flanneld.net.PollFd;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The inbound direction, on its own thread: each datagram a peer sent is one IPv4 packet, checked and written to
 * flannel0 as is. flannel's proxy decrements the TTL in both directions (udp_to_tun as well as tun_to_udp); this
 * daemon decrements it only on the way out ({@link TunToUdp}), so a packet between two pods loses one hop where
 * flannel's udp backend takes two: it only matters to a packet sent with a TTL of 1, which flannel drops on the
 * receiving node and this delivers.
 *
 * <p>Datagrams come in with {@code recvmmsg}, many per system call, into buffers allocated once. With UDP GRO
 * ({@link Offloads#udpGro}) one received buffer may hold several same-sized datagrams of one peer (the segment size
 * comes in a UDP_GRO control message); every inner packet is checked on its own. Accepted packets go through
 * {@link TcpCoalescer}, which with a vnet header merges consecutive TCP segments into one TUN write.
 *
 * <p>Beyond flannel, a datagram is only accepted from a host that holds a lease (its source address is some lease's
 * PublicIP) and only if the inner packet's source address lies in a subnet leased by that very host. Without these
 * checks anyone who can reach port 8285 could inject packets into the overlay as any pod.
 */
final class UdpToTun implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(UdpToTun.class);
    /** {@link #verdict} for a datagram to write to the TUN device; drops are {@link CounterCells} indices. */
    static final int ACCEPT = -1;

    private static final int IDLE_POLL_MILLIS = 100;

    private final int tunFd;
    private final int socketFd;
    private final AtomicReference<ForwardingTable> table;
    private final CounterCells counters;
    private final LibC sys = LibC.Native.libc();
    private final int batch;
    private final int slot;
    private final ByteBuffer data;
    private final long dataAddress;
    /** The recvmmsg messages: slot i receives into data[i * slot, (i + 1) * slot). */
    private final MessageBatch messages;
    private final PollFd pollFd = new PollFd();
    private final TcpCoalescer coalescer;
    private final long coalescerAddress;
    private volatile boolean running = true;

    /**
     * @param batch datagrams per recvmmsg at most
     * @param maxDatagram the largest datagram expected without GRO (a larger one is truncated: malformed)
     */
    UdpToTun(int tunFd, int socketFd, AtomicReference<ForwardingTable> table, CounterCells counters,
             Offloads offloads, int batch, int maxDatagram) {
        this.tunFd = tunFd;
        this.socketFd = socketFd;
        this.table = table;
        this.counters = counters;
        this.batch = batch;
        // With GRO a receive may hold up to 64 KiB of coalesced datagrams.
        this.slot = offloads.udpGro() ? 65536 : maxDatagram;
        this.data = ByteBuffer.allocateDirect(batch * slot);
        this.dataAddress = LibC.Native.address(data);
        this.messages = new MessageBatch(batch);
        for (int i = 0; i < batch; i++) {
            messages.setIov(i, dataAddress + (long) i * slot, slot);
        }
        this.coalescer = new TcpCoalescer(offloads.tso(), offloads.coalesce(), this::writeTun, counters);
        this.coalescerAddress = LibC.Native.address(coalescer.buffer());
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

    void stop() {
        running = false;
    }

    @Override
    public void run() {
        while (running) {
            try {
                if (!receiveBatch() && running) {
                    await();
                }
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                counters.increment(CounterCells.IO_ERRORS);
                log.warn("UDP to TUN: {}", e.toString());
                await();
            }
        }
    }

    /** One recvmmsg and everything it brought; false when nothing was waiting. */
    private boolean receiveBatch() {
        messages.resetForReceive(batch);
        int n = sys.recvmmsg(socketFd, messages.address(0), batch, LinuxAbi.MSG_DONTWAIT, 0L);
        if (n <= 0) {
            int errno = LibC.Native.errno();
            if (n < 0 && errno != Errno.EAGAIN && errno != Errno.EINTR) {
                counters.increment(CounterCells.IO_ERRORS);
            }
            return false;
        }
        ForwardingTable current = table.get();
        for (int i = 0; i < n; i++) {
            int length = messages.msgLen(i);
            int sender = messages.sourceAddress(i);
            if ((messages.flags(i) & LinuxAbi.MSG_TRUNC) != 0) {
                counters.increment(CounterCells.MALFORMED);
                continue;
            }
            deliver(current, sender, data, i * slot, length, groSegment(i, length));
        }
        flush();
        return true;
    }

    /**
     * One received message: {@code length} bytes at {@code base} from {@code sender}, holding datagrams of
     * {@code segment} bytes (the last may be shorter) when UDP GRO joined several. Each inner packet is checked
     * on its own and either handed to the coalescer or counted as a drop; nothing reaches flannel0 before
     * {@link #flush}.
     */
    void deliver(ForwardingTable current, int sender, ByteBuffer buf, int base, int length, int segment) {
        if (length == 0) {
            counters.increment(verdict(current, sender, buf, base, 0));
            return;
        }
        for (int at = 0; at < length; at += segment) {
            int size = Math.min(segment, length - at);
            int verdict = verdict(current, sender, buf, base + at, size);
            if (verdict == ACCEPT) {
                coalescer.add(buf, base + at, size);
            } else {
                counters.increment(verdict);
            }
        }
    }

    /** Writes what the coalescer holds to flannel0 and counts it. */
    void flush() {
        coalescer.flush();
    }

    /** The GRO segment size of message {@code i}, or its whole length when it came alone. */
    private int groSegment(int i, int length) {
        int segment = messages.groSegmentSize(i);
        return segment > 0 ? segment : Math.max(1, length);
    }

    private boolean writeTun(ByteBuffer buffer, int offset, int length) {
        // The coalescer only ever writes from its own buffer.
        return sys.write(tunFd, coalescerAddress + offset, length) == length;
    }

    private void await() {
        pollFd.await(socketFd, LinuxAbi.POLLIN, IDLE_POLL_MILLIS);
    }
}
