package io.flanneld.udp;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound direction, on its own thread (the inbound one has another, so the two use both cores): read packets
 * from flannel0, look each destination up in the forwarding table, decrement its TTL and send it as the whole
 * payload of a datagram to the owning peer's PublicIP.
 *
 * <p>With offloads ({@link Offloads#tso}) the TUN device hands over TCP super-packets of up to 64 KiB behind a
 * virtio_net_hdr (and UDP ones with {@link Offloads#uso}); {@link TcpSegmenter} cuts them into ordinary packets, back
 * to back in the send arena. With UDP GSO
 * ({@link Offloads#udpGso}) the segments of one super-packet go out as one message carrying a UDP_SEGMENT control
 * message, which the kernel splits into one datagram per segment; without it each segment is its own message.
 *
 * <p>Batched: the loop reads until the non-blocking TUN device is empty or the arena is nearly full, then sends
 * everything with one {@code sendmmsg}; each message has its own destination. Every buffer (input, arena, the
 * mmsghdr/iovec/sockaddr_in/cmsg arrays, the pollfd, the ICMP scratch) is native memory allocated once here; the
 * steady state allocates nothing.
 */
final class TunToUdp implements Runnable {
    private static final Logger log = LoggerFactory.getLogger(TunToUdp.class);

    /** Messages per sendmmsg at most. */
    static final int MAX_MESSAGES = 256;
    /** The send arena: several super-packets' segments. */
    static final int ARENA = 512 * 1024;
    /** What one read can add to the arena at worst: 64 KiB of payload plus a copy of the headers per segment. */
    private static final int WORST_READ = 65535 + TcpSegmenter.MAX_SEGMENTS * 120;
    /** UDP GSO limits: segments per send (UDP_MAX_SEGMENTS on older kernels) and the datagram payload. */
    private static final int GSO_MAX_SEGMENTS = 64;
    private static final int GSO_MAX_BYTES = 65507;
    private static final int IDLE_POLL_MILLIS = 100;
    private static final int SEND_RETRIES = 8;

    private static final int MMSGHDR = 64;
    private static final int IOVEC = 16;
    private static final int SOCKADDR_IN = 16;
    /** CMSG_SPACE(sizeof(uint16_t)): cmsghdr (len 8, level 4, type 4) and the segment size, padded to 8. */
    private static final int CMSG = 24;
    private static final int POLLFD = 8;
    private static final short AF_INET = 2;
    private static final int SOL_UDP = 17;
    private static final int UDP_SEGMENT = 103;
    private static final short POLLIN = 0x1;
    private static final short POLLOUT = 0x4;
    private static final int EAGAIN = 11;
    private static final int EINTR = 4;
    private static final int EIO = 5;
    private static final int EINVAL = 22;
    private static final int ENOBUFS = 105;

    private final int tunFd;
    private final int socketFd;
    private final int port;
    private final int localAddress;
    private final AtomicReference<ForwardingTable> table;
    private final CounterCells counters;
    private final Syscalls sys = Syscalls.Native.get();
    private final boolean vnetHeader;
    private final int headerRoom;
    private final int messageLimit;
    private volatile boolean udpGso;

    /** One read: the vnet header (if any) at 0, the packet behind it. */
    private final ByteBuffer in = ByteBuffer.allocateDirect(VirtioNetHeader.SIZE + 65536);
    private final ByteBuffer inLe = Checksum.littleEndian(in);
    private final long inAddress = Syscalls.Native.address(in);
    private final ByteBuffer arena = ByteBuffer.allocateDirect(ARENA);
    private final ByteBuffer arenaLe = Checksum.littleEndian(arena);
    private final long arenaAddress = Syscalls.Native.address(arena);
    /** mmsghdr[], iovec[], sockaddr_in[], cmsg[], one pollfd, then the ICMP reply scratch (vnet header first). */
    private final ByteBuffer meta = ByteBuffer.allocateDirect(MAX_MESSAGES * (MMSGHDR + IOVEC + SOCKADDR_IN + CMSG)
            + POLLFD + VirtioNetHeader.SIZE + IcmpUnreachable.MAX_LENGTH).order(ByteOrder.nativeOrder());
    private final long metaAddress = Syscalls.Native.address(meta);
    /** The same memory in network byte order, for the ICMP reply (the kernel structs above are in native order). */
    private final ByteBuffer metaNetworkOrder = meta.duplicate().order(ByteOrder.BIG_ENDIAN);
    private final int iovecs = MAX_MESSAGES * MMSGHDR;
    private final int sockaddrs = iovecs + MAX_MESSAGES * IOVEC;
    private final int cmsgs = sockaddrs + MAX_MESSAGES * SOCKADDR_IN;
    private final int pollfd = cmsgs + MAX_MESSAGES * CMSG;
    private final int icmp = pollfd + POLLFD + VirtioNetHeader.SIZE;
    /** Per message: inner packets and their bytes (for the counters), segment size if sent with UDP GSO, else 0. */
    private final int[] messagePackets = new int[MAX_MESSAGES];
    private final int[] messageBytes = new int[MAX_MESSAGES];
    private final int[] messageSegment = new int[MAX_MESSAGES];
    private final TcpSegmenter segmenter = new TcpSegmenter();

    private int messages;
    private int arenaUsed;
    private volatile boolean running = true;

    /**
     * @param batch packets per sendmmsg at most without offloads (1 turns batching off, to measure it)
     */
    TunToUdp(int tunFd, int socketFd, int port, int localAddress, AtomicReference<ForwardingTable> table,
             CounterCells counters, Offloads offloads, int batch) {
        this.tunFd = tunFd;
        this.socketFd = socketFd;
        this.port = port;
        this.localAddress = localAddress;
        this.table = table;
        this.counters = counters;
        this.vnetHeader = offloads.tso();
        this.headerRoom = vnetHeader ? VirtioNetHeader.SIZE : 0;
        this.udpGso = offloads.udpGso();
        this.messageLimit = Math.max(1, Math.min(MAX_MESSAGES, batch));
        for (int i = 0; i < MAX_MESSAGES; i++) {
            int hdr = i * MMSGHDR;
            meta.putLong(hdr, metaAddress + sockaddrs + (long) i * SOCKADDR_IN);   // msg_name
            meta.putInt(hdr + 8, SOCKADDR_IN);                                     // msg_namelen
            meta.putLong(hdr + 16, metaAddress + iovecs + (long) i * IOVEC);       // msg_iov
            meta.putLong(hdr + 24, 1);                                             // msg_iovlen
            meta.putShort(sockaddrs + i * SOCKADDR_IN, AF_INET);                   // sin_family (host order)
            int c = cmsgs + i * CMSG;
            meta.putLong(c, 18);                                                   // cmsg_len = CMSG_LEN(2)
            meta.putInt(c + 8, SOL_UDP);
            meta.putInt(c + 12, UDP_SEGMENT);
        }
        meta.putLong(icmp - VirtioNetHeader.SIZE, 0L);                             // a plain vnet header
        meta.putShort(icmp - 2, (short) 0);
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

    /** Whether sends still use UDP GSO (it is dropped for good if the kernel refuses a segmented send). */
    boolean udpGso() {
        return udpGso;
    }

    @Override
    public void run() {
        while (running) {
            try {
                boolean drained = forwardBatch();
                if (drained && running) {
                    await(tunFd, POLLIN, IDLE_POLL_MILLIS);
                }
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                // Nothing a packet does should get here; keep forwarding rather than lose the data path.
                counters.increment(CounterCells.IO_ERRORS);
                log.warn("TUN to UDP: {}", e.toString());
                messages = 0;
                arenaUsed = 0;
                await(tunFd, POLLIN, IDLE_POLL_MILLIS);
            }
        }
    }

    /** Reads and routes until the TUN device is empty or the arena is full, sends; true when it was empty. */
    private boolean forwardBatch() {
        boolean drained = false;
        ForwardingTable current = table.get();
        messages = 0;
        arenaUsed = 0;
        while (messages + TcpSegmenter.MAX_SEGMENTS <= MAX_MESSAGES && messages < messageLimit
                && arenaUsed + WORST_READ <= ARENA) {
            long n = sys.read(tunFd, inAddress, in.capacity());
            if (n <= 0) {
                if (n < 0 && Syscalls.Native.errno() != EAGAIN && Syscalls.Native.errno() != EINTR) {
                    counters.increment(CounterCells.IO_ERRORS);
                }
                drained = true;
                break;
            }
            handle((int) n, current);
        }
        if (messages > 0) {
            send();
        }
        return drained;
    }

    private void handle(int read, ForwardingTable current) {
        int p = headerRoom;
        int length = read - headerRoom;
        if (length <= 0) {
            counters.increment(CounterCells.MALFORMED);
            return;
        }
        int verdict = route(current, in, p, length);
        if (verdict < 0) {
            int reason = ~verdict;
            counters.increment(reason);
            if (reason == CounterCells.NO_ROUTE) {
                replyUnreachable(p, length);
            }
            return;
        }
        int peer = current.publicIp(verdict);
        int gsoType = vnetHeader ? VirtioNetHeader.gsoType(inLe, 0) & ~VirtioNetHeader.GSO_ECN
                : VirtioNetHeader.GSO_NONE;
        if (gsoType == VirtioNetHeader.GSO_TCPV4) {
            int written = segmenter.segment(in, inLe, p, length, VirtioNetHeader.gsoSize(inLe, 0),
                    arena, arenaLe, arenaUsed, ARENA - arenaUsed);
            if (written < 0) {
                counters.increment(CounterCells.MALFORMED);
                return;
            }
            queueSegments(peer, written, segmenter.segments(), segmenter.segmentSize());
        } else if (gsoType == VirtioNetHeader.GSO_UDP_L4) {
            int written = segmenter.segmentUdp(in, inLe, p, length, VirtioNetHeader.gsoSize(inLe, 0),
                    arena, arenaLe, arenaUsed, ARENA - arenaUsed);
            if (written < 0) {
                counters.increment(CounterCells.MALFORMED);
                return;
            }
            queueSegments(peer, written, segmenter.segments(), segmenter.segmentSize());
        } else if (gsoType == VirtioNetHeader.GSO_NONE) {
            if (vnetHeader && (VirtioNetHeader.flags(inLe, 0) & VirtioNetHeader.F_NEEDS_CSUM) != 0
                    && TcpSegmenter.completeChecksum(in, inLe, p, length, VirtioNetHeader.csumStart(inLe, 0),
                    VirtioNetHeader.csumOffset(inLe, 0)) < 0) {
                counters.increment(CounterCells.MALFORMED);
                return;
            }
            arena.put(arenaUsed, in, p, length);
            queue(peer, arenaUsed, length, 1, length, 0);
            arenaUsed += length;
        } else {
            counters.increment(CounterCells.MALFORMED);        // a GSO type this device was never offered
        }
    }

    /** Queues {@code bytes} of segments at the arena's end: a few UDP GSO messages, or one message per segment. */
    private void queueSegments(int peer, int bytes, int count, int size) {
        int start = arenaUsed;
        int end = start + bytes;
        if (udpGso && count > 1) {
            int perMessage = Math.min(GSO_MAX_SEGMENTS, GSO_MAX_BYTES / size);
            for (int at = start; at < end; ) {
                int take = Math.min(end - at, perMessage * size);
                int packets = (take + size - 1) / size;
                queue(peer, at, take, packets, take, packets > 1 ? size : 0);
                at += take;
            }
        } else {
            for (int at = start; at < end; at += size) {
                int take = Math.min(size, end - at);
                queue(peer, at, take, 1, take, 0);
            }
        }
        arenaUsed = end;
    }

    private void queue(int peer, int arenaOffset, int length, int packets, int innerBytes, int gsoSegment) {
        int i = messages++;
        int addr = sockaddrs + i * SOCKADDR_IN;
        meta.putShort(addr + 2, htons(port));
        meta.putInt(addr + 4, htonl(peer));
        int iov = iovecs + i * IOVEC;
        meta.putLong(iov, arenaAddress + arenaOffset);
        meta.putLong(iov + 8, length);
        int hdr = i * MMSGHDR;
        if (gsoSegment > 0) {
            int c = cmsgs + i * CMSG;
            meta.putShort(c + 16, (short) gsoSegment);
            meta.putLong(hdr + 32, metaAddress + c);                               // msg_control
            meta.putLong(hdr + 40, CMSG);                                          // msg_controllen
        } else {
            meta.putLong(hdr + 32, 0L);
            meta.putLong(hdr + 40, 0L);
        }
        messagePackets[i] = packets;
        messageBytes[i] = innerBytes;
        messageSegment[i] = gsoSegment;
    }

    private void replyUnreachable(int offset, int length) {
        int headerLength = Ipv4Packet.headerLength(in, offset);
        if (!IcmpUnreachable.mayReplyTo(in, offset, headerLength, length)) {
            return;
        }
        int replyLength = IcmpUnreachable.write(in, offset, headerLength, length, localAddress,
                metaNetworkOrder, icmp);
        long from = metaAddress + icmp - headerRoom;
        if (sys.write(tunFd, from, replyLength + headerRoom) < 0) {
            counters.increment(CounterCells.IO_ERRORS);
        }
    }

    /**
     * Sends the queued messages. sendmmsg stops at the first message that fails: a full socket buffer is waited out
     * briefly (a bounded number of times); a UDP GSO message the kernel refuses (no checksum offload on the way out)
     * turns UDP GSO off and is sent segment by segment; any other error loses just that one message.
     */
    private void send() {
        int sent = 0;
        int retries = 0;
        while (sent < messages) {
            int result = sys.sendmmsg(socketFd, metaAddress + (long) sent * MMSGHDR, messages - sent, 0);
            if (result > 0) {
                for (int i = sent; i < sent + result; i++) {
                    counters.add(CounterCells.PACKETS, messagePackets[i]);
                    counters.add(CounterCells.BYTES, messageBytes[i]);
                }
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
            if ((errno == EIO || errno == EINVAL) && messageSegment[sent] > 0) {
                if (udpGso) {
                    udpGso = false;
                    log.warn("udp backend: the kernel refused a UDP GSO send (errno {}); sending one datagram per "
                            + "packet from now on", errno);
                }
                sendSegmentBySegment(sent);
            } else {
                counters.increment(CounterCells.IO_ERRORS);
            }
            sent++;
        }
    }

    /** Sends message {@code message}'s segments one datagram each, through its own msghdr with no control. */
    private void sendSegmentBySegment(int message) {
        int hdr = message * MMSGHDR;
        int iov = iovecs + message * IOVEC;
        long base = meta.getLong(iov);
        long length = meta.getLong(iov + 8);
        int size = messageSegment[message];
        meta.putLong(hdr + 32, 0L);                                                // msg_control
        meta.putLong(hdr + 40, 0L);                                                // msg_controllen
        for (long at = 0; at < length; at += size) {
            long take = Math.min(size, length - at);
            meta.putLong(iov, base + at);
            meta.putLong(iov + 8, take);
            if (sys.sendmsg(socketFd, metaAddress + hdr, 0) < 0) {
                counters.increment(CounterCells.IO_ERRORS);
            } else {
                counters.increment(CounterCells.PACKETS);
                counters.add(CounterCells.BYTES, take);
            }
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
