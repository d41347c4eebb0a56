package io.flanneld.net;

import java.nio.ByteBuffer;

/**
 * Encodes rtnetlink requests without sending them, into one buffer owned here and reused by every call: the same
 * bytes {@link Rtnetlink}'s facets put on the socket (sequence number and port id left 0, the socket stamps them).
 * For measuring the codec (benchmarks) and for tools that want the wire form; the codecs themselves stay
 * package-private. Each result is a view of the shared buffer, valid until the next call. Not thread-safe.
 */
public final class NetlinkRequests {
    private final MessageWriter writer;

    /** Requests of up to {@code capacity} bytes, into a direct buffer as the socket uses. */
    public NetlinkRequests(int capacity) {
        this.writer = new MessageWriter(ByteBuffer.allocateDirect(capacity));
    }

    /** RTM_NEWNEIGH create-or-replace of an IPv4 neighbour (ARP) entry, as {@link Neighbours#replace}. */
    public ByteBuffer replaceNeighbour(Neighbour neighbour) {
        return NeighbourCodec.replaceNeighbour(writer, neighbour);
    }

    /** RTM_NEWNEIGH create-or-replace of a VXLAN device's FDB entry (AF_BRIDGE, NTF_SELF), as {@link Fdb#replace}. */
    public ByteBuffer replaceFdb(FdbEntry entry) {
        return NeighbourCodec.writeFdb(writer, entry, NeighbourCodec.FdbMode.REPLACE);
    }

    /** RTM_NEWROUTE: create-or-replace when {@code replace}, else create failing on EEXIST, as {@link Routes}. */
    public ByteBuffer addRoute(Route route, boolean replace) {
        return RouteCodec.add(writer, route, replace);
    }
}
