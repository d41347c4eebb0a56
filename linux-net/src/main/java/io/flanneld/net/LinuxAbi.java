package io.flanneld.net;

/**
 * The Linux numbers and struct layouts the {@link LibC} calls take, in one place (errno numbers are in
 * {@link Errno}, rtnetlink's message numbers in the codec's own constants). Values are those of x86_64 and arm64,
 * which share the generic socket, fcntl and poll numbers and the LP64 struct layouts below.
 */
public final class LinuxAbi {
    private LinuxAbi() {
    }

    // Address families (sys/socket.h).
    public static final int AF_UNSPEC = 0;
    public static final int AF_UNIX = 1;
    public static final int AF_INET = 2;
    public static final int AF_BRIDGE = 7;
    public static final int AF_INET6 = 10;
    public static final int AF_NETLINK = 16;

    // Socket types and their flags.
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_NONBLOCK = 0x800;
    public static final int SOCK_CLOEXEC = 0x80000;

    /** IPPROTO_UDP, also the UDP socket option level SOL_UDP. */
    public static final int IPPROTO_UDP = 17;

    // Socket options.
    public static final int SOL_SOCKET = 1;
    public static final int SO_RCVBUF = 8;
    public static final int SO_NO_CHECK = 11;
    public static final int SO_RCVTIMEO = 20;
    public static final int SO_SNDBUFFORCE = 32;
    public static final int SO_RCVBUFFORCE = 33;
    public static final int SOL_UDP = 17;
    /** UDP GSO: the segment size (u16) for a send, as a socket option or a per-message control message. */
    public static final int UDP_SEGMENT = 103;
    /** UDP GRO: receive same-sized datagrams of one flow joined; the segment size comes in a control message. */
    public static final int UDP_GRO = 104;
    public static final int SOL_NETLINK = 270;
    public static final int NETLINK_CAP_ACK = 10;
    public static final int NETLINK_EXT_ACK = 11;

    // send/recv flags.
    /** recv: return the datagram's real length even if it did not fit; msg_flags: it was cut. */
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;

    // open(2) flags.
    public static final int O_RDONLY = 0;
    public static final int O_WRONLY = 1;
    public static final int O_RDWR = 2;
    public static final int O_NONBLOCK = 0x800;
    public static final int O_CLOEXEC = 0x80000;

    /** setns(2): join a network namespace. */
    public static final int CLONE_NEWNET = 0x40000000;

    // poll(2) events.
    public static final short POLLIN = 0x1;
    public static final short POLLOUT = 0x4;

    /** struct pollfd: int fd; short events; short revents. */
    public static final int POLLFD_SIZE = 8;
    public static final int POLLFD_FD = 0;
    public static final int POLLFD_EVENTS = 4;
    public static final int POLLFD_REVENTS = 6;

    /** struct iovec: void *iov_base; size_t iov_len. */
    public static final int IOVEC_SIZE = 16;
    public static final int IOV_BASE = 0;
    public static final int IOV_LEN = 8;

    /** struct sockaddr_in: sa_family_t sin_family (host order); in_port_t sin_port, in_addr sin_addr (network order); 8 bytes of zero. */
    public static final int SOCKADDR_IN_SIZE = 16;
    public static final int SIN_FAMILY = 0;
    public static final int SIN_PORT = 2;
    public static final int SIN_ADDR = 4;

    /**
     * struct msghdr: void *msg_name; socklen_t msg_namelen (and 4 bytes of padding); struct iovec *msg_iov;
     * size_t msg_iovlen; void *msg_control; size_t msg_controllen; int msg_flags (and padding).
     */
    public static final int MSGHDR_SIZE = 56;
    public static final int MSG_NAME = 0;
    public static final int MSG_NAMELEN = 8;
    public static final int MSG_IOV = 16;
    public static final int MSG_IOVLEN = 24;
    public static final int MSG_CONTROL = 32;
    public static final int MSG_CONTROLLEN = 40;
    public static final int MSG_FLAGS = 48;
    /** struct mmsghdr: struct msghdr msg_hdr; unsigned int msg_len (and padding). */
    public static final int MMSGHDR_SIZE = 64;
    public static final int MSG_LEN = 56;

    /** struct cmsghdr: size_t cmsg_len; int cmsg_level; int cmsg_type; then the data, 8-aligned. */
    public static final int CMSG_LEN_OFFSET = 0;
    public static final int CMSG_LEVEL = 8;
    public static final int CMSG_TYPE = 12;
    public static final int CMSG_DATA = 16;

    /** CMSG_LEN(n): the header and n bytes of data. */
    public static int cmsgLen(int dataLength) {
        return CMSG_DATA + dataLength;
    }

    /** CMSG_SPACE(n): CMSG_LEN(n) padded to the 8-byte alignment of the next header. */
    public static int cmsgSpace(int dataLength) {
        return CMSG_DATA + ((dataLength + 7) & ~7);
    }
}
