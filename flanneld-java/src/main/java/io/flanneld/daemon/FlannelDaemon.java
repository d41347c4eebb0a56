package io.flanneld.daemon;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.PeersNotProgrammedException;
import io.flanneld.lease.EtcdAccessException;
import io.flanneld.lease.LeaseManager;
import io.flanneld.lease.LeaseRecordFile;
import io.flanneld.lease.LeaseSession;
import io.flanneld.lease.LeaseWatcher;
import io.flanneld.lease.PreviousLease;
import io.flanneld.lease.SubnetEnv;
import io.flanneld.lease.SubnetContentionException;
import io.flanneld.lease.SubnetExhaustedException;
import io.flanneld.lease.SubnetFile;
import io.flanneld.lease.SubnetFileException;
import io.flanneld.lease.RequestCounter;
import io.flanneld.net.ErrnoException;
import io.flanneld.net.IpFamily;
import io.flanneld.net.NetlinkException;
import io.flanneld.net.Rtnetlink;
import io.flanneld.net.SystemdNotify;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Wires the parts together in flannel's order: interface → config → backend → lease →
 * subnet.env → data path → watch and renew, then waits for SIGTERM. The only class that sees
 * both etcd and the data path.
 */
final class FlannelDaemon {
    private static final Logger LOG = LoggerFactory.getLogger("flanneld");

    /** Exit codes: 0 clean stop, 1 a fatal condition (lease lost, subnets exhausted, setup failed), 2 bad flags. */
    static final int EXIT_FATAL = 1;

    private final DaemonOptions options;
    /** What to close on the way out; touched only by the main thread. */
    private final ShutdownOrder shutdownOrder = new ShutdownOrder();
    private final CountDownLatch stop = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final Thread mainThread = Thread.currentThread();
    private final Object phase = new Object();
    private boolean starting = true;
    private final AtomicInteger exitCode = new AtomicInteger(0);
    private volatile boolean leaseHeld;
    private volatile boolean backendRunning;

    FlannelDaemon(DaemonOptions options) {
        this.options = options;
    }

    int run() {
        // SIGTERM and SIGINT are handled, not left to the JVM's shutdown, so that a requested stop
        // exits 0 after clean-up; the hook still covers any other way the JVM is told to exit.
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> {
                LOG.info("SIG{} received, stopping", name);
                requestStop();
            });
        }
        Thread hook = new Thread(this::onSignal, "shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            start();
            synchronized (phase) {
                starting = false;
            }
            LOG.info("running; send SIGTERM to stop (the lease is kept for the next start)");
            stop.await();
        } catch (FatalException e) {
            if (stop.getCount() == 0) {
                // SIGTERM during start-up interrupts whatever start was waiting for (an iptables command, etcd): that
                // step's failure is the stop's doing, not a fault, and a requested stop exits 0.
                LOG.info("stopped during start-up ({})", e.getMessage());
            } else {
                LOG.error(e.getMessage());
                exitCode.set(EXIT_FATAL);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("unexpected failure during start-up", e);
            exitCode.set(EXIT_FATAL);
        } finally {
            shutdown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // The hook is running and waits for us.
            }
        }
        return exitCode.get();
    }

    private void start() throws InterruptedException {
        // The etcd half first: it is most of a start and runs on its own thread while the node's half is set up here.
        CompletableFuture<RequestCounter> etcdRequests = new CompletableFuture<>();
        EtcdStart etcd = EtcdStart.begin(options, etcdRequests);
        closeLater(etcd);
        DaemonMetrics metrics = new DaemonMetrics();
        closeLater(metrics);
        etcdRequests.complete(metrics.etcdRequests());
        if (options.healthzPort() > 0) {
            startHealthServer(metrics);
        }
        // The netlink socket, and a first look at the links, while etcd answers: loading the native layer is a good
        // part of a start, and the interface can only be chosen once the config names the address families.
        Rtnetlink netlink = Rtnetlink.open();
        shutdownOrder.closeLast(netlink);
        metrics.netlink(netlink);
        netlink.linksWithAddresses();
        EtcdStart.Ready etcdReady;
        try {
            etcdReady = etcd.await();
        } catch (EtcdAccessException e) {
            // Waiting cannot fix a CA, a certificate or a password: exit so that the operator (or systemd's and
            // Kubernetes' restart back-off) sees it, rather than retrying the same refusal forever.
            throw new FatalException(e.getMessage());
        }
        LeaseManager leases = etcdReady.leases();
        LeaseSession session = etcdReady.session();
        NetworkConfig wanted = etcdReady.config();
        String configKey = leases.registry().keys().config();
        // The interface is chosen once the config says which address families it must have an address of.
        ExternalInterface iface = selectInterface(netlink, wanted);
        LOG.info("interface {}", iface);
        metrics.lease(leases, () -> leaseHeld);
        Backend backend = create(wanted, iface, netlink);
        shutdownOrder.closeLast(backend); // forwards until the rest of a stop is done
        metrics.backend(backend);
        NetworkConfig config = AddressFamilies.carried(wanted, configKey, backend.type(), backend.carriesIpv6(), LOG::warn);
        if (config.enableIpv6() && !iface.hasIpv6()) {
            // selectInterface insists on an IPv6 address with EnableIPv6; this guards the wiring.
            throw new FatalException("EnableIPv6 is set, but interface " + iface.name() + " has no IPv6 address");
        }

        LeaseAttrs attrs = new LeaseAttrs(iface.publicIp(), backend.type(), backend.backendData());
        if (config.enableIpv6()) {
            attrs = attrs.withIpv6(iface.publicIpv6(), backend.backendV6Data());
        }
        LeaseSession.Acquired acquired;
        try {
            acquired = session.acquire(config, attrs, previousLease());
        } catch (SubnetExhaustedException | SubnetContentionException | EtcdAccessException e) {
            // None of these is mended by waiting: a full range, a range other hosts keep taking, a refusal by etcd.
            throw new FatalException(e.getMessage());
        }
        Lease lease = acquired.lease();
        leaseHeld = true;
        metrics.subnets(lease);
        writeSubnetFile(config, lease, backend.mtu());
        warnIfNotForwarding(lease.subnet() != null, lease.ipv6Subnet() != null);

        // The peers come from acquire's own listing; the watch starts from it and brings what changed since.
        List<Lease> peers = acquired.peers();
        try {
            backend.start(lease, peers);
        } catch (PeersNotProgrammedException e) {
            // The data path runs; the peers the kernel refused are retried at every check, as later refusals are.
            LOG.warn("backend {}: {}; retrying every {} s", backend.type(), e.getMessage(), options.node().resync().toSeconds());
        } catch (Exception e) {
            throw new FatalException("backend " + backend.type() + " failed to start: " + e.getMessage());
        }
        backendRunning = true;
        LOG.info("backend {} started with {} peer(s)", backend.type(), peers.size());
        // The packet filters come after the data path: for the udp backend every millisecond before it runs is pod
        // traffic lost across a restart, while the rules (about 100 ms of iptables commands) follow it a moment later.
        List<PacketFilter> filters = installPacketFilters(config, lease);
        if (options.node().blackholeRoute() && lease.subnet() != null) {
            BlackholeRoute<?> blackhole = BlackholeRoute.add(netlink, IpFamily.IPV4, lease.subnet());
            closeLater(blackhole);
            filters.add(blackhole);
        }
        if (options.node().blackholeRoute() && lease.ipv6Subnet() != null) {
            BlackholeRoute<?> blackhole6 = BlackholeRoute.add(netlink, IpFamily.IPV6, lease.ipv6Subnet());
            closeLater(blackhole6);
            filters.add(blackhole6);
        }

        LeaseWatcher watcher = session.follow(acquired, events -> {
            try {
                backend.apply(events);
            } catch (RuntimeException e) {
                // Kernel refusals are expected failures, already naming the peer and the errno: no stack trace.
                LOG.error("backend {} failed to apply {} lease change(s): {}", backend.type(), events.size(), e.getMessage());
            } catch (Exception e) {
                LOG.error("backend {} failed to apply {} lease change(s)", backend.type(), events.size(), e);
            }
        }, this::fatal, this::recordEtcdLease);
        // Closed before the backend, so that no event reaches a closed data path (the session closes it again, harmlessly).
        closeLater(watcher);
        metrics.watch(watcher);
        NodeKeeper keeper = new NodeKeeper(filters, backend, options.node().resync(), what -> {
            metrics.repaired(what);
            if (what.equals("device") || what.equals("device_v6")) {
                republishIfChanged(leases, backend);
            }
        });
        closeLater(keeper);
        keeper.start();
        try {
            closeLater(io.flanneld.net.KernelChanges.start(keeper::onKernelChange));
        } catch (RuntimeException e) {
            LOG.warn("no kernel change notifications ({}); kernel state is checked every {} s only", e.getMessage(),
                    options.node().resync().toSeconds());
        }
        notifySystemd("READY=1\nSTATUS=subnet " + describeSubnets(lease) + ", backend " + backend.type());
    }

    /** Tells systemd (Type=notify) that subnet.env is written and the data path runs, so dependent units may start. */
    private static void notifySystemd(String state) {
        try {
            if (SystemdNotify.notify(state)) {
                LOG.info("notified systemd: {}", state.lines().findFirst().orElse(state));
            }
        } catch (ErrnoException e) {
            LOG.warn("could not notify systemd at $NOTIFY_SOCKET: {}", e.getMessage());
        }
    }

    private void startHealthServer(DaemonMetrics metrics) {
        try {
            HealthServer server = HealthServer.start(options.healthzIp(), options.healthzPort(),
                    () -> new HealthStatus(healthy(), healthReason()));
            closeLater(server);
            server.addHandler("/metrics", metrics.handler());
            LOG.info("health: http://{}:{}/healthz, metrics: /metrics", options.healthzIp(), server.port());
        } catch (IOException e) {
            // Names the address already.
            throw new FatalException("--healthz-ip/--healthz-port: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new FatalException("--healthz-ip/--healthz-port: cannot listen on " + options.healthzIp() + ":" + options.healthzPort()
                    + ": " + e.getMessage());
        }
    }

    /** "198.19.7.0/24", "198.19.7.0/24 and 2001:2:19:7::/64" or "2001:2:19:7::/64": the subnets a lease holds. */
    static String describeSubnets(Lease lease) {
        if (lease.ipv6Subnet() == null) {
            return String.valueOf(lease.subnet());
        }
        return lease.subnet() == null ? lease.ipv6Subnet().toString() : lease.subnet() + " and " + lease.ipv6Subnet();
    }

    private ExternalInterface selectInterface(Rtnetlink nl, NetworkConfig config) {
        try {
            return InterfaceSelector.select(nl, options.iface(), options.publicIp(), options.publicIpv6(),
                    new InterfaceSelector.Families(config.enableIpv4(), config.enableIpv6()));
        } catch (InterfaceSelectionException e) {
            throw new FatalException("cannot choose the interface: " + e.getMessage());
        }
    }

    private static Backend create(NetworkConfig config, ExternalInterface iface, Rtnetlink netlink) {
        try {
            return Backends.create(config, iface, netlink);
        } catch (Backends.UnsupportedBackendException | NetlinkException | IllegalArgumentException e) {
            // IllegalArgumentException: the interface cannot carry this backend (host-gw behind NAT, an MTU too small).
            throw new FatalException("backend " + config.backend().type() + ": " + e.getMessage());
        }
    }

    private Optional<PreviousLease> previousLease() {
        Optional<SubnetEnv> env;
        try {
            env = SubnetFile.read(options.subnetFile());
        } catch (SubnetFileException e) {
            LOG.warn("ignoring the previous subnet file: {}", e.getMessage());
            return Optional.empty();
        }
        if (env.isEmpty()) {
            return Optional.empty();
        }
        SubnetEnv previous = env.get();
        long etcdLease = LeaseRecordFile.read(LeaseRecordFile.beside(options.subnetFile()))
                .filter(r -> java.util.Objects.equals(r.subnet(), previous.subnet())
                        && (r.ipv6Subnet() == null || r.ipv6Subnet().equals(previous.ipv6Subnet())))
                .map(PreviousLease::etcdLeaseId)
                .orElse(0L);
        PreviousLease lease = new PreviousLease(previous.subnet(), etcdLease, previous.ipv6Subnet());
        LOG.info("previous subnet {} (from {})", previous.hasIpv4() && previous.hasIpv6()
                ? previous.subnet() + " and " + previous.ipv6Subnet()
                : previous.hasIpv4() ? previous.subnet() : previous.ipv6Subnet(), options.subnetFile());
        return Optional.of(lease);
    }

    /** Keeps subnet.env.lease naming the etcd lease the key is bound to after the key was re-created. */
    private void recordEtcdLease(Lease lease) {
        Path record = LeaseRecordFile.beside(options.subnetFile());
        try {
            LeaseRecordFile.write(record, new PreviousLease(lease.subnet(), lease.etcdLeaseId(), lease.ipv6Subnet()));
            LOG.info("lease {}: now bound to etcd lease {}, recorded in {}", describeSubnets(lease), Long.toHexString(lease.etcdLeaseId()), record);
        } catch (IOException e) {
            LOG.warn("lease {}: cannot record etcd lease {} in {}: {}", describeSubnets(lease), Long.toHexString(lease.etcdLeaseId()), record,
                    e.getMessage());
        }
    }

    private void writeSubnetFile(NetworkConfig config, Lease lease, int mtu) {
        Path file = options.subnetFile();
        try {
            SubnetFile.write(file, subnetEnv(config, lease, mtu, options.ipMasq()));
            LeaseRecordFile.write(LeaseRecordFile.beside(file), new PreviousLease(lease.subnet(), lease.etcdLeaseId(), lease.ipv6Subnet()));
        } catch (IOException e) {
            throw new FatalException("cannot write " + file + ": " + e.getMessage());
        }
        LOG.info("wrote {}: subnet {}, MTU {}", file, describeSubnets(lease), mtu);
        if (options.cniConfDir().isPresent()) {
            try {
                Path conf = CniConfig.write(options.cniConfDir().get(), lease.subnet() == null ? null : config.network(),
                        lease.subnet(), lease.ipv6Subnet() == null ? null : config.ipv6().network(), lease.ipv6Subnet(), mtu,
                        options.ipMasq());
                LOG.info("wrote {}: bridge cni0, host-local over {}", conf, describeSubnets(lease));
            } catch (IOException e) {
                throw new FatalException("--cni-conf-dir: cannot write " + options.cniConfDir().get().resolve(CniConfig.FILE_NAME) + ": " + e.getMessage());
            }
        }
    }

    /** subnet.env for this lease: the variables of each family the lease holds a subnet of, as flannel writes them. */
    static SubnetEnv subnetEnv(NetworkConfig config, Lease lease, int mtu, boolean ipMasq) {
        return new SubnetEnv(lease.subnet() == null ? null : config.network(), lease.subnet(), mtu, ipMasq,
                lease.ipv6Subnet() == null ? null : config.ipv6().network(), lease.ipv6Subnet());
    }

    /**
     * The forward rules (unless {@code --iptables-forward-rules=false}) and, with {@code --ip-masq}, the masquerade
     * rules, through iptables or, with the config's {@code EnableNFTables}, through nftables; the masquerade rules
     * installed now (a failure is fatal, as in flanneld), the forward rules by the keeper's first check and handed to the {@link NodeKeeper}, which keeps them; removed on a clean stop.
     */
    private List<PacketFilter> installPacketFilters(NetworkConfig config, Lease lease) {
        List<PacketFilter> filters = new java.util.ArrayList<>();
        boolean nft = config.enableNFTables();
        Iptables iptables = Iptables.local();
        NfTables nftables = NfTables.local();
        boolean v4 = lease.subnet() != null;
        boolean v6 = lease.ipv6Subnet() != null;
        if (options.node().forwardRules()) {
            // As flanneld: installed by the keeper's first check, right after start, not on the way to a running data
            // path (a busy xtables lock must not hold up subnet.env's consumers); a failure is logged and retried.
            if (v4) {
                filters.add(forwardFilter(nft ? NfTablesRules.forward(nftables, config.network())
                        : ForwardRules.chain(iptables, config.network()), config.network().toString()));
            }
            if (v6) {
                Ip6Net network6 = config.ipv6().network();
                filters.add(forwardFilter(nft ? NfTablesRules.forward6(nftables, network6)
                        : ForwardRules.chain6(iptables, network6), network6.toString()));
            }
        }
        if (options.ipMasq()) {
            boolean randomFully = options.node().randomFully();
            if (v4) {
                filters.add(install("--ip-masq", () -> nft
                        ? NfTablesRules.masquerade(nftables, config.network(), lease.subnet(), randomFully)
                        : IpMasq.withDetectedRandomFully(iptables, config.network(), lease.subnet(), randomFully)));
            }
            if (v6) {
                Ip6Net network6 = config.ipv6().network();
                filters.add(install("--ip-masq", () -> nft
                        ? NfTablesRules.masquerade6(nftables, network6, lease.ipv6Subnet(), randomFully)
                        : IpMasq.ipv6WithDetectedRandomFully(iptables, network6, lease.ipv6Subnet(), randomFully)));
            }
        }
        return filters;
    }

    private PacketFilter forwardFilter(PacketFilter forward, String network) {
        closeLater(forward);
        LOG.info("--iptables-forward-rules: accepting forwarded traffic from and to {} in {}, checked every {} s",
                network, forward.where(), options.node().resync().toSeconds());
        return forward;
    }

    private interface FilterFactory {
        PacketFilter create() throws PacketFilterException;
    }

    private PacketFilter install(String flag, FilterFactory factory) {
        try {
            PacketFilter filter = factory.create();
            filter.ensure();
            closeLater(filter);
            LOG.info("{}: rules in place in {}", flag, filter.where());
            return filter;
        } catch (PacketFilterException e) {
            throw new FatalException(flag + ": " + e.getMessage());
        }
    }

    /**
     * One warning when this node does not forward IPv4: pods on other nodes then cannot reach pods here whatever the
     * data path does. flannel leaves the sysctl to the operator (Docker and kubelet's setups turn it on).
     */
    private static void warnIfNotForwarding(boolean ipv4, boolean ipv6) {
        Optional<Boolean> forwarding = Forwarding.ipv4Enabled();
        if (ipv4 && forwarding.isPresent() && !forwarding.get()) {
            LOG.warn("net.ipv4.ip_forward is 0: this node does not forward packets, so pod traffic between nodes stops here; "
                    + "sysctl -w net.ipv4.ip_forward=1 (Docker turns it on when it starts)");
        }
        Optional<Boolean> forwarding6 = Forwarding.ipv6Enabled();
        if (ipv6 && forwarding6.isPresent() && !forwarding6.get()) {
            LOG.warn("net.ipv6.conf.all.forwarding is 0: this node does not forward IPv6 packets, so IPv6 pod traffic between "
                    + "nodes stops here; sysctl -w net.ipv6.conf.all.forwarding=1");
        }
    }

    /** After the data path's device was re-created: if its BackendData changed (another VtepMAC), peers must learn it. */
    private static void republishIfChanged(LeaseManager leases, Backend backend) {
        LeaseAttrs held = leases.heldAttrs();
        String now = backend.backendData();
        String now6 = held == null || held.publicIpv6() == null ? null : backend.backendV6Data();
        if (held != null && (!java.util.Objects.equals(now, held.backendData())
                || !java.util.Objects.equals(now6, held.backendV6Data()))) {
            leases.republish(new LeaseAttrs(held.publicIp(), held.backendType(), now, held.publicIpv6(), now6));
        }
    }

    /** The lease was lost to another host: stop, exit 1. The lease manager has logged why. */
    private void fatal(String message) {
        exitCode.set(EXIT_FATAL);
        // Pods must not be given addresses from a subnet this node no longer holds.
        if (options.cniConfDir().isPresent()) {
            try {
                CniConfig.remove(options.cniConfDir().get());
                LOG.warn("removed {}: this node no longer holds its subnet", options.cniConfDir().get().resolve(CniConfig.FILE_NAME));
            } catch (IOException e) {
                LOG.error("could not remove the CNI config in {}: {}", options.cniConfDir().get(), e.getMessage());
            }
        }
        stop.countDown();
    }

    boolean healthy() {
        return leaseHeld && backendRunning && stop.getCount() > 0;
    }

    String healthReason() {
        if (!leaseHeld) {
            return "lease not held yet";
        }
        if (!backendRunning) {
            return "backend not running";
        }
        return stop.getCount() == 0 ? "shutting down" : "ok";
    }

    private void closeLater(AutoCloseable c) {
        shutdownOrder.closeLater(c);
    }

    /** JVM shutdown by other means: release the main thread, then wait for its clean-up. */
    private void onSignal() {
        requestStop();
        try {
            if (!stopped.await(20, TimeUnit.SECONDS)) {
                LOG.warn("clean-up did not finish within 20 s; exiting anyway");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Ends the daemon. The main thread is interrupted only while it is starting (it may be waiting for
     * etcd or the config); afterwards an interrupt could cut short the clean-up's own work.
     */
    private void requestStop() {
        synchronized (phase) {
            stop.countDown();
            if (starting) {
                mainThread.interrupt();
            }
        }
    }

    private void shutdown() {
        synchronized (phase) {
            starting = false;
        }
        Thread.interrupted();
        notifySystemd("STOPPING=1");
        shutdownOrder.closeAll((c, e) -> LOG.warn("during shutdown: {}", e.getMessage()));
        backendRunning = false;
        LOG.info("stopped{}", exitCode.get() == 0 && leaseHeld ? "; lease kept for the next start" : "");
        stopped.countDown();
    }

    /** A condition that ends the daemon with a message and exit code 1. */
    static final class FatalException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FatalException(String message) {
            super(message);
        }
    }
}
