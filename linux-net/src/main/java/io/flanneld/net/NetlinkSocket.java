package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.*;
import static io.flanneld.net.NetlinkConstants.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An rtnetlink socket and the request/response protocol over it: every request carries NLM_F_ACK and waits for the
 * kernel's NLMSG_ERROR (0 = done, negative = errno); a dump collects multi-part replies until NLMSG_DONE.
 *
 * <p>One request is in flight at a time (methods are synchronized), so replies are never interleaved, and the send and
 * receive buffers are allocated once per socket. A receive timeout bounds every wait: the kernel answers rtnetlink
 * requests synchronously, so silence means something is badly wrong, not that it is slow.
 */
final class NetlinkSocket implements AutoCloseable {
    private final LongAdder requests = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private static final Logger LOG = LoggerFactory.getLogger(NetlinkSocket.class);

    private static final int SEND_BUFFER_SIZE = 8 * 1024;
    /** Dump datagrams are at most a few pages (the kernel sizes them from our buffer, capped at 32 KiB). */
    private static final int RECEIVE_BUFFER_SIZE = 64 * 1024;
    private static final int RECEIVE_TIMEOUT_SECONDS = 5;
    /** A dump that the kernel reports as interrupted by concurrent changes (NLM_F_DUMP_INTR) is retried this often. */
    private static final int DUMP_ATTEMPTS = 5;
    /** Upper bound on datagrams read for one request, so a confused exchange cannot loop forever. */
    private static final int MAX_DATAGRAMS_PER_REQUEST = 1_000_000;

    private final LibC libc;
    private final int fd;
    private final MessageWriter writer;
    private final ByteBuffer receiveBuffer;
    private final byte[] kernelAddress;
    private int sequence;
    private boolean closed;

    private NetlinkSocket(LibC libc, int fd) {
        this.libc = libc;
        this.fd = fd;
        this.writer = new MessageWriter(ByteBuffer.allocateDirect(SEND_BUFFER_SIZE));
        this.receiveBuffer = ByteBuffer.allocateDirect(RECEIVE_BUFFER_SIZE).order(ByteOrder.nativeOrder());
        this.kernelAddress = sockaddrNl(0, 0);
        this.sequence = (int) (System.nanoTime() & 0x3fff_ffff);
    }

    /** Opens a NETLINK_ROUTE socket in the calling thread's current network namespace. */
    static NetlinkSocket open() {
        LibC libc = LibC.Native.libc();
        int fd = openFd(libc, 0, RECEIVE_TIMEOUT_SECONDS);
        try {
            // Extended acks carry the kernel's reason text; capped acks keep it from echoing our whole request.
            // Both are optional (kernels before 4.12 lack EXT_ACK), so failing to set them is not an error.
            setOption(libc, fd, SOL_NETLINK, NETLINK_EXT_ACK, intValue(1), false);
            setOption(libc, fd, SOL_NETLINK, NETLINK_CAP_ACK, intValue(1), false);
        } catch (RuntimeException e) {
            libc.close(fd);
            throw e;
        }
        return new NetlinkSocket(libc, fd);
    }

    /**
     * A NETLINK_ROUTE socket bound to a kernel-assigned port id and to the multicast {@code groups} (0 for none, a
     * request socket), with a receive timeout and a 1 MiB receive buffer; closed again if any step fails.
     */
    static int openFd(LibC libc, int groups, int receiveTimeoutSeconds) {
        int fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        if (fd < 0) {
            throw new ErrnoException("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)", LibC.Native.errno());
        }
        try {
            // pid 0: the kernel assigns a unique port id.
            byte[] local = sockaddrNl(0, groups);
            if (libc.bind(fd, local, local.length) < 0) {
                throw new ErrnoException("bind(netlink socket" + (groups == 0 ? "" : ", groups " + groups) + ")", LibC.Native.errno());
            }
            setOption(libc, fd, SOL_SOCKET, SO_RCVTIMEO, timeval(receiveTimeoutSeconds), true);
            setOption(libc, fd, SOL_SOCKET, SO_RCVBUF, intValue(1024 * 1024), false);
        } catch (RuntimeException e) {
            libc.close(fd);
            throw e;
        }
        return fd;
    }

    private static void setOption(LibC libc, int fd, int level, int option, byte[] value, boolean required) {
        if (libc.setsockopt(fd, level, option, value, value.length) < 0) {
            int errno = LibC.Native.errno();
            if (required) {
                throw new ErrnoException("setsockopt(level " + level + ", option " + option + ")", errno);
            }
            LOG.debug("optional setsockopt(level {}, option {}) failed: {}", level, option, Errno.name(errno));
        }
    }

    /** struct sockaddr_nl: u16 family, u16 pad, u32 pid, u32 groups. */
    private static byte[] sockaddrNl(int pid, int groups) {
        return ByteBuffer.allocate(12).order(ByteOrder.nativeOrder())
                .putShort((short) AF_NETLINK).putShort((short) 0).putInt(pid).putInt(groups).array();
    }

    private static byte[] timeval(long seconds) {
        return ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(seconds).putLong(0).array();
    }

    private static byte[] intValue(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(value).array();
    }

    /**
     * Sends a request (built with NLM_F_ACK) and waits for the kernel's acknowledgement. The request is built by
     * {@code request} into the socket's buffer while the socket is locked, so concurrent callers cannot clobber it.
     */
    /** Requests sent and requests that failed, for the daemon's metrics. */
    long requestCount() {
        return requests.sum();
    }

    long errorCount() {
        return errors.sum();
    }

    synchronized void execute(Function<MessageWriter, ByteBuffer> request, Supplier<String> operation) {
        requests.increment();
        try {
            exchange(request.apply(writer), operation, message -> null);
        } catch (RuntimeException e) {
            errors.increment();
            throw e;
        }
    }

    /**
     * Sends a get request (not a dump) and returns the single reply, decoded; empty when the kernel answers
     * {@code absentErrno} (e.g. ENODEV for a link that does not exist).
     */
    synchronized <T> Optional<T> get(Function<MessageWriter, ByteBuffer> request, Supplier<String> operation,
                                     int absentErrno, Function<NetlinkMessage, T> decoder) {
        requests.increment();
        try {
            List<T> replies = exchange(request.apply(writer), operation, decoder);
            if (replies.size() != 1) {
                throw new MalformedMessageException(operation.get() + ": expected one reply, got " + replies.size());
            }
            return Optional.of(replies.get(0));
        } catch (NetlinkException e) {
            if (e.errno() == absentErrno) {
                return Optional.empty();
            }
            errors.increment();
            throw e;
        } catch (RuntimeException e) {
            errors.increment();
            throw e;
        }
    }

    /**
     * Sends a dump request and decodes every reply until NLMSG_DONE. The decoder returns empty for messages the
     * caller does not want. A dump interrupted by concurrent changes is repeated, so the result is consistent.
     */
    synchronized <T> List<T> dump(Function<MessageWriter, ByteBuffer> request, Supplier<String> operation,
                                  Function<NetlinkMessage, Optional<T>> decoder) {
        requests.increment();
        try {
            return dumpConsistent(request, operation, decoder);
        } catch (RuntimeException e) {
            errors.increment();
            throw e;
        }
    }

    private <T> List<T> dumpConsistent(Function<MessageWriter, ByteBuffer> request, Supplier<String> operation,
                                       Function<NetlinkMessage, Optional<T>> decoder) {
        for (int attempt = 1; ; attempt++) {
            DumpResult<T> result = dumpOnce(request.apply(writer), operation, decoder);
            if (!result.interrupted) {
                return result.items;
            }
            if (attempt == DUMP_ATTEMPTS) {
                throw new NetlinkException(operation.get(), Errno.EINTR,
                        "dump was interrupted by concurrent changes " + DUMP_ATTEMPTS + " times");
            }
            LOG.debug("{}: dump interrupted by concurrent changes, retrying", operation.get());
        }
    }

    private record DumpResult<T>(List<T> items, boolean interrupted) {
    }

    private <T> DumpResult<T> dumpOnce(ByteBuffer request, Supplier<String> operation,
                                       Function<NetlinkMessage, Optional<T>> decoder) {
        int seq = send(request, operation);
        List<T> items = new ArrayList<>();
        boolean interrupted = false;
        for (int datagrams = 0; datagrams < MAX_DATAGRAMS_PER_REQUEST; datagrams++) {
            for (NetlinkMessage message : receive(operation)) {
                if (message.seq() != seq) {
                    continue; // left over from an earlier request that failed half-way
                }
                if ((message.flags() & NLM_F_DUMP_INTR) != 0) {
                    interrupted = true;
                }
                switch (message.type()) {
                    case NLMSG_DONE:
                        checkDoneStatus(message, operation);
                        return new DumpResult<>(items, interrupted);
                    case NLMSG_ERROR:
                        throwIfError(message, operation);
                        break; // a stray ack: ignore
                    case NLMSG_NOOP:
                        break;
                    case NLMSG_OVERRUN:
                        throw new NetlinkException(operation.get(), Errno.ENOBUFS, "netlink overrun");
                    default:
                        decoder.apply(message).ifPresent(items::add);
                }
            }
        }
        throw new IllegalStateException(operation.get() + ": no NLMSG_DONE after " + MAX_DATAGRAMS_PER_REQUEST
                + " datagrams");
    }

    /** Sends, then reads replies until the ack; the decoder sees every non-control reply in between. */
    private <T> List<T> exchange(ByteBuffer request, Supplier<String> operation, Function<NetlinkMessage, T> decoder) {
        int seq = send(request, operation);
        List<T> replies = new ArrayList<>();
        for (int datagrams = 0; datagrams < MAX_DATAGRAMS_PER_REQUEST; datagrams++) {
            for (NetlinkMessage message : receive(operation)) {
                if (message.seq() != seq) {
                    continue;
                }
                if (message.type() == NLMSG_ERROR) {
                    throwIfError(message, operation);
                    return replies; // error 0: the acknowledgement
                }
                if (message.type() == NLMSG_DONE || message.type() == NLMSG_NOOP) {
                    continue;
                }
                T reply = decoder.apply(message);
                if (reply != null) {
                    replies.add(reply);
                }
            }
        }
        throw new IllegalStateException(operation.get() + ": no acknowledgement after " + MAX_DATAGRAMS_PER_REQUEST
                + " datagrams");
    }

    private int send(ByteBuffer request, Supplier<String> operation) {
        ensureOpen();
        int seq = ++sequence;
        ByteBuffer message = request.duplicate().order(ByteOrder.nativeOrder());
        message.putInt(message.position() + 8, seq);
        ByteBuffer direct = message;
        if (!message.isDirect()) {
            direct = ByteBuffer.allocateDirect(message.remaining());
            direct.put(message.duplicate()).flip();
        }
        long sent = libc.sendto(fd, direct, direct.remaining(), 0, kernelAddress, kernelAddress.length);
        if (sent < 0) {
            throw new ErrnoException(operation.get() + ": sendto", LibC.Native.errno());
        }
        if (sent != direct.remaining()) {
            throw new IllegalStateException(operation.get() + ": sent " + sent + " of " + direct.remaining() + " bytes");
        }
        return seq;
    }

    private List<NetlinkMessage> receive(Supplier<String> operation) {
        receiveBuffer.clear();
        // MSG_TRUNC: the datagram's real length even if it did not fit, so truncation is detected.
        long length = libc.recv(fd, receiveBuffer, receiveBuffer.capacity(), MSG_TRUNC);
        if (length < 0) {
            int errno = LibC.Native.errno();
            String what = errno == Errno.EAGAIN ? ": no reply within " + RECEIVE_TIMEOUT_SECONDS + " s" : ": recv";
            throw new ErrnoException(operation.get() + what, errno);
        }
        if (length > receiveBuffer.capacity()) {
            throw new MalformedMessageException(operation.get() + ": reply of " + length + " bytes exceeds the "
                    + receiveBuffer.capacity() + "-byte receive buffer");
        }
        receiveBuffer.limit((int) length);
        return NetlinkMessage.split(receiveBuffer);
    }

    /**
     * struct nlmsgerr: s32 error, then the request's nlmsghdr (and, unless NLM_F_CAPPED, its payload), then
     * extended-ack attributes if NLM_F_ACK_TLVS.
     */
    static void throwIfError(NetlinkMessage message, Supplier<String> operation) {
        ByteBuffer payload = message.requireStruct("nlmsgerr", 4);
        int error = payload.getInt(0);
        if (error == 0) {
            return;
        }
        // Read the explanation first: describing the operation may itself query the kernel and reuse the buffer.
        String kernelMessage = extendedAckMessage(message);
        throw new NetlinkException(operation.get(), -error, kernelMessage);
    }

    private static String extendedAckMessage(NetlinkMessage message) {
        if ((message.flags() & NLM_F_ACK_TLVS) == 0) {
            return "";
        }
        ByteBuffer payload = message.payload();
        int offset = 4 + NLMSG_HDRLEN;
        if (payload.limit() < offset) {
            return "";
        }
        if ((message.flags() & NLM_F_CAPPED) == 0) {
            offset = 4 + align(payload.getInt(4));
        }
        if (offset > payload.limit()) {
            return "";
        }
        try {
            Attributes attrs = Attributes.parse(payload.slice(offset, payload.limit() - offset), "extended ack");
            return attrs.string(NLMSGERR_ATTR_MSG).orElse("");
        } catch (MalformedMessageException e) {
            return ""; // the errno itself is what matters; a garbled explanation is not worth failing over
        }
    }

    /** NLMSG_DONE of a dump carries an int: negative if the dump failed part-way. */
    private static void checkDoneStatus(NetlinkMessage message, Supplier<String> operation) {
        if (message.payload().limit() >= 4) {
            int status = message.payload().getInt(0);
            if (status < 0) {
                throw new NetlinkException(operation.get(), -status, "dump failed");
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("netlink socket is closed");
        }
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            libc.close(fd);
        }
    }
}
