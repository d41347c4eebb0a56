package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A batch of datagram messages for {@code sendmmsg}/{@code recvmmsg} (and {@code sendmsg} of one of them), as a
 * flyweight over one direct buffer allocated here: {@code capacity} struct mmsghdr, then as many struct iovec, struct
 * sockaddr_in and control-message slots (each CMSG_SPACE of an int, room for one UDP_SEGMENT or UDP_GRO message).
 * Every message is wired once to its own address slot and its own single iovec; the data the iovecs point at belongs
 * to the caller.
 *
 * <p>The accessors read and write the kernel's structs in place with absolute indices: nothing here allocates after
 * construction, so a forwarding loop can use it per packet. Not thread-safe: one loop owns a batch.
 */
public final class MessageBatch {
    /** Room for one control message carrying an int (UDP_GRO) or a u16 (UDP_SEGMENT). */
    public static final int CONTROL_SLOT = cmsgSpace(4);

    private final int capacity;
    private final ByteBuffer memory;
    /** The same memory in network byte order, for sockaddr_in's port and address. */
    private final ByteBuffer networkOrder;
    private final long address;
    private final int iovecs;
    private final int names;
    private final int controls;

    public MessageBatch(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("a batch holds at least one message: " + capacity);
        }
        this.capacity = capacity;
        this.iovecs = capacity * MMSGHDR_SIZE;
        this.names = iovecs + capacity * IOVEC_SIZE;
        this.controls = names + capacity * SOCKADDR_IN_SIZE;
        this.memory = ByteBuffer.allocateDirect(controls + capacity * CONTROL_SLOT).order(ByteOrder.nativeOrder());
        this.networkOrder = memory.duplicate().order(ByteOrder.BIG_ENDIAN);
        this.address = LibC.Native.address(memory);
        for (int i = 0; i < capacity; i++) {
            int hdr = header(i);
            memory.putLong(hdr + MSG_NAME, address + name(i));
            memory.putInt(hdr + MSG_NAMELEN, SOCKADDR_IN_SIZE);
            memory.putLong(hdr + MSG_IOV, address + iovec(i));
            memory.putLong(hdr + MSG_IOVLEN, 1);
        }
    }

    public int capacity() {
        return capacity;
    }

    /** The native address of message {@code i}'s mmsghdr (also a msghdr, for sendmsg); of the array at i = 0. */
    public long address(int i) {
        return address + header(i);
    }

    /** Message {@code i} sends (or receives into) {@code length} bytes at native address {@code base}. */
    public void setIov(int i, long base, long length) {
        int iov = iovec(i);
        memory.putLong(iov + IOV_BASE, base);
        memory.putLong(iov + IOV_LEN, length);
    }

    public long iovBase(int i) {
        return memory.getLong(iovec(i) + IOV_BASE);
    }

    public long iovLength(int i) {
        return memory.getLong(iovec(i) + IOV_LEN);
    }

    /** Message {@code i} goes to IPv4 {@code ip}:{@code port} (sin_family AF_INET). */
    public void setDestination(int i, int ip, int port) {
        int name = name(i);
        memory.putShort(name + SIN_FAMILY, (short) AF_INET);
        networkOrder.putShort(name + SIN_PORT, (short) port);
        networkOrder.putInt(name + SIN_ADDR, ip);
    }

    /** The IPv4 address message {@code i} came from (after a receive). */
    public int sourceAddress(int i) {
        return networkOrder.getInt(name(i) + SIN_ADDR);
    }

    /** The port message {@code i} came from (after a receive). */
    public int sourcePort(int i) {
        return networkOrder.getShort(name(i) + SIN_PORT) & 0xffff;
    }

    public int nameLength(int i) {
        return memory.getInt(header(i) + MSG_NAMELEN);
    }

    public long controlLength(int i) {
        return memory.getLong(header(i) + MSG_CONTROLLEN);
    }

    /** Bytes sent or received for message {@code i} (msg_len, written by the kernel). */
    public int msgLen(int i) {
        return memory.getInt(header(i) + MSG_LEN);
    }

    /** msg_flags of message {@code i} after a receive, e.g. {@link LinuxAbi#MSG_TRUNC}. */
    public int flags(int i) {
        return memory.getInt(header(i) + MSG_FLAGS);
    }

    /**
     * Before a recvmmsg of the first {@code count} messages: the kernel overwrites msg_namelen and msg_controllen
     * with what it used, so both are set back to their slots' sizes, and each message's control slot is offered.
     */
    public void resetForReceive(int count) {
        for (int i = 0; i < count; i++) {
            int hdr = header(i);
            memory.putInt(hdr + MSG_NAMELEN, SOCKADDR_IN_SIZE);
            memory.putLong(hdr + MSG_CONTROL, address + control(i));
            memory.putLong(hdr + MSG_CONTROLLEN, CONTROL_SLOT);
        }
    }

    /**
     * The UDP_GRO segment size the kernel reported for received message {@code i}: the size of every datagram it
     * joined there but the last; 0 when the message carries none (it came alone).
     */
    public int groSegmentSize(int i) {
        int c = control(i);
        if (controlLength(i) >= cmsgLen(4) && memory.getInt(c + CMSG_LEVEL) == SOL_UDP
                && memory.getInt(c + CMSG_TYPE) == UDP_GRO) {
            return Math.max(0, memory.getInt(c + CMSG_DATA));
        }
        return 0;
    }

    /**
     * Message {@code i} is sent with UDP GSO, the kernel cutting it into datagrams of {@code segmentSize} bytes: a
     * UDP_SEGMENT control message. 0 sends it as one datagram, without control message.
     */
    public void setUdpSegment(int i, int segmentSize) {
        int hdr = header(i);
        if (segmentSize <= 0) {
            clearControl(i);
            return;
        }
        int c = control(i);
        memory.putLong(c + CMSG_LEN_OFFSET, cmsgLen(2));
        memory.putInt(c + CMSG_LEVEL, SOL_UDP);
        memory.putInt(c + CMSG_TYPE, UDP_SEGMENT);
        memory.putShort(c + CMSG_DATA, (short) segmentSize);
        memory.putLong(hdr + MSG_CONTROL, address + c);
        memory.putLong(hdr + MSG_CONTROLLEN, CONTROL_SLOT);
    }

    /** Message {@code i} carries no control message. */
    public void clearControl(int i) {
        int hdr = header(i);
        memory.putLong(hdr + MSG_CONTROL, 0L);
        memory.putLong(hdr + MSG_CONTROLLEN, 0L);
    }

    /** The memory itself, for the layout test. */
    ByteBuffer memory() {
        return memory;
    }

    /** Offset of message {@code i}'s control slot in {@link #memory()}. */
    int controlOffset(int i) {
        return control(i);
    }

    private static int header(int i) {
        return i * MMSGHDR_SIZE;
    }

    private int iovec(int i) {
        return iovecs + i * IOVEC_SIZE;
    }

    private int name(int i) {
        return names + i * SOCKADDR_IN_SIZE;
    }

    private int control(int i) {
        return controls + i * CONTROL_SLOT;
    }
}
