package io.flanneld.net;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip6;
import java.util.List;
import java.util.stream.Collectors;

/** {@link Neighbours} over an rtnetlink socket. */
final class NetlinkNeighbours implements Neighbours {
    private final NetlinkSocket socket;
    private final NetlinkLinks links;

    NetlinkNeighbours(NetlinkSocket socket, NetlinkLinks links) {
        this.socket = socket;
        this.links = links;
    }

    @Override
    public void replace(Neighbour n) {
        socket.execute(w -> NeighbourCodec.replaceNeighbour(w, n), () -> "RTM_NEWNEIGH replace "
                + Ip4.format(n.address()) + " lladdr " + n.mac() + " dev " + links.describe(n.linkIndex())
                + " state 0x" + Integer.toHexString(n.state()));
    }

    @Override
    public void delete(int linkIndex, int address) {
        socket.execute(w -> NeighbourCodec.deleteNeighbour(w, linkIndex, address),
                () -> "RTM_DELNEIGH " + Ip4.format(address) + " dev " + links.describe(linkIndex));
    }

    @Override
    public List<Neighbour> list(int linkIndex) {
        // Filtered here rather than by the kernel: ndm_ifindex in a dump request is honoured only with strict checking.
        return socket.dump(NeighbourCodec::dumpNeighbours, () -> "RTM_GETNEIGH dump", NeighbourCodec::decodeNeighbour)
                .stream().filter(n -> n.linkIndex() == linkIndex).collect(Collectors.toList());
    }

    @Override
    public void replace(Neighbour6 n) {
        socket.execute(w -> NeighbourCodec.replaceNeighbour6(w, n), () -> "RTM_NEWNEIGH replace " + n.address()
                + " lladdr " + n.mac() + " dev " + links.describe(n.linkIndex()) + " state 0x"
                + Integer.toHexString(n.state()));
    }

    @Override
    public void delete(int linkIndex, Ip6 address) {
        socket.execute(w -> NeighbourCodec.deleteNeighbour6(w, linkIndex, address),
                () -> "RTM_DELNEIGH " + address + " dev " + links.describe(linkIndex));
    }

    @Override
    public List<Neighbour6> list6(int linkIndex) {
        return socket.dump(NeighbourCodec::dumpNeighbours6, () -> "RTM_GETNEIGH AF_INET6 dump",
                NeighbourCodec::decodeNeighbour6)
                .stream().filter(n -> n.linkIndex() == linkIndex).collect(Collectors.toList());
    }
}
