package io.flanneld.hostgw;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.net.Route;
import io.flanneld.net.Route6;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * flannel's host-gw backend: no encapsulation and no device of its own. Every other host's subnet is routed via that
 * host's PublicIP on the external interface ({@code ip route replace 198.19.2.0/24 via 198.18.0.2 dev eth0}), so the
 * hosts must share one L2 network; the kernel forwards pod traffic as it forwards any routed packet, and nothing here
 * is on the data path. With IPv6 (the interface carries it: {@code iface.hasIpv6()}) every peer's IPv6 subnet is routed
 * the same way via its PublicIPv6 ({@code ip -6 route replace 2001:2:19:2::/64 via 2001:2::2 dev eth0}); an
 * IPv6-only config routes IPv6 alone.
 *
 * <p>Lifecycle: {@link #create} checks the interface (flannel's host-gw refuses a PublicIP other than the interface's
 * address), {@link #start} reads the interface's networks, routes the peers known so far and removes routes no lease
 * backs, {@link #apply} follows lease changes, {@link #repair} puts back routes someone else removed, {@link #close}
 * leaves the routes in place so pods keep working while the daemon restarts. The {@link Rtnetlink} connection stays the
 * caller's to close. Calls are serialized.
 */
public final class HostGwBackend implements Backend {
    public static final String TYPE = BackendConfig.HOST_GW;

    private static final Logger log = LoggerFactory.getLogger(HostGwBackend.class);

    private final Rtnetlink nl;
    private final ExternalInterface iface;
    private final NetworkConfig config;
    /** The IPv4 routes; they are made only when the config enables IPv4. */
    private final Half<Integer, Ip4Net, Route> v4;
    /** The IPv6 routes, when the node carries IPv6 ({@code iface.hasIpv6()}); else null. */
    private final Half<Ip6, Ip6Net, Route6> v6;
    private final AtomicLong unroutable = new AtomicLong();
    private Lease local;
    private boolean closed;

    private HostGwBackend(Rtnetlink nl, ExternalInterface iface, NetworkConfig config) {
        this.nl = nl;
        this.iface = iface;
        this.config = config;
        this.v4 = new Half<>(Family.IPV4, config.enableIpv4());
        this.v6 = iface.hasIpv6() ? new Half<>(Family.IPV6, true) : null;
    }

    /** The families this node has routes for, IPv4 first. */
    private List<Half<?, ?, ?>> halves() {
        return v6 == null ? List.of(v4) : List.of(v4, v6);
    }

    /**
     * Registers on this host. Nothing is written to the kernel yet.
     *
     * @param nl a connection in the host's namespace; it stays open after {@link #close()}
     * @throws IllegalArgumentException when the PublicIP is not the interface's own address (a host behind NAT): other
     *                                  hosts route this host's subnet via its PublicIP, so it must be on the link
     */
    public static HostGwBackend create(Rtnetlink nl, ExternalInterface iface, NetworkConfig config) {
        Objects.requireNonNull(nl, "nl");
        Objects.requireNonNull(iface, "iface");
        Objects.requireNonNull(config, "config");
        if (iface.hasIpv6() && !iface.publicIpv6().equals(iface.address6())) {
            throw new IllegalArgumentException("host-gw cannot use PublicIPv6 " + iface.publicIpv6() + ": it is not "
                    + iface.name() + "'s address " + iface.address6() + ", and the other hosts route this host's IPv6 "
                    + "subnet via its PublicIPv6 on their link; drop --public-ipv6 or use the vxlan backend");
        }
        if (config.enableIpv4() && iface.publicIp() != iface.address()) {
            throw new IllegalArgumentException("host-gw cannot use PublicIP " + Ip4.format(iface.publicIp()) + ": it is not "
                    + iface.name() + "'s address " + Ip4.format(iface.address()) + " (behind NAT?), and the other hosts route "
                    + "this host's subnet via its PublicIP on their link; drop --public-ip or use the vxlan backend");
        }
        return new HostGwBackend(nl, iface, config);
    }

    @Override
    public String type() {
        return TYPE;
    }

    /** flannel's host-gw lease carries no BackendData: {@code {"PublicIP":"…","BackendType":"host-gw"}}. */
    @Override
    public String backendData() {
        return null;
    }

    /** IPv6 subnets are routed via PublicIPv6 as IPv4 ones via PublicIP. */
    @Override
    public boolean carriesIpv6() {
        return true;
    }

    /** Nothing is added to packets: pods use the interface's MTU. */
    @Override
    public int mtu() {
        return iface.mtu();
    }

    /**
     * Reads the interface's networks, routes every peer and then removes the routes no peer backs (see {@link
     * Decisions#stale}). Peers the kernel refuses do not stop the others.
     *
     * @throws RouteProgrammingException after everything else was done, if some routes were refused
     */
    @Override
    public synchronized void start(Lease local, List<Lease> peerLeases) {
        requireOpen();
        this.local = Objects.requireNonNull(local, "local");
        List<PeersNotProgrammedException.Failure> failures = new ArrayList<>();
        for (Half<?, ?, ?> half : halves()) {
            half.start(local, peerLeases, failures);
        }
        throwIfAny(failures);
    }

    /**
     * Applies lease changes in order. A peer the kernel refuses is logged and the rest still applied.
     *
     * @throws RouteProgrammingException after the whole batch, if some routes were refused
     */
    @Override
    public synchronized void apply(List<LeaseEvent> events) {
        requireOpen();
        if (local == null) {
            throw new IllegalStateException("apply() before start()");
        }
        List<PeersNotProgrammedException.Failure> failures = new ArrayList<>();
        for (LeaseEvent event : events) {
            for (Half<?, ?, ?> half : halves()) {
                half.apply(local, event, failures);
            }
        }
        throwIfAny(failures);
    }

    /**
     * Puts back every peer's route that someone removed or changed ({@code ip route flush dev eth0}, {@code ip route
     * del …}) and retries the peers the kernel refused before; one INFO line per route put back.
     *
     * @return {@code route} once per route put back, {@code route_v6} once per IPv6 route
     */
    @Override
    public synchronized List<String> repair() {
        requireOpen();
        if (local == null) {
            return List.of();
        }
        List<String> repaired = new ArrayList<>();
        for (Half<?, ?, ?> half : halves()) {
            half.repair(local, repaired);
        }
        return repaired;
    }

    /**
     * The external interface: its routes are this data path's state, so a route flushed or deleted there (and a link or
     * address change, which takes routes with it) makes the daemon check at once.
     */
    @Override
    public int deviceIndex() {
        return iface.index();
    }

    /** host-gw programs no neighbour entries: ARP churn on a busy interface is no reason to check. */
    @Override
    public boolean programsNeighbours() {
        return false;
    }

    /** Peers whose route is in place (IPv6 peers on an IPv6-only node); see {@link #peerCount6()}. */
    @Override
    public synchronized int peerCount() {
        return (config.enableIpv4() || v6 == null ? v4 : v6).routes.programmedCount();
    }

    /** IPv6 peers whose route is in place. */
    public synchronized int peerCount6() {
        return v6 == null ? 0 : v6.routes.programmedCount();
    }

    /**
     * How many times a host-gw peer was refused because its PublicIP (or PublicIPv6) lies on none of the interface's
     * networks of that family (each lease and family once, and again only if it comes back with another address still
     * off-link).
     */
    public long unroutablePeerCount() {
        return unroutable.get();
    }

    /** Leaves every route in place: flannel keeps them so pods keep working across a restart. */
    @Override
    public synchronized void close() {
        closed = true;
    }

    /**
     * One family's routes: the IPv4 halves of the peers' leases via their PublicIP, or the IPv6 halves via their
     * PublicIPv6. Every step is the same for both; {@link Family} supplies what differs.
     */
    private final class Half<A, N, R> {
        private final Family<A, N, R> family;
        /** Whether this node routes the family at all (IPv4: the config enables it). */
        private final boolean enabled;
        private final RouteProgrammer<A, N, R> routes;
        /** The interface's networks of this family, read at start: a peer's public address must lie in one of them. */
        private Family.OnLink<A> onLink;
        /** Peers refused for lying off this L2 network, with the address they were refused for: warned and counted once. */
        private final Map<N, A> offLink = new HashMap<>();

        Half(Family<A, N, R> family, boolean enabled) {
            this.family = family;
            this.enabled = enabled;
            this.routes = new RouteProgrammer<>(family, nl, iface.index(), iface.name());
        }

        /** The local subnet of this family, if this node routes the family; else null. */
        private N localSubnet(Lease local) {
            return enabled && local != null ? family.subnet(local) : null;
        }

        void start(Lease local, List<Lease> peerLeases, List<PeersNotProgrammedException.Failure> failures) {
            N localSubnet = localSubnet(local);
            if (localSubnet == null) {
                return;
            }
            onLink = family.onLink(nl, iface.index());
            log.info("host-gw: routing {}peers on {}'s network(s) {} via their {}", family.prefix(), iface.name(),
                    onLink, family.publicIpsName());
            routes.forgetAll();
            offLink.clear();
            for (Lease peer : peerLeases) {
                N subnet = family.subnet(peer);
                if (subnet == null) {
                    continue; // a peer without this family's half
                }
                if (subnet.equals(localSubnet)) {
                    log.warn("Ignoring a peer lease for the local {}subnet {}", family.prefix(), localSubnet);
                    continue;
                }
                added(peer, failures);
            }
            int stale = routes.reconcile(localSubnet, family.network(config, local), failures);
            log.info("host-gw started for {} on {}: {} {}peer(s) routed, {} stale route(s) removed", localSubnet,
                    iface.name(), routes.programmedCount(), family.prefix(), stale);
        }

        void apply(Lease local, LeaseEvent event, List<PeersNotProgrammedException.Failure> failures) {
            Lease lease = event.lease();
            N localSubnet = localSubnet(local);
            N subnet = family.subnet(lease);
            if (localSubnet == null || subnet == null) {
                return;
            }
            if (subnet.equals(localSubnet)) {
                log.warn("Ignoring an event for the local {}subnet {}", family.prefix(), localSubnet);
                return;
            }
            if (event instanceof LeaseEvent.Added) {
                added(lease, failures);
            } else if (event instanceof LeaseEvent.Removed) {
                offLink.remove(subnet);
                dropRoute(lease, failures);
            }
        }

        void repair(Lease local, List<String> repaired) {
            if (localSubnet(local) != null) {
                routes.repair().forEach(label -> repaired.add(label + family.labelSuffix()));
            }
        }

        private void added(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
            N subnet = family.subnet(lease);
            Decisions.ForLease<A, N, R> decision = Decisions.forLease(family, lease, onLink);
            if (decision instanceof Decisions.Routed<A, N, R> routed) {
                offLink.remove(subnet);
                try {
                    routes.program(routed.route());
                } catch (RuntimeException e) {
                    log.error("Could not route {}peer {}: {}", family.prefix(), subnet, e.getMessage());
                    failures.add(new PeersNotProgrammedException.Failure("peer " + subnet, e));
                }
                return;
            }
            if (decision instanceof Decisions.OffLink<A, N, R> off) {
                A publicIp = off.wanted().publicIp();
                if (!publicIp.equals(offLink.put(subnet, publicIp))) {
                    unroutable.incrementAndGet();
                    log.warn("Cannot route {}peer {}: its {} {} is not on {}'s {}network(s) {}, and host-gw can only "
                            + "route to hosts on the same L2 network; skipping it (the other peers are not affected; "
                            + "across routers use the vxlan backend)", family.prefix(), subnet, family.publicIpName(),
                            family.format(publicIp), iface.name(), family.prefix(), off.onLink());
                }
            } else {
                offLink.remove(subnet);
                if (decision instanceof Decisions.OtherBackend<A, N, R> other && family == Family.IPV4) {
                    // Said once per lease, by the IPv4 half: on a dual-stack node the IPv6 half would repeat it.
                    log.warn("Skipping peer {} ({}): it runs the {} backend, not host-gw", subnet,
                            lease.attrs().publicIpText(), other.backend());
                } else if (decision instanceof Decisions.NoAddress) {
                    log.warn("Skipping {}peer {}: its lease has no {}", family.prefix(), subnet, family.publicIpName());
                }
            }
            if (routes.known(subnet).isPresent()) {
                // The host switched backend or moved off this network: its route is wrong now.
                dropRoute(lease, failures);
            }
        }

        private void dropRoute(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
            N subnet = family.subnet(lease);
            Optional<PeerRoute<A, N, R>> fromLease = Decisions.forLease(family, lease, onLink)
                    instanceof Decisions.Routed<A, N, R> r ? Optional.of(r.route()) : Optional.empty();
            try {
                routes.remove(subnet, fromLease);
            } catch (RuntimeException e) {
                log.error("Could not remove the route to {}peer {}: {}", family.prefix(), subnet, e.getMessage());
                failures.add(new PeersNotProgrammedException.Failure("removing peer " + subnet, e));
            }
        }
    }

    private static void throwIfAny(List<PeersNotProgrammedException.Failure> failures) {
        if (!failures.isEmpty()) {
            throw new RouteProgrammingException(failures);
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("host-gw backend is closed");
        }
    }
}
