package io.flanneld.net;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A connection to the kernel's routing subsystem (an rtnetlink socket) in one network namespace, through which links,
 * addresses, neighbours, FDB entries and routes are read and changed. This is the daemon's only way of programming
 * the kernel: it never runs `ip` or `bridge`.
 *
 * <p>Thread-safe: requests on one instance are serialized. Close it to release the socket.
 */
public final class Rtnetlink implements AutoCloseable {
    private final NetlinkSocket socket;
    private final NetlinkLinks links;
    private final Addresses addresses;
    private final Neighbours neighbours;
    private final Fdb fdb;
    private final Routes routes;

    private Rtnetlink(NetlinkSocket socket) {
        this.socket = socket;
        this.links = new NetlinkLinks(socket);
        this.addresses = new NetlinkAddresses(socket, links);
        this.neighbours = new NetlinkNeighbours(socket, links);
        this.fdb = new NetlinkFdb(socket, links);
        this.routes = new NetlinkRoutes(socket, links);
    }

    /** Opens a connection in the calling thread's network namespace. */
    public static Rtnetlink open() {
        return new Rtnetlink(NetlinkSocket.open());
    }

    /**
     * Opens a connection in the named network namespace (/var/run/netns/{@code name}). The calling thread enters the
     * namespace only while the socket is created; the connection then works on that namespace from any thread.
     */
    public static Rtnetlink openInNamespace(String name) {
        return NetworkNamespaces.callIn(name, Rtnetlink::open);
    }

    /** Netlink requests sent on this connection so far. */
    public long requestCount() {
        return socket.requestCount();
    }

    /** Requests the kernel refused or that could not be completed (an expected "not found" of a lookup excluded). */
    public long errorCount() {
        return socket.errorCount();
    }

    public Links links() {
        return links;
    }

    public Addresses addresses() {
        return addresses;
    }

    public Neighbours neighbours() {
        return neighbours;
    }

    public Fdb fdb() {
        return fdb;
    }

    public Routes routes() {
        return routes;
    }

    /** Every link with its IPv4 and IPv6 addresses, in ifindex order: the view interface selection works from. */
    public List<LinkWithAddresses> linksWithAddresses() {
        Map<Integer, List<LinkAddress>> byLink = addresses.list().stream()
                .collect(Collectors.groupingBy(LinkAddress::linkIndex));
        Map<Integer, List<LinkAddress6>> byLink6 = addresses.list6().stream()
                .collect(Collectors.groupingBy(LinkAddress6::linkIndex));
        return links.list().stream()
                .sorted((a, b) -> Integer.compare(a.index(), b.index()))
                .map(l -> new LinkWithAddresses(l, byLink.getOrDefault(l.index(), List.of()),
                        byLink6.getOrDefault(l.index(), List.of())))
                .collect(Collectors.toList());
    }

    /** The link the main table's default route leaves through, as flannel picks the interface without --iface. */
    public Optional<Link> defaultRouteLink() {
        return routes.defaultRoute().filter(r -> r.outputIndex() != 0).flatMap(r -> links.byIndex(r.outputIndex()));
    }

    @Override
    public void close() {
        socket.close();
    }
}
