package io.flanneld.net;

import static io.flanneld.net.LinuxAbi.AF_BRIDGE;
import static io.flanneld.net.LinuxAbi.AF_INET;
import static io.flanneld.net.LinuxAbi.AF_INET6;
import static io.flanneld.net.NetlinkConstants.*;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip6;
import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * Encodes and decodes RTM_{NEW,DEL,GET}NEIGH for both of its uses: neighbour entries (ARP, family AF_INET; NDP, family
 * AF_INET6) and the forwarding database of a VXLAN device (family AF_BRIDGE, flag NTF_SELF; destination an IPv4 or an
 * IPv6 address).
 */
final class NeighbourCodec {
    /** How an FDB entry is written; the names are those of the `bridge fdb` subcommands. */
    enum FdbMode {
        /** Fails with EEXIST if the MAC has an entry (NLM_F_CREATE | NLM_F_EXCL). */
        ADD(NLM_F_CREATE | NLM_F_EXCL),
        /** Adds another destination for the MAC (NLM_F_CREATE | NLM_F_APPEND), e.g. for all-zero flood entries. */
        APPEND(NLM_F_CREATE | NLM_F_APPEND),
        /** Creates, or replaces the MAC's destination (NLM_F_CREATE | NLM_F_REPLACE). */
        REPLACE(NLM_F_CREATE | NLM_F_REPLACE);

        final int flags;

        FdbMode(int flags) {
            this.flags = flags;
        }
    }

    private NeighbourCodec() {
    }

    static ByteBuffer replaceNeighbour(MessageWriter w, Neighbour n) {
        w.begin(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
        ndmsg(w, AF_INET, n.linkIndex(), n.state(), 0);
        w.attr(NDA_DST, Ip4.toBytes(n.address()));
        w.attr(NDA_LLADDR, n.mac().toBytes());
        return w.finish();
    }

    static ByteBuffer deleteNeighbour(MessageWriter w, int linkIndex, int address) {
        w.begin(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK);
        ndmsg(w, AF_INET, linkIndex, 0, 0);
        w.attr(NDA_DST, Ip4.toBytes(address));
        return w.finish();
    }

    static ByteBuffer dumpNeighbours(MessageWriter w) {
        ndmsg(w.begin(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP), AF_INET, 0, 0, 0);
        return w.finish();
    }

    static ByteBuffer replaceNeighbour6(MessageWriter w, Neighbour6 n) {
        w.begin(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
        ndmsg(w, AF_INET6, n.linkIndex(), n.state(), 0);
        w.attr(NDA_DST, n.address().toBytes());
        w.attr(NDA_LLADDR, n.mac().toBytes());
        return w.finish();
    }

    static ByteBuffer deleteNeighbour6(MessageWriter w, int linkIndex, Ip6 address) {
        w.begin(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK);
        ndmsg(w, AF_INET6, linkIndex, 0, 0);
        w.attr(NDA_DST, address.toBytes());
        return w.finish();
    }

    static ByteBuffer dumpNeighbours6(MessageWriter w) {
        ndmsg(w.begin(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP), AF_INET6, 0, 0, 0);
        return w.finish();
    }

    static ByteBuffer writeFdb6(MessageWriter w, FdbEntry6 e, FdbMode mode) {
        w.begin(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | mode.flags);
        ndmsg(w, AF_BRIDGE, e.linkIndex(), e.state(), NTF_SELF);
        w.attr(NDA_LLADDR, e.mac().toBytes());
        w.attr(NDA_DST, e.destination().toBytes());
        return w.finish();
    }

    static ByteBuffer deleteFdb6(MessageWriter w, FdbEntry6 e) {
        w.begin(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK);
        ndmsg(w, AF_BRIDGE, e.linkIndex(), 0, NTF_SELF);
        w.attr(NDA_LLADDR, e.mac().toBytes());
        w.attr(NDA_DST, e.destination().toBytes());
        return w.finish();
    }

    static ByteBuffer writeFdb(MessageWriter w, FdbEntry e, FdbMode mode) {
        w.begin(RTM_NEWNEIGH, NLM_F_REQUEST | NLM_F_ACK | mode.flags);
        ndmsg(w, AF_BRIDGE, e.linkIndex(), e.state(), NTF_SELF);
        w.attr(NDA_LLADDR, e.mac().toBytes());
        w.attr(NDA_DST, Ip4.toBytes(e.destination()));
        return w.finish();
    }

    /** Deletes the entry for this MAC and destination (a MAC may have several destinations after APPEND). */
    static ByteBuffer deleteFdb(MessageWriter w, FdbEntry e) {
        w.begin(RTM_DELNEIGH, NLM_F_REQUEST | NLM_F_ACK);
        ndmsg(w, AF_BRIDGE, e.linkIndex(), 0, NTF_SELF);
        w.attr(NDA_LLADDR, e.mac().toBytes());
        w.attr(NDA_DST, Ip4.toBytes(e.destination()));
        return w.finish();
    }

    static ByteBuffer dumpFdb(MessageWriter w) {
        ndmsg(w.begin(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP), AF_BRIDGE, 0, 0, 0);
        return w.finish();
    }

    private static void ndmsg(MessageWriter w, int family, int linkIndex, int state, int flags) {
        w.u8(family).u8(0).u16(0).u32(linkIndex).u16(state).u8(flags).u8(0);
    }

    /**
     * An AF_INET neighbour entry with a link-layer address. Entries without one (INCOMPLETE, FAILED) and other
     * families are skipped: they say nothing a caller managing permanent entries could act on.
     */
    static Optional<Neighbour> decodeNeighbour(NetlinkMessage message) {
        try {
            return decodeNeighbourFields(message);
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    private static Optional<Neighbour> decodeNeighbourFields(NetlinkMessage message) {
        Header h = header(message);
        if (h.family != AF_INET || h.attrs.length(NDA_DST) != 4 || h.attrs.length(NDA_LLADDR) != 6) {
            return Optional.empty();
        }
        return Optional.of(new Neighbour(h.linkIndex, h.attrs.ipv4(NDA_DST).orElseThrow(),
                MacAddress.fromBytes(h.attrs.bytes(NDA_LLADDR).orElseThrow()), h.state));
    }

    /**
     * An FDB entry kept by the device itself (NTF_SELF) with an IPv4 remote, as VXLAN devices have. Entries of bridge
     * ports and entries without a remote (local MACs) are skipped.
     */
    static Optional<FdbEntry> decodeFdb(NetlinkMessage message) {
        try {
            return decodeFdbFields(message);
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    private static Optional<FdbEntry> decodeFdbFields(NetlinkMessage message) {
        Header h = header(message);
        if (h.family != AF_BRIDGE || (h.flags & NTF_SELF) == 0 || h.attrs.length(NDA_DST) != 4
                || h.attrs.length(NDA_LLADDR) != 6) {
            return Optional.empty();
        }
        return Optional.of(new FdbEntry(h.linkIndex, MacAddress.fromBytes(h.attrs.bytes(NDA_LLADDR).orElseThrow()),
                h.attrs.ipv4(NDA_DST).orElseThrow(), h.state));
    }

    /**
     * An AF_INET6 (NDP) neighbour entry with a link-layer address; others are skipped as for IPv4, and so are the
     * entries the kernel keeps for multicast groups (ff00::/8 → 33:33:..., state NOARP), which are no neighbours.
     */
    static Optional<Neighbour6> decodeNeighbour6(NetlinkMessage message) {
        try {
            Header h = header(message);
            if (h.family != AF_INET6 || h.attrs.length(NDA_DST) != 16 || h.attrs.length(NDA_LLADDR) != 6) {
                return Optional.empty();
            }
            Ip6 address = h.attrs.ipv6(NDA_DST).orElseThrow();
            if ((address.hi() >>> 56) == 0xff) {
                return Optional.empty();
            }
            return Optional.of(new Neighbour6(h.linkIndex, address,
                    MacAddress.fromBytes(h.attrs.bytes(NDA_LLADDR).orElseThrow()), h.state));
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    /** An FDB entry kept by the device itself (NTF_SELF) with an IPv6 remote; others are skipped. */
    static Optional<FdbEntry6> decodeFdb6(NetlinkMessage message) {
        try {
            Header h = header(message);
            if (h.family != AF_BRIDGE || (h.flags & NTF_SELF) == 0 || h.attrs.length(NDA_DST) != 16
                    || h.attrs.length(NDA_LLADDR) != 6) {
                return Optional.empty();
            }
            return Optional.of(new FdbEntry6(h.linkIndex, MacAddress.fromBytes(h.attrs.bytes(NDA_LLADDR).orElseThrow()),
                    h.attrs.ipv6(NDA_DST).orElseThrow(), h.state));
        } catch (IllegalArgumentException e) {
            throw new MalformedMessageException(message.typeName() + ": " + e.getMessage());
        }
    }

    private record Header(int family, int linkIndex, int state, int flags, Attributes attrs) {
    }

    private static Header header(NetlinkMessage message) {
        if (message.type() != RTM_NEWNEIGH) {
            throw new MalformedMessageException("expected RTM_NEWNEIGH, got " + message.typeName());
        }
        ByteBuffer b = message.requireStruct("ndmsg", NDMSG_LEN);
        return new Header(Byte.toUnsignedInt(b.get(0)), b.getInt(4), Short.toUnsignedInt(b.getShort(8)),
                Byte.toUnsignedInt(b.get(10)), message.attributesAfter("ndmsg", NDMSG_LEN));
    }
}
