package io.flanneld.hostgw;

import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.IpFamily;
import io.flanneld.net.Ipv4Family;
import io.flanneld.net.Ipv6Family;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/**
 * One address family as host-gw routes it: the only place where IPv4 and IPv6 differ. Beyond linux-net's {@link
 * IpFamily} (addresses, networks, routes), it says which half of a lease the family reads, which of the interface's
 * networks count as its L2 network and what a route's identity is. {@link Decisions}, {@link PeerRoute} and {@link
 * RouteProgrammer} are written once against it.
 *
 * @param <A> an address: an {@link io.flanneld.schema.Ip4} int or an {@link Ip6}
 * @param <N> a network: {@link Ip4Net} or {@link Ip6Net}
 * @param <R> a route: {@link Route} or {@link Route6}
 */
interface Family<A, N, R> extends IpFamily<A, N, R> {
    Family<Integer, Ip4Net, Route> IPV4 = new V4();
    Family<Ip6, Ip6Net, Route6> IPV6 = new V6();

    /**
     * The external interface's networks of this family: a peer whose public address is in none of them cannot be
     * reached without a router.
     *
     * @param networks for messages
     */
    record OnLink<A>(String networks, Predicate<A> onSameSubnet) {
        public OnLink {
            Objects.requireNonNull(networks, "networks");
            Objects.requireNonNull(onSameSubnet, "onSameSubnet");
        }

        @Override
        public String toString() {
            return networks;
        }

        /** Equal when they name the same networks (the test is made from them). */
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
    String prefix();

    /** What this family's repair labels end in: nothing, or {@code _v6}. */
    String labelSuffix();

    /** {@code PublicIP} or {@code PublicIPv6}. */
    String publicIpName();

    /** {@code PublicIPs} or {@code PublicIPv6}, as the start-up log line names them. */
    String publicIpsName();

    N subnet(Lease lease);

    /** The lease's public address of this family, or null. */
    A publicIp(Lease lease);

    /** The Network of this family: the config's, or for IPv6 without an IPv6 config the local subnet. */
    N network(NetworkConfig config, Lease local);

    /**
     * The metric as part of a route's identity: IPv4's own; none for IPv6, whose wanted routes carry 0 (the kernel's
     * default, 1024, which is how the kernel then reports them).
     */
    int identityMetric(R route);

    /** The interface's networks of this family (IPv6: its global ones). */
    OnLink<A> onLink(Rtnetlink nl, int ifindex);

    final class V4 extends Ipv4Family implements Family<Integer, Ip4Net, Route> {
        @Override public String prefix() { return ""; }
        @Override public String labelSuffix() { return ""; }
        @Override public String publicIpName() { return "PublicIP"; }
        @Override public String publicIpsName() { return "PublicIPs"; }
        @Override public Ip4Net subnet(Lease lease) { return lease.subnet(); }
        @Override public Integer publicIp(Lease lease) { return lease.attrs().publicIp(); }
        @Override public Ip4Net network(NetworkConfig config, Lease local) { return config.network(); }
        @Override public int identityMetric(Route route) { return route.metric(); }

        @Override
        public OnLink<Integer> onLink(Rtnetlink nl, int ifindex) {
            return onLink(networks(nl, ifindex));
        }

        /** The networks of the interface's addresses; a /32 reaches no one. */
        static OnLink<Integer> onLink(List<Ip4Net> networks) {
            UnderlayNetworks l2 = UnderlayNetworks.of(networks);
            return new OnLink<>(l2.toString(), l2::onSameSubnet);
        }
    }

    final class V6 extends Ipv6Family implements Family<Ip6, Ip6Net, Route6> {
        @Override public String prefix() { return "IPv6 "; }
        @Override public String labelSuffix() { return "_v6"; }
        @Override public String publicIpName() { return "PublicIPv6"; }
        @Override public String publicIpsName() { return "PublicIPv6"; }
        @Override public Ip6Net subnet(Lease lease) { return lease.ipv6Subnet(); }
        @Override public Ip6 publicIp(Lease lease) { return lease.attrs().publicIpv6(); }
        @Override public int identityMetric(Route6 route) { return 0; }

        @Override
        public Ip6Net network(NetworkConfig config, Lease local) {
            return config.ipv6() != null ? config.ipv6().network() : local.ipv6Subnet();
        }

        @Override
        public OnLink<Ip6> onLink(Rtnetlink nl, int ifindex) {
            return onLink(networks(nl, ifindex));
        }

        static OnLink<Ip6> onLink(List<Ip6Net> networks) {
            return new OnLink<>(networks.toString(), ip -> networks.stream().anyMatch(n -> n.contains(ip)));
        }
    }
}
