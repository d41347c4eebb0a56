package io.flanneld.net;

import io.flanneld.schema.Ip4;
import java.util.List;
import java.util.Optional;

/** {@link Links} over an rtnetlink socket. */
final class NetlinkLinks implements Links {
    private final NetlinkSocket socket;

    NetlinkLinks(NetlinkSocket socket) {
        this.socket = socket;
    }

    @Override
    public Optional<Link> byName(String name) {
        LinkNames.requireValid(name);
        return socket.get(w -> LinkCodec.getByName(w, name), () -> "RTM_GETLINK " + name, Errno.ENODEV,
                LinkCodec::decode);
    }

    @Override
    public Optional<Link> byIndex(int index) {
        return socket.get(w -> LinkCodec.getByIndex(w, index), () -> "RTM_GETLINK ifindex " + index, Errno.ENODEV,
                LinkCodec::decode);
    }

    @Override
    public List<Link> list() {
        return socket.dump(LinkCodec::dump, () -> "RTM_GETLINK dump", m -> Optional.of(LinkCodec.decode(m)));
    }

    @Override
    public Link createVxlan(VxlanSpec spec) {
        socket.execute(w -> LinkCodec.createVxlan(w, spec), () -> "RTM_NEWLINK create " + spec.name()
                + " type vxlan id " + spec.vni()
                + (spec.local().isPresent() ? " local " + Ip4.format(spec.local().getAsInt()) : "")
                + spec.local6().map(a -> " local " + a).orElse("")
                + (spec.underlayIndex() > 0 ? " dev " + describe(spec.underlayIndex()) : "")
                + " dstport " + spec.port() + (spec.learning() ? " learning" : " nolearning"));
        return byName(spec.name()).orElseThrow(() -> new IllegalStateException(
                "the kernel acknowledged creating " + spec.name() + " but does not report it"));
    }

    @Override
    public void setMtu(int index, int mtu) {
        socket.execute(w -> LinkCodec.setMtu(w, index, mtu), () -> "RTM_NEWLINK set dev " + describe(index)
                + " mtu " + mtu);
    }

    @Override
    public void setUp(int index) {
        socket.execute(w -> LinkCodec.setUp(w, index, true), () -> "RTM_NEWLINK set dev " + describe(index) + " up");
    }

    @Override
    public void setDown(int index) {
        socket.execute(w -> LinkCodec.setUp(w, index, false), () -> "RTM_NEWLINK set dev " + describe(index)
                + " down");
    }

    @Override
    public void delete(int index) {
        socket.execute(w -> LinkCodec.delete(w, index), () -> "RTM_DELLINK dev " + describe(index));
    }

    /**
     * A link's name for an error message, "flannel.1 (#5)", or "#5" if it cannot be found. Called only when building
     * a report, so the extra query costs nothing on the success path.
     */
    String describe(int index) {
        try {
            return byIndex(index).map(l -> l.name() + " (#" + index + ")").orElse("#" + index);
        } catch (RuntimeException e) {
            return "#" + index;
        }
    }
}
