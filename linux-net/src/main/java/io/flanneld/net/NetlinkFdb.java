package io.flanneld.net;

import io.flanneld.schema.Ip4;
import java.util.List;
import java.util.stream.Collectors;

/** {@link Fdb} over an rtnetlink socket (RTM_*NEIGH with family AF_BRIDGE and NTF_SELF). */
final class NetlinkFdb implements Fdb {
    private final NetlinkSocket socket;
    private final NetlinkLinks links;

    NetlinkFdb(NetlinkSocket socket, NetlinkLinks links) {
        this.socket = socket;
        this.links = links;
    }

    @Override
    public void add(FdbEntry entry) {
        write(entry, NeighbourCodec.FdbMode.ADD, "add");
    }

    @Override
    public void append(FdbEntry entry) {
        write(entry, NeighbourCodec.FdbMode.APPEND, "append");
    }

    @Override
    public void replace(FdbEntry entry) {
        write(entry, NeighbourCodec.FdbMode.REPLACE, "replace");
    }

    private void write(FdbEntry e, NeighbourCodec.FdbMode mode, String verb) {
        socket.execute(w -> NeighbourCodec.writeFdb(w, e, mode), () -> "RTM_NEWNEIGH fdb " + verb + " " + e.mac()
                + " dev " + links.describe(e.linkIndex()) + " dst " + Ip4.format(e.destination()) + " self");
    }

    @Override
    public void delete(FdbEntry e) {
        socket.execute(w -> NeighbourCodec.deleteFdb(w, e), () -> "RTM_DELNEIGH fdb " + e.mac() + " dev "
                + links.describe(e.linkIndex()) + " dst " + Ip4.format(e.destination()) + " self");
    }

    @Override
    public List<FdbEntry> list(int linkIndex) {
        return socket.dump(NeighbourCodec::dumpFdb, () -> "RTM_GETNEIGH fdb dump", NeighbourCodec::decodeFdb)
                .stream().filter(e -> e.linkIndex() == linkIndex).collect(Collectors.toList());
    }

    @Override
    public void add(FdbEntry6 entry) {
        write6(entry, NeighbourCodec.FdbMode.ADD, "add");
    }

    @Override
    public void append(FdbEntry6 entry) {
        write6(entry, NeighbourCodec.FdbMode.APPEND, "append");
    }

    @Override
    public void replace(FdbEntry6 entry) {
        write6(entry, NeighbourCodec.FdbMode.REPLACE, "replace");
    }

    private void write6(FdbEntry6 e, NeighbourCodec.FdbMode mode, String verb) {
        socket.execute(w -> NeighbourCodec.writeFdb6(w, e, mode), () -> "RTM_NEWNEIGH fdb " + verb + " " + e.mac()
                + " dev " + links.describe(e.linkIndex()) + " dst " + e.destination() + " self");
    }

    @Override
    public void delete(FdbEntry6 e) {
        socket.execute(w -> NeighbourCodec.deleteFdb6(w, e), () -> "RTM_DELNEIGH fdb " + e.mac() + " dev "
                + links.describe(e.linkIndex()) + " dst " + e.destination() + " self");
    }

    @Override
    public List<FdbEntry6> list6(int linkIndex) {
        return socket.dump(NeighbourCodec::dumpFdb, () -> "RTM_GETNEIGH fdb dump", NeighbourCodec::decodeFdb6)
                .stream().filter(e -> e.linkIndex() == linkIndex).collect(Collectors.toList());
    }
}
