package io.flanneld.hostgw;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.backend.UnderlayNetworks;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
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
 * is on the data path.
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
        if (iface.publicIp() != iface.address()) {
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
        onLink = UnderlayNetworks.of(nl.addresses().list(iface.index()).stream()
                .map(LinkAddress::network).toList());
        log.info("host-gw: routing peers on {}'s network(s) {} via their PublicIPs", iface.name(), onLink);
        List<PeersNotProgrammedException.Failure> failures = new ArrayList<>();
        routes.forgetAll();
        offLink.clear();
        for (Lease peer : peerLeases) {
            if (peer.subnet().equals(local.subnet())) {
                log.warn("Ignoring a peer lease for the local subnet {}", local.subnet());
                continue;
            }
            added(peer, failures);
        }
        int stale = routes.reconcile(local.subnet(), config.network(), failures);
        log.info("host-gw started for {} on {}: {} peer(s) routed, {} stale route(s) removed", local.subnet(), iface.name(),
                routes.programmedCount(), stale);
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
            if (event.lease().subnet().equals(local.subnet())) {
                log.warn("Ignoring an event for the local subnet {}", local.subnet());
                continue;
            }
            if (event instanceof LeaseEvent.Added added) {
                added(added.lease(), failures);
            } else if (event instanceof LeaseEvent.Removed removed) {
                removed(removed.lease(), failures);
            }
        }
        throwIfAny(failures);
    }

    /**
     * Puts back every peer's route that someone removed or changed ({@code ip route flush dev eth0}, {@code ip route
     * del …}) and retries the peers the kernel refused before; one INFO line per route put back.
     *
     * @return {@code route} once per route put back
     */
    @Override
    public synchronized List<String> repair() {
        requireOpen();
        if (local == null) {
            return List.of();
        }
        return routes.repair();
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

    /** Peers whose route is in place. */
    @Override
    public synchronized int peerCount() {
        return routes.programmedCount();
    }

    /**
     * How many times a host-gw peer was refused because its PublicIP lies on none of the interface's networks (each
     * lease once, and again only if it comes back with another PublicIP still off-link).
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
