package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * An open TUN device: a file descriptor on /dev/net/tun attached to a layer-3 interface. Packets the kernel routes to
 * the interface are read here; packets written here enter the kernel as if received on it.
 *
 * <p>Addresses, MTU and link state are set through {@link Rtnetlink} like for any other link. Unless
 * {@link TunOptions#persistent} asks for TUNSETPERSIST, the device exists while the descriptor is open, so closing it
 * removes the interface. A persistent device stays, with its addresses and routes, until it is deleted
 * ({@link Links#delete}, {@code ip link del}); opening its name again with the same flags attaches to it, and while
 * no descriptor is attached the kernel drops what is routed into it.
 */
public final class TunDevice implements AutoCloseable {
    private static final String CLONE_DEVICE = "/dev/net/tun";
    /** _IOW('T', 202, int) and _IOW('T', 208, unsigned int); the same on x86_64 and arm64. */
    private static final long TUNSETIFF = 0x400454caL;
    private static final long TUNSETOFFLOAD = 0x400454d0L;
    /** _IOW('T', 203, int): keep the device when its last descriptor closes (1), or not (0). */
    private static final long TUNSETPERSIST = 0x400454cbL;
    /** _IOW('T', 216, int): the size of the header before each packet with IFF_VNET_HDR. */
    private static final long TUNSETVNETHDRSZ = 0x400454d8L;
    /** sizeof(struct virtio_net_hdr), without the mergeable-buffers field: what TUN readers here expect. */
    public static final int VNET_HEADER_SIZE = 10;
    private static final short IFF_TUN = 0x0001;
    private static final short IFF_MULTI_QUEUE = 0x0100;
    private static final short IFF_NO_PI = 0x1000;
    private static final short IFF_VNET_HDR = 0x4000;
    /** struct ifreq: char ifr_name[IFNAMSIZ = 16], then a union whose first member is short ifr_flags. */
    private static final int IFREQ_SIZE = 40;
    private static final int IFNAMSIZ = 16;

    private final LibC libc;
    private final int fd;
    private final String name;
    private volatile boolean closed;

    private TunDevice(LibC libc, int fd, String name) {
        this.libc = libc;
        this.fd = fd;
        this.name = name;
    }

    /**
     * Creates the TUN device in the calling thread's network namespace, or attaches to an existing one of that name
     * (another queue of a multi-queue device, or a persistent device no descriptor holds).
     */
    public static TunDevice open(TunOptions options) {
        LibC libc = LibC.Native.libc();
        int flags = O_RDWR | O_CLOEXEC | (options.nonBlocking() ? O_NONBLOCK : 0);
        int fd = libc.open(CLONE_DEVICE, flags);
        if (fd < 0) {
            throw new ErrnoException("open(" + CLONE_DEVICE + ")", LibC.Native.errno());
        }
        try {
            String name = attach(libc, fd, options);
            if (options.vnetHeader()) {
                byte[] size = new byte[4];
                ByteBuffer.wrap(size).order(ByteOrder.nativeOrder()).putInt(0, VNET_HEADER_SIZE);
                if (libc.ioctl(fd, TUNSETVNETHDRSZ, size) < 0) {
                    throw new ErrnoException("ioctl(" + name + ", TUNSETVNETHDRSZ, " + VNET_HEADER_SIZE + ")",
                            LibC.Native.errno());
                }
            }
            if (options.offloadFlags().isPresent()) {
                int offload = options.offloadFlags().getAsInt();
                if (libc.ioctl(fd, TUNSETOFFLOAD, offload) < 0) {
                    throw new ErrnoException("ioctl(" + name + ", TUNSETOFFLOAD, 0x" + Integer.toHexString(offload)
                            + ")", LibC.Native.errno());
                }
            }
            // Last: a device this open created and could not set up vanishes with the descriptor.
            if (options.persistent() && libc.ioctl(fd, TUNSETPERSIST, 1L) < 0) {
                throw new ErrnoException("ioctl(" + name + ", TUNSETPERSIST, 1)", LibC.Native.errno());
            }
            return new TunDevice(libc, fd, name);
        } catch (RuntimeException e) {
            libc.close(fd);
            throw e;
        }
    }

    /** Opens the device inside the named network namespace; it stays there, usable from any thread. */
    public static TunDevice openInNamespace(String namespace, TunOptions options) {
        return NetworkNamespaces.callIn(namespace, () -> open(options));
    }

    private static String attach(LibC libc, int fd, TunOptions options) {
        short ifrFlags = (short) (IFF_TUN | IFF_NO_PI | (options.multiQueue() ? IFF_MULTI_QUEUE : 0)
                | (options.vnetHeader() ? IFF_VNET_HDR : 0));
        byte[] ifreq = new byte[IFREQ_SIZE];
        byte[] requested = options.name().getBytes(StandardCharsets.UTF_8);
        System.arraycopy(requested, 0, ifreq, 0, requested.length);
        ByteBuffer.wrap(ifreq).order(ByteOrder.nativeOrder()).putShort(IFNAMSIZ, ifrFlags);
        if (libc.ioctl(fd, TUNSETIFF, ifreq) < 0) {
            throw new ErrnoException("ioctl(" + options.name() + ", TUNSETIFF, flags 0x"
                    + Integer.toHexString(ifrFlags & 0xffff) + ")", LibC.Native.errno());
        }
        // The kernel writes the actual name back, which differs from the request when it was a pattern.
        int length = 0;
        while (length < IFNAMSIZ && ifreq[length] != 0) {
            length++;
        }
        return new String(ifreq, 0, length, StandardCharsets.UTF_8);
    }

    public int fd() {
        return fd;
    }

    /** The interface name the kernel gave the device. */
    public String name() {
        return name;
    }

    /**
     * Reads one packet into {@code dst} (a direct buffer) from its position; advances the position by the packet's
     * size and returns it, or returns 0 if the device is non-blocking and no packet is queued.
     */
    public int read(ByteBuffer dst) {
        requireDirect(dst);
        long n = libc.read(fd, dst.slice(), dst.remaining());
        if (n < 0) {
            int errno = LibC.Native.errno();
            if (errno == Errno.EAGAIN) {
                return 0;
            }
            throw new ErrnoException("read(" + name + ")", errno);
        }
        dst.position(dst.position() + (int) n);
        return (int) n;
    }

    /** Writes the packet between {@code src}'s position and limit (a direct buffer) and advances the position. */
    public int write(ByteBuffer src) {
        requireDirect(src);
        long n = libc.write(fd, src.slice(), src.remaining());
        if (n < 0) {
            throw new ErrnoException("write(" + name + ", " + src.remaining() + " bytes)", LibC.Native.errno());
        }
        src.position(src.position() + (int) n);
        return (int) n;
    }

    /** Waits up to {@code timeoutMillis} for a packet to read; true if one is queued. */
    public boolean awaitReadable(int timeoutMillis) {
        byte[] pollfd = new byte[8];
        ByteBuffer.wrap(pollfd).order(ByteOrder.nativeOrder()).putInt(0, fd).putShort(4, POLLIN);
        int ready = libc.poll(pollfd, 1, timeoutMillis);
        if (ready < 0) {
            int errno = LibC.Native.errno();
            if (errno == Errno.EINTR) {
                return false;
            }
            throw new ErrnoException("poll(" + name + ")", errno);
        }
        return ready > 0;
    }

    private static void requireDirect(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            throw new IllegalArgumentException("TUN I/O needs a direct ByteBuffer (the kernel reads its memory)");
        }
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            libc.close(fd);
        }
    }
}
