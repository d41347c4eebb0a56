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
 * {@link MessageBatch} of mmsghdr/iovec/sockaddr_in/cmsg, the {@link PollFd}, the ICMP scratch) is native memory
 * allocated once here; the steady state allocates nothing.
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

    private final int tunFd;
    private final int socketFd;
    private final int port;
    private final int localAddress;
    private final AtomicReference<ForwardingTable> table;
    private final CounterCells counters;
    private final LibC sys = LibC.Native.libc();
    private final boolean vnetHeader;
    private final int headerRoom;
    private final int messageLimit;
    private volatile boolean udpGso;

    /** One read: the vnet header (if any) at 0, the packet behind it. */
    private final ByteBuffer in = ByteBuffer.allocateDirect(VirtioNetHeader.SIZE + 65536);
    private final ByteBuffer inLe = Checksum.littleEndian(in);
    private final long inAddress = LibC.Native.address(in);
    private final ByteBuffer arena = ByteBuffer.allocateDirect(ARENA);
    private final ByteBuffer arenaLe = Checksum.littleEndian(arena);
    private final long arenaAddress = LibC.Native.address(arena);
    /** The sendmmsg messages, each pointing into the arena. */
    private final MessageBatch batch = new MessageBatch(MAX_MESSAGES);
    private final PollFd pollFd = new PollFd();
    /** The ICMP reply scratch: a plain (zero) vnet header, then the reply, written in network order. */
    private final ByteBuffer icmpScratch = ByteBuffer.allocateDirect(VirtioNetHeader.SIZE + IcmpUnreachable.MAX_LENGTH);
    private final long icmpScratchAddress = LibC.Native.address(icmpScratch);
    private final int icmp = VirtioNetHeader.SIZE;
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
                    pollFd.await(tunFd, LinuxAbi.POLLIN, IDLE_POLL_MILLIS);
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
                pollFd.await(tunFd, LinuxAbi.POLLIN, IDLE_POLL_MILLIS);
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
                if (n < 0 && LibC.Native.errno() != Errno.EAGAIN && LibC.Native.errno() != Errno.EINTR) {
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
        batch.setDestination(i, peer, port);
        batch.setIov(i, arenaAddress + arenaOffset, length);
        batch.setUdpSegment(i, gsoSegment);
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
                icmpScratch, icmp);
        long from = icmpScratchAddress + icmp - headerRoom;
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
            int result = sys.sendmmsg(socketFd, batch.address(sent), messages - sent, 0);
            if (result > 0) {
                for (int i = sent; i < sent + result; i++) {
                    counters.add(CounterCells.PACKETS, messagePackets[i]);
                    counters.add(CounterCells.BYTES, messageBytes[i]);
                }
                sent += result;
                continue;
            }
            int errno = LibC.Native.errno();
            if (errno == Errno.EINTR) {
                continue;
            }
            if ((errno == Errno.EAGAIN || errno == Errno.ENOBUFS) && retries++ < SEND_RETRIES) {
                pollFd.await(socketFd, LinuxAbi.POLLOUT, 10);
                continue;
            }
            if ((errno == Errno.EIO || errno == Errno.EINVAL) && messageSegment[sent] > 0) {
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
        long base = batch.iovBase(message);
        long length = batch.iovLength(message);
        int size = messageSegment[message];
        batch.clearControl(message);
        for (long at = 0; at < length; at += size) {
            long take = Math.min(size, length - at);
            batch.setIov(message, base + at, take);
            if (sys.sendmsg(socketFd, batch.address(message), 0) < 0) {
                counters.increment(CounterCells.IO_ERRORS);
            } else {
                counters.increment(CounterCells.PACKETS);
                counters.add(CounterCells.BYTES, take);
            }
        }
    }
}
