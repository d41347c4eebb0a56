package io.flanneld.hostgw;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkAddress6;
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
    private final RouteProgrammer routes;
    /** The IPv6 routes, when the node carries IPv6 ({@code iface.hasIpv6()}); else null. */
    private final RouteProgrammer6 routes6;
    /** The interface's global IPv6 networks, read at start: a peer's PublicIPv6 must lie in one of them. */
    private List<Ip6Net> onLink6 = List.of();
    private final Map<Ip6Net, Ip6> offLink6 = new HashMap<>();
    /** The interface's networks, read at start: a peer's PublicIP must lie in one of them. */
    private UnderlayNetworks onLink = UnderlayNetworks.of(List.of());
    /** Peers refused for lying off this L2 network, with the PublicIP they were refused for: warned and counted once. */
    private final Map<Ip4Net, Integer> offLink = new HashMap<>();
    private final AtomicLong unroutable = new AtomicLong();
    private Lease local;
    private boolean closed;

    private HostGwBackend(Rtnetlink nl, ExternalInterface iface, NetworkConfig config) {
        this.nl = nl;
        this.iface = iface;
        this.config = config;
        this.routes = new RouteProgrammer(nl, iface.index(), iface.name());
        this.routes6 = iface.hasIpv6() ? new RouteProgrammer6(nl, iface.index(), iface.name()) : null;
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
        if (carriesIpv4()) {
            onLink = UnderlayNetworks.of(nl.addresses().list(iface.index()).stream()
                    .map(LinkAddress::network).toList());
            log.info("host-gw: routing peers on {}'s network(s) {} via their PublicIPs", iface.name(), onLink);
            routes.forgetAll();
            offLink.clear();
            for (Lease peer : peerLeases) {
                if (peer.subnet() == null) {
                    continue; // an IPv6-only peer
                }
                if (peer.subnet().equals(local.subnet())) {
                    log.warn("Ignoring a peer lease for the local subnet {}", local.subnet());
                    continue;
                }
                added(peer, failures);
            }
            int stale = routes.reconcile(local.subnet(), config.network(), failures);
            log.info("host-gw started for {} on {}: {} peer(s) routed, {} stale route(s) removed", local.subnet(),
                    iface.name(), routes.programmedCount(), stale);
        }
        if (carries6()) {
            onLink6 = nl.addresses().list6(iface.index()).stream()
                    .filter(a -> a.scope() == LinkAddress6.SCOPE_UNIVERSE).map(LinkAddress6::network).distinct()
                    .toList();
            log.info("host-gw: routing IPv6 peers on {}'s network(s) {} via their PublicIPv6", iface.name(), onLink6);
            routes6.forgetAll();
            offLink6.clear();
            for (Lease peer : peerLeases) {
                if (peer.ipv6Subnet() == null) {
                    continue; // an IPv4-only peer
                }
                if (peer.ipv6Subnet().equals(local.ipv6Subnet())) {
                    log.warn("Ignoring a peer lease for the local IPv6 subnet {}", local.ipv6Subnet());
                    continue;
                }
                added6(peer, failures);
            }
            Ip6Net network6 = config.ipv6() != null ? config.ipv6().network() : local.ipv6Subnet();
            int stale = routes6.reconcile(local.ipv6Subnet(), network6, failures);
            log.info("host-gw started for {} on {}: {} IPv6 peer(s) routed, {} stale route(s) removed",
                    local.ipv6Subnet(), iface.name(), routes6.programmedCount(), stale);
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
            Lease lease = event.lease();
            boolean v4 = carriesIpv4() && lease.subnet() != null;
            boolean v6 = carries6() && lease.ipv6Subnet() != null;
            if (v4 && lease.subnet().equals(local.subnet())) {
                log.warn("Ignoring an event for the local subnet {}", local.subnet());
                v4 = false;
            }
            if (v6 && lease.ipv6Subnet().equals(local.ipv6Subnet())) {
                log.warn("Ignoring an event for the local IPv6 subnet {}", local.ipv6Subnet());
                v6 = false;
            }
            if (event instanceof LeaseEvent.Added) {
                if (v4) {
                    added(lease, failures);
                }
                if (v6) {
                    added6(lease, failures);
                }
            } else if (event instanceof LeaseEvent.Removed) {
                if (v4) {
                    removed(lease, failures);
                }
                if (v6) {
                    removed6(lease, failures);
                }
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
        if (carriesIpv4()) {
            repaired.addAll(routes.repair());
        }
        if (carries6()) {
            routes6.repair().forEach(label -> repaired.add(label + "_v6"));
        }
        return repaired;
    }

    /** Whether this node routes IPv4 peers: the config enables IPv4 and the local lease has an IPv4 subnet. */
    private boolean carriesIpv4() {
        return config.enableIpv4() && local != null && local.subnet() != null;
    }

    /** Whether this node routes IPv6 peers: the interface carries IPv6 and the local lease has an IPv6 subnet. */
    private boolean carries6() {
        return routes6 != null && local != null && local.ipv6Subnet() != null;
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
        return config.enableIpv4() || routes6 == null ? routes.programmedCount() : routes6.programmedCount();
    }

    /** IPv6 peers whose route is in place. */
    public synchronized int peerCount6() {
        return routes6 == null ? 0 : routes6.programmedCount();
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

    private void added(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        Ip4Net subnet = lease.subnet();
        Decisions.ForLease decision = Decisions.forLease(lease, onLink);
        if (decision instanceof Decisions.Routed routed) {
            offLink.remove(subnet);
            try {
                routes.program(routed.route());
            } catch (RuntimeException e) {
                log.error("Could not route peer {}: {}", subnet, e.getMessage());
                failures.add(new PeersNotProgrammedException.Failure("peer " + subnet, e));
            }
            return;
        }
        if (decision instanceof Decisions.OtherBackend other) {
            offLink.remove(subnet);
            log.warn("Skipping peer {} ({}): it runs the {} backend, not host-gw", subnet, lease.attrs().publicIpText(),
                    other.backend());
        } else if (decision instanceof Decisions.OffLink off) {
            Integer before = offLink.put(subnet, off.wanted().publicIp());
            if (before == null || before != off.wanted().publicIp()) {
                unroutable.incrementAndGet();
                log.warn("Cannot route peer {}: its PublicIP {} is not on {}'s network(s) {}, and host-gw can only route "
                        + "to hosts on the same L2 network; skipping it (the other peers are not affected; across routers "
                        + "use the vxlan backend)", subnet, lease.attrs().publicIpText(), iface.name(), off.onLink());
            }
        }
        if (routes.known(subnet).isPresent()) {
            // The host switched backend or moved off this network: its route is wrong now.
            dropRoute(lease, failures);
        }
    }

    private void removed(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        offLink.remove(lease.subnet());
        dropRoute(lease, failures);
    }

    private void dropRoute(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        Ip4Net subnet = lease.subnet();
        Optional<PeerRoute> fromLease = Decisions.forLease(lease, onLink) instanceof Decisions.Routed r
                ? Optional.of(r.route()) : Optional.empty();
        try {
            routes.remove(subnet, fromLease);
        } catch (RuntimeException e) {
            log.error("Could not remove the route to peer {}: {}", subnet, e.getMessage());
            failures.add(new PeersNotProgrammedException.Failure("removing peer " + subnet, e));
        }
    }

    private void added6(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        Ip6Net subnet = lease.ipv6Subnet();
        Decisions6.ForLease decision = Decisions6.forLease(lease, onLink6);
        if (decision instanceof Decisions6.Routed routed) {
            offLink6.remove(subnet);
            try {
                routes6.program(routed.route());
            } catch (RuntimeException e) {
                log.error("Could not route IPv6 peer {}: {}", subnet, e.getMessage());
                failures.add(new PeersNotProgrammedException.Failure("peer " + subnet, e));
            }
            return;
        }
        if (decision instanceof Decisions6.OffLink off) {
            Ip6 before = offLink6.put(subnet, off.wanted().publicIp());
            if (!off.wanted().publicIp().equals(before)) {
                unroutable.incrementAndGet();
                log.warn("Cannot route IPv6 peer {}: its PublicIPv6 {} is not on {}'s IPv6 network(s) {}, and host-gw "
                        + "can only route to hosts on the same L2 network; skipping it (the other peers are not "
                        + "affected; across routers use the vxlan backend)", subnet, off.wanted().publicIp(),
                        iface.name(), off.onLink());
            }
        } else {
            offLink6.remove(subnet);
            if (decision instanceof Decisions6.NoIpv6) {
                log.warn("Skipping IPv6 peer {}: its lease has no PublicIPv6", subnet);
            }
            // another backend: already warned for by the IPv4 half on a dual-stack node
        }
        if (routes6.known(subnet).isPresent()) {
            dropRoute6(lease, failures);
        }
    }

    private void removed6(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        offLink6.remove(lease.ipv6Subnet());
        dropRoute6(lease, failures);
    }

    private void dropRoute6(Lease lease, List<PeersNotProgrammedException.Failure> failures) {
        Ip6Net subnet = lease.ipv6Subnet();
        Optional<PeerRoute6> fromLease = Decisions6.forLease(lease, onLink6) instanceof Decisions6.Routed r
                ? Optional.of(r.route()) : Optional.empty();
        try {
            routes6.remove(subnet, fromLease);
        } catch (RuntimeException e) {
            log.error("Could not remove the route to IPv6 peer {}: {}", subnet, e.getMessage());
            failures.add(new PeersNotProgrammedException.Failure("removing peer " + subnet, e));
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
