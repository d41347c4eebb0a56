package io.flanneld.net;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.List;
import java.util.Optional;

/**
 * One address family as the kernel's routing sees it, so that code deciding about routes can be written once for
 * IPv4 and IPv6: how its addresses and networks behave, how its routes are made and read, and the rtnetlink calls that
 * list, replace and delete them. {@link #IPV4} works on {@link Ip4} ints, {@link Ip4Net} and {@link Route};
 * {@link #IPV6} on {@link Ip6}, {@link Ip6Net} and {@link Route6}.
 *
 * @param <A> an address
 * @param <N> a network
 * @param <R> a route
 */
public interface IpFamily<A, N, R> {
    IpFamily<Integer, Ip4Net, Route> IPV4 = new Ipv4Family();
    IpFamily<Ip6, Ip6Net, Route6> IPV6 = new Ipv6Family();

    /** The address as {@code ip} prints it. */
    String format(A address);

    /** The network's first address (host bits zero). */
    A firstAddress(N network);

    int prefixLength(N network);

    boolean contains(N outer, N inner);

    /** "dst via gateway dev outputIndex onlink" in the main table, protocol boot (VXLAN's route to a peer). */
    R onlinkVia(N destination, A gateway, int outputIndex);

    /** "dst via gateway dev outputIndex" in the main table, protocol boot, metric unset (a route to a neighbour host). */
    R viaDevice(N destination, A gateway, int outputIndex);

    N destination(R route);

    Optional<A> gateway(R route);

    int outputIndex(R route);

    int protocol(R route);

    int table(R route);

    int metric(R route);

    /** The route as {@code ip route} prints it, devices by index ({@code dev #3}). */
    String describe(R route);

    /** The main table's unicast routes of this family ({@link Routes#list()}, {@link Routes#list6()}). */
    List<R> routes(Rtnetlink nl);

    void replaceRoute(Rtnetlink nl, R route);

    void deleteRoute(Rtnetlink nl, R route);

    /**
     * Adds "blackhole DST" to the main table ({@link Routes#addBlackhole}, {@link Routes#addBlackhole6}); EEXIST when
     * a route for DST that it may not replace is there.
     */
    void addBlackhole(Rtnetlink nl, N destination);

    /** Deletes that blackhole route and never another route for DST; ESRCH when it is not there. */
    void deleteBlackhole(Rtnetlink nl, N destination);

    /** Destinations of the main table's blackhole routes of this family (those {@link #addBlackhole} makes). */
    List<N> blackholes(Rtnetlink nl);

    /**
     * The networks of the interface's addresses, each once: every IPv4 address's; for IPv6 only the global ones (a
     * link-local network says nothing about which hosts share the link).
     */
    List<N> networks(Rtnetlink nl, int linkIndex);
}
