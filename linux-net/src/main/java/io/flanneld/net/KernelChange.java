package io.flanneld.net;

import static io.flanneld.net.NetlinkConstants.RTA_OIF;
import static io.flanneld.net.NetlinkConstants.RTM_DELADDR;
import static io.flanneld.net.NetlinkConstants.RTM_DELLINK;
import static io.flanneld.net.NetlinkConstants.RTM_DELNEIGH;
import static io.flanneld.net.NetlinkConstants.RTM_DELROUTE;
import static io.flanneld.net.NetlinkConstants.RTM_NEWADDR;
import static io.flanneld.net.NetlinkConstants.RTM_NEWLINK;
import static io.flanneld.net.NetlinkConstants.RTM_NEWNEIGH;
import static io.flanneld.net.NetlinkConstants.RTM_NEWROUTE;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One rtnetlink notification, reduced to what a keeper of kernel state needs: what kind of object changed, whether it
 * went away, and the interface it belongs to (0 when the message names none, e.g. a route without an output device).
 * {@link #OVERRUN} stands for notifications the kernel dropped because the socket's buffer was full: anything may have
 * changed.
 */
public record KernelChange(Kind kind, boolean removed, int ifindex) {
    public enum Kind { LINK, ADDRESS, ROUTE, NEIGHBOUR, UNKNOWN }

    public static final KernelChange OVERRUN = new KernelChange(Kind.UNKNOWN, true, 0);

    /** The notifications in one datagram; messages of other types and malformed ones are skipped (a notification is a hint, not state). */
    static List<KernelChange> decode(ByteBuffer datagram) {
        List<KernelChange> out = new ArrayList<>();
        List<NetlinkMessage> messages;
        try {
            messages = NetlinkMessage.split(datagram);
        } catch (MalformedMessageException e) {
            out.add(OVERRUN);
            return out;
        }
        for (NetlinkMessage m : messages) {
            ByteBuffer p = m.payload();
            try {
                switch (m.type()) {
                    // ifinfomsg, ifaddrmsg and ndmsg all carry the interface index as the s32 at offset 4.
                    case RTM_NEWLINK, RTM_DELLINK -> out.add(new KernelChange(Kind.LINK, m.type() == RTM_DELLINK, index(p, 16)));
                    case RTM_NEWADDR, RTM_DELADDR -> out.add(new KernelChange(Kind.ADDRESS, m.type() == RTM_DELADDR, index(p, 8)));
                    case RTM_NEWNEIGH, RTM_DELNEIGH -> out.add(new KernelChange(Kind.NEIGHBOUR, m.type() == RTM_DELNEIGH, index(p, 12)));
                    case RTM_NEWROUTE, RTM_DELROUTE -> {
                        // rtmsg is 12 bytes; the output device is the RTA_OIF attribute.
                        if (p.remaining() < 12) {
                            continue;
                        }
                        int oif = Attributes.parse(p.slice(12, p.remaining() - 12), "route notification").u32(RTA_OIF).orElse(0);
                        out.add(new KernelChange(Kind.ROUTE, m.type() == RTM_DELROUTE, oif));
                    }
                    default -> {
                    }
                }
            } catch (MalformedMessageException | IndexOutOfBoundsException e) {
                // Skip it: the next periodic check covers whatever it was about.
            }
        }
        return out;
    }

    private static int index(ByteBuffer payload, int structSize) {
        if (payload.remaining() < structSize) {
            throw new MalformedMessageException("notification shorter than its " + structSize + "-byte header");
        }
        return payload.getInt(4);
    }
}
