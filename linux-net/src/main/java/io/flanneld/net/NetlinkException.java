package io.flanneld.net;

/**
 * The kernel answered a netlink request with an error (NLMSG_ERROR carrying a negative errno). Besides the errno it
 * carries the kernel's extended-ack text when the kernel supplied one (e.g. "Nexthop device is not up"), which is
 * often the only hint as to which attribute was rejected.
 */
public final class NetlinkException extends ErrnoException {
    private final String kernelMessage;

    public NetlinkException(String operation, int errno, String kernelMessage) {
        super(operation, errno, kernelMessage);
        this.kernelMessage = kernelMessage == null ? "" : kernelMessage;
    }

    /** The kernel's extended-ack message, or "" when it gave none. */
    public String kernelMessage() {
        return kernelMessage;
    }

    /** EEXIST: the object to be created is already there. */
    public boolean alreadyExists() {
        return errno() == Errno.EEXIST;
    }

    /** ENOENT, ESRCH or ENODEV: the object (entry, route, link) the request refers to does not exist. */
    public boolean notFound() {
        return errno() == Errno.ENOENT || errno() == Errno.ESRCH || errno() == Errno.ENODEV;
    }
}
