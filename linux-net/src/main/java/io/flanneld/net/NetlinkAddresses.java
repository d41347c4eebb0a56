package io.flanneld.net;

import java.util.List;
import java.util.stream.Collectors;

/** {@link Addresses} over an rtnetlink socket. */
final class NetlinkAddresses implements Addresses {
    private final NetlinkSocket socket;
    private final NetlinkLinks links;

    NetlinkAddresses(NetlinkSocket socket, NetlinkLinks links) {
        this.socket = socket;
        this.links = links;
    }

    @Override
    public void add(LinkAddress address) {
        socket.execute(w -> AddressCodec.add(w, address, false),
                () -> "RTM_NEWADDR add " + address + " dev " + links.describe(address.linkIndex()));
    }

    @Override
    public void replace(LinkAddress address) {
        socket.execute(w -> AddressCodec.add(w, address, true),
                () -> "RTM_NEWADDR replace " + address + " dev " + links.describe(address.linkIndex()));
    }

    @Override
    public void delete(LinkAddress address) {
        socket.execute(w -> AddressCodec.delete(w, address),
                () -> "RTM_DELADDR " + address + " dev " + links.describe(address.linkIndex()));
    }

    @Override
    public List<LinkAddress> list() {
        return socket.dump(AddressCodec::dump, () -> "RTM_GETADDR dump", AddressCodec::decode);
    }

    @Override
    public List<LinkAddress> list(int linkIndex) {
        return list().stream().filter(a -> a.linkIndex() == linkIndex).collect(Collectors.toList());
    }

    @Override
    public void add(LinkAddress6 address) {
        socket.execute(w -> AddressCodec.add6(w, address, false),
                () -> "RTM_NEWADDR add " + address + " dev " + links.describe(address.linkIndex()));
    }

    @Override
    public void replace(LinkAddress6 address) {
        socket.execute(w -> AddressCodec.add6(w, address, true),
                () -> "RTM_NEWADDR replace " + address + " dev " + links.describe(address.linkIndex()));
    }

    @Override
    public void delete(LinkAddress6 address) {
        socket.execute(w -> AddressCodec.delete6(w, address),
                () -> "RTM_DELADDR " + address + " dev " + links.describe(address.linkIndex()));
    }

    @Override
    public List<LinkAddress6> list6() {
        return socket.dump(AddressCodec::dump6, () -> "RTM_GETADDR AF_INET6 dump", AddressCodec::decode6);
    }

    @Override
    public List<LinkAddress6> list6(int linkIndex) {
        return list6().stream().filter(a -> a.linkIndex() == linkIndex).collect(Collectors.toList());
    }
}
