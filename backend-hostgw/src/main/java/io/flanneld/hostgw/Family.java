package io.flanneld.hostgw;

import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkAddress6;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Predicate;

/**
 * One address family as host-gw routes it: the only place where IPv4 and IPv6 differ. It says which half of a lease
 * the family reads, how its addresses and networks behave, how to make and read its routes and how linux-net lists,
 * replaces and deletes them. {@link Decisions}, {@link PeerRoute} and {@link RouteProgrammer} are written once
 * against it.
 *
 * @param <A> an address: an {@link Ip4} int or an {@link Ip6}
 * @param <N> a network: {@link Ip4Net} or {@link Ip6Net}
 * @param <R> a route: {@link Route} or {@link Route6}
 */
abstract class Family<A, N, R> {
    static final Family<Integer, Ip4Net, Route> IPV4 = new V4();
    static final Family<Ip6, Ip6Net, Route6> IPV6 = new V6();

    /**
     * The external interface's networks of this family: a peer whose public address is in none of them cannot be
     * reached without a router.
     *
     * @param networks for messages
     */
    record OnLink<A>(String networks, Predicate<A> onSameSubnet) {
        OnLink {
            Objects.requireNonNull(networks, "networks");
            Objects.requireNonNull(onSameSubnet, "onSameSubnet");
        }

        @Override
        public String toString() {
            return networks;
        }

        /** Equal when they print alike: for comparing decisions in tests. */
        @Override
        public boolean equals(Object o) {
            return o instanceof OnLink<?> other && networks.equals(other.networks);
        }

        @Override
        public int hashCode() {
            return networks.hashCode();
        }
    }

    /** {@code ""} or {@code "IPv6 "}, before "peer", "subnet" and "network(s)" in logs. */
    abstract String prefix();

    /** What this family's repair labels end in: nothing, or {@code _v6}. */
    abstract String labelSuffix();

    /** {@code PublicIP} or {@code PublicIPv6}. */
    abstract String publicIpName();

    /** {@code PublicIPs} or {@code PublicIPv6}, as the start-up log line names them. */
    abstract String publicIpsName();

    abstract N subnet(Lease lease);

    /** The lease's public address of this family, or null. */
    abstract A publicIp(Lease lease);

    /** The Network of this family: the config's, or for IPv6 without an IPv6 config the local subnet. */
    abstract N network(NetworkConfig config, Lease local);

    abstract String format(A address);

    abstract int prefixLength(N network);

    abstract boolean contains(N outer, N inner);

    /** "dst via gateway dev ifindex", main table, protocol boot: the route to a peer. */
    abstract R route(N destination, A gateway, int ifindex);

    abstract N destination(R route);

    abstract Optional<A> gateway(R route);

    abstract int outputIndex(R route);

    abstract int protocol(R route);

    abstract int table(R route);

    /**
     * The metric as part of a route's identity: IPv4's own; none for IPv6, whose wanted routes carry 0 (the kernel's
     * default, 1024, which is how the kernel then reports them).
     */
    abstract int identityMetric(R route);

    abstract String describe(R route);

    /** The main table's unicast routes of this family. */
    abstract List<R> routes(Rtnetlink nl);

    abstract void replace(Rtnetlink nl, R route);

    abstract void delete(Rtnetlink nl, R route);

    /** The interface's networks of this family (IPv6: its global ones). */
    abstract OnLink<A> onLink(Rtnetlink nl, int ifindex);

    static final class V4 extends Family<Integer, Ip4Net, Route> {
        @Override String prefix() { return ""; }
        @Override String labelSuffix() { return ""; }
        @Override String publicIpName() { return "PublicIP"; }
        @Override String publicIpsName() { return "PublicIPs"; }

        @Override Ip4Net subnet(Lease lease) { return lease.subnet(); }
        @Override Integer publicIp(Lease lease) { return lease.attrs().publicIp(); }
        @Override Ip4Net network(NetworkConfig config, Lease local) { return config.network(); }

        @Override String format(Integer address) { return Ip4.format(address); }
        @Override int prefixLength(Ip4Net network) { return network.prefixLength(); }
        @Override boolean contains(Ip4Net outer, Ip4Net inner) { return outer.contains(inner); }

        /** Protocol boot, metric 0: the route flannel's host-gw backend installs. */
        @Override
        Route route(Ip4Net destination, Integer gateway, int ifindex) {
            return new Route(destination, OptionalInt.of(gateway), ifindex, false, Route.TABLE_MAIN,
                    Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0);
        }

        @Override Ip4Net destination(Route route) { return route.destination(); }

        @Override
        Optional<Integer> gateway(Route route) {
            return route.gateway().isPresent() ? Optional.of(route.gateway().getAsInt()) : Optional.empty();
        }

        @Override int outputIndex(Route route) { return route.outputIndex(); }
        @Override int protocol(Route route) { return route.protocol(); }
        @Override int table(Route route) { return route.table(); }
        @Override int identityMetric(Route route) { return route.metric(); }
        @Override String describe(Route route) { return route.describe(); }

        @Override List<Route> routes(Rtnetlink nl) { return nl.routes().list(); }
        @Override void replace(Rtnetlink nl, Route route) { nl.routes().replace(route); }
        @Override void delete(Rtnetlink nl, Route route) { nl.routes().delete(route); }

        @Override
        OnLink<Integer> onLink(Rtnetlink nl, int ifindex) {
            return onLink(nl.addresses().list(ifindex).stream().map(LinkAddress::network).toList());
        }

        /** The networks of the interface's addresses; a /32 reaches no one. */
        static OnLink<Integer> onLink(List<Ip4Net> networks) {
            UnderlayNetworks l2 = UnderlayNetworks.of(networks);
            return new OnLink<>(l2.toString(), l2::onSameSubnet);
        }
    }

    static final class V6 extends Family<Ip6, Ip6Net, Route6> {
        @Override String prefix() { return "IPv6 "; }
        @Override String labelSuffix() { return "_v6"; }
        @Override String publicIpName() { return "PublicIPv6"; }
        @Override String publicIpsName() { return "PublicIPv6"; }

        @Override Ip6Net subnet(Lease lease) { return lease.ipv6Subnet(); }
        @Override Ip6 publicIp(Lease lease) { return lease.attrs().publicIpv6(); }

        @Override
        Ip6Net network(NetworkConfig config, Lease local) {
            return config.ipv6() != null ? config.ipv6().network() : local.ipv6Subnet();
        }

        @Override String format(Ip6 address) { return String.valueOf(address); }
        @Override int prefixLength(Ip6Net network) { return network.prefixLength(); }
        @Override boolean contains(Ip6Net outer, Ip6Net inner) { return outer.contains(inner); }

        /** Protocol boot, the kernel's default metric: flannel's host-gw IPv6 route (hostgw.go, GetV6Route). */
        @Override
        Route6 route(Ip6Net destination, Ip6 gateway, int ifindex) {
            return Route6.viaDevice(destination, gateway, ifindex);
        }

        @Override Ip6Net destination(Route6 route) { return route.destination(); }
        @Override Optional<Ip6> gateway(Route6 route) { return route.gateway(); }
        @Override int outputIndex(Route6 route) { return route.outputIndex(); }
        @Override int protocol(Route6 route) { return route.protocol(); }
        @Override int table(Route6 route) { return route.table(); }
        @Override int identityMetric(Route6 route) { return 0; }
        @Override String describe(Route6 route) { return route.describe(); }

        @Override List<Route6> routes(Rtnetlink nl) { return nl.routes().list6(); }
        @Override void replace(Rtnetlink nl, Route6 route) { nl.routes().replace(route); }
        @Override void delete(Rtnetlink nl, Route6 route) { nl.routes().delete(route); }

        @Override
        OnLink<Ip6> onLink(Rtnetlink nl, int ifindex) {
            return onLink(nl.addresses().list6(ifindex).stream()
                    .filter(a -> a.scope() == LinkAddress6.SCOPE_UNIVERSE).map(LinkAddress6::network).distinct()
                    .toList());
        }

        static OnLink<Ip6> onLink(List<Ip6Net> networks) {
            return new OnLink<>(networks.toString(), ip -> networks.stream().anyMatch(n -> n.contains(ip)));
        }
    }
}
