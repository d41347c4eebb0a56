package io.flanneld.udp;

import io.netty.channel.unix.Buffer;
import io.netty.channel.unix.FileDescriptor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound direction, on its own thread (the UDP-to-TUN direction runs on Netty's event loop, so the two use
 * both cores): read packets from flannel0, look each destination up in the forwarding table, decrement its TTL and
 * send it as the whole payload of a datagram to the owning peer's PublicIP.
 *
 * <p>Batched: the loop reads up to {@link #BATCH} packets until the non-blocking TUN device has none left, then
 * sends them all with one {@code sendmmsg}. Each message has its own destination, so a batch may mix peers. Every
 * buffer (packet slots, the mmsghdr/iovec/sockaddr_in arrays, the pollfd, the ICMP scratch) is native memory
 * allocated once here; the steady state allocates nothing.
 *
 * <p>The socket is Netty's (created and bound by {@link UdpBackend}); this thread only sends on it, while the event
 * loop only receives, so the two never contend. Sending through Netty's channel instead would hand each packet to
 * the event loop as a task with a promise: an allocation and a thread hop per packet.
 */
final class TunToUdp implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(TunToUdp.class);

    static final int BATCH = 64;
    /** A TUN read returns one packet, at most the device MTU; 64 KiB holds any IPv4 packet, whatever the MTU. */
    static final int SLOT = 65536;
    private static final int IDLE_POLL_MILLIS = 100;
    private static final int SEND_RETRIES = 8;

    private static final int MMSGHDR = 64;
    private static final int IOVEC = 16;
    private static final int SOCKADDR_IN = 16;
    private static final int POLLFD = 8;
    private static final short AF_INET = 2;
    private static final short POLLIN = 0x1;
    private static final short POLLOUT = 0x4;
    private static final int EAGAIN = 11;
    private static final int ENOBUFS = 105;
    private static final int EINTR = 4;

    private final FileDescriptor tun;
    private final int socketFd;
    private final int port;
    private final int localAddress;
    private final AtomicReference<ForwardingTable> table;
    private final CounterCells counters;
    private final Syscalls sys = Syscalls.Native.get();

    private final ByteBuffer packets = ByteBuffer.allocateDirect(BATCH * SLOT);
    private final long packetsAddress = Buffer.memoryAddress(packets);
    /** mmsghdr[BATCH], iovec[BATCH], sockaddr_in[BATCH], one pollfd, then the ICMP reply scratch. */
    private final ByteBuffer meta = ByteBuffer.allocateDirect(BATCH * (MMSGHDR + IOVEC + SOCKADDR_IN) + POLLFD
            + IcmpUnreachable.MAX_LENGTH).order(ByteOrder.nativeOrder());
    private final long metaAddress = Buffer.memoryAddress(meta);
    /** The same memory in network byte order, for the ICMP reply (the kernel structs above are in native order). */
    private final ByteBuffer metaNetworkOrder = meta.duplicate().order(ByteOrder.BIG_ENDIAN);
    private final int iovecs = BATCH * MMSGHDR;
    private final int sockaddrs = iovecs + BATCH * IOVEC;
    private final int pollfd = sockaddrs + BATCH * SOCKADDR_IN;
    private final int icmp = pollfd + POLLFD;
    private final int[] lengths = new int[BATCH];

    private final int batch;
    private volatile boolean running = true;

    TunToUdp(FileDescriptor tun, int socketFd, int port, int localAddress, AtomicReference<ForwardingTable> table,
             CounterCells counters, int batch) {
        this.batch = batch;
        this.tun = tun;
        this.socketFd = socketFd;
        this.port = port;
        this.localAddress = localAddress;
        this.table = table;
        this.counters = counters;
        for (int i = 0; i < BATCH; i++) {
            int hdr = i * MMSGHDR;
            meta.putLong(hdr, metaAddress + sockaddrs + (long) i * SOCKADDR_IN);   // msg_name
            meta.putInt(hdr + 8, SOCKADDR_IN);                                     // msg_namelen
            meta.putLong(hdr + 16, metaAddress + iovecs + (long) i * IOVEC);       // msg_iov
            meta.putLong(hdr + 24, 1);                                             // msg_iovlen
            meta.putLong(iovecs + i * IOVEC, packetsAddress + (long) i * SLOT);    // iov_base
            meta.putShort(sockaddrs + i * SOCKADDR_IN, AF_INET);                   // sin_family (host order)
        }
    }

    /**
     * Decides what happens to the outbound packet at {@code offset}: the forwarding table entry to send it to (its
     * TTL already decremented), or the bitwise complement ({@code ~cell}, negative) of the {@link CounterCells} drop
     * reason. Pure apart from the TTL byte and checksum it patches; allocation-free.
     */
    static int route(ForwardingTable table, ByteBuffer buf, int offset, int length) {
        if (Ipv4Packet.validate(buf, offset, length) == Ipv4Packet.MALFORMED) {
            return ~CounterCells.MALFORMED;
        }
        int entry = table.find(Ipv4Packet.destination(buf, offset));
        if (entry < 0) {
            return ~CounterCells.NO_ROUTE;
        }
        if (Ipv4Packet.decrementTtl(buf, offset) == 0) {
            return ~CounterCells.TTL;
        }
        return entry;
    }

    void stop() {
        running = false;
    }

    @Override
    public void run() {
        while (running) {
            try {
                boolean drained = forwardBatch();
                if (drained && running) {
                    await(tun.intValue(), POLLIN, IDLE_POLL_MILLIS);
                }
            } catch (RuntimeException | IOException e) {
                if (!running) {
                    return;
                }
                // Nothing a packet does should get here; keep forwarding rather than lose the data path.
                counters.increment(CounterCells.IO_ERRORS);
                log.warn("TUN to UDP: {}", e.toString());
                await(tun.intValue(), POLLIN, IDLE_POLL_MILLIS);
            }
        }
    }

    /** Reads and routes up to a batch, sends it; true when the TUN device had nothing more to read. */
    private boolean forwardBatch() throws IOException {
        int n = 0;
        boolean drained = false;
        ForwardingTable current = table.get();
        while (n < batch) {
            int offset = n * SLOT;
            int length = tun.readAddress(packetsAddress, offset, offset + SLOT);
            if (length <= 0) {
                drained = true;
                break;
            }
            int verdict = route(current, packets, offset, length);
            if (verdict >= 0) {
                int addr = sockaddrs + n * SOCKADDR_IN;
                meta.putShort(addr + 2, htons(port));
                meta.putInt(addr + 4, htonl(current.publicIp(verdict)));
                meta.putLong(iovecs + n * IOVEC + 8, length);
                lengths[n] = length;
                n++;
            } else {
                int reason = ~verdict;
                counters.increment(reason);
                if (reason == CounterCells.NO_ROUTE) {
                    replyUnreachable(offset, length);
                }
            }
        }
        if (n > 0) {
            send(n);
        }
        return drained;
    }

    private void replyUnreachable(int offset, int length) {
        int headerLength = Ipv4Packet.headerLength(packets, offset);
        if (!IcmpUnreachable.mayReplyTo(packets, offset, headerLength, length)) {
            return;
        }
        int replyLength = IcmpUnreachable.write(packets, offset, headerLength, length, localAddress,
                metaNetworkOrder, icmp);
        try {
            tun.writeAddress(metaAddress, icmp, icmp + replyLength);
        } catch (IOException e) {
            counters.increment(CounterCells.IO_ERRORS);
        }
    }

    /**
     * Sends messages 0..n-1. sendmmsg stops at the first message that fails: a full socket buffer is waited out
     * briefly (a bounded number of times), any other error loses just that one message.
     */
    private void send(int n) {
        int sent = 0;
        int retries = 0;
        while (sent < n) {
            int result = sys.sendmmsg(socketFd, metaAddress + (long) sent * MMSGHDR, n - sent, 0);
            if (result > 0) {
                long bytes = 0;
                for (int i = sent; i < sent + result; i++) {
                    bytes += lengths[i];
                }
                counters.add(CounterCells.PACKETS, result);
                counters.add(CounterCells.BYTES, bytes);
                sent += result;
                continue;
            }
            int errno = Syscalls.Native.errno();
            if (errno == EINTR) {
                continue;
            }
            if ((errno == EAGAIN || errno == ENOBUFS) && retries++ < SEND_RETRIES) {
                await(socketFd, POLLOUT, 10);
                continue;
            }
            counters.increment(CounterCells.IO_ERRORS);
            sent++;
        }
    }

    private void await(int fd, short events, int timeoutMillis) {
        meta.putInt(pollfd, fd);
        meta.putShort(pollfd + 4, events);
        meta.putShort(pollfd + 6, (short) 0);
        sys.poll(metaAddress + pollfd, 1, timeoutMillis);
    }

    /** A 16-bit value in network order, as the native-order buffer must store it. */
    private static short htons(int value) {
        short s = (short) value;
        return ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? s : Short.reverseBytes(s);
    }

    private static int htonl(int value) {
        return ByteOrder.nativeOrder() == ByteOrder.BIG_ENDIAN ? value : Integer.reverseBytes(value);
    }
}
