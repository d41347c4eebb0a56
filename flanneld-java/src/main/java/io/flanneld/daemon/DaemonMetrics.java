package io.flanneld.daemon;

import io.flanneld.backend.Backend;
import io.flanneld.hostgw.HostGwBackend;
import io.flanneld.lease.LeaseManager;
import io.flanneld.lease.LeaseWatcher;
import io.flanneld.lease.RequestCounter;
import io.flanneld.net.Rtnetlink;
import io.flanneld.udp.UdpBackend;
import io.flanneld.udp.UdpCounters;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.ToLongFunction;

/**
 * The daemon's Prometheus metrics (served at /metrics beside /healthz). The parts expose plain
 * counters; this class is the only one that knows micrometer, so the lease manager and the
 * backends stay free of it. Names follow Prometheus conventions: {@code flannel_} prefix,
 * {@code _total} for counters, base units in seconds.
 */
final class DaemonMetrics implements AutoCloseable {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();

    DaemonMetrics() {
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    /** Times every etcd request and counts those that failed. */
    RequestCounter etcdRequests() {
        Timer latency = Timer.builder("flannel.etcd.request").description("etcd requests and their latency").register(registry);
        Counter errors = Counter.builder("flannel.etcd.request.errors")
                .description("etcd requests that failed (no answer, timeout, refused)").register(registry);
        return new RequestCounter() {
            @Override
            public void request() {
            }

            @Override
            public void completed(long nanos, boolean failed) {
                latency.record(nanos, TimeUnit.NANOSECONDS);
                if (failed) {
                    errors.increment();
                }
            }
        };
    }

    /**
     * {@code flannel_lease_subnet{family="ipv4"|"ipv6",subnet="…"} 1}: the subnets this host holds, one series per
     * family, so a dual-stack node shows both and an IPv6-only node its IPv6 subnet alone.
     */
    void subnets(io.flanneld.schema.Lease lease) {
        if (lease.subnet() != null) {
            Gauge.builder("flannel.lease.subnet", () -> 1).tag("family", "ipv4").tag("subnet", lease.subnet().toString())
                    .description("the subnets this host holds, per address family").register(registry);
        }
        if (lease.ipv6Subnet() != null) {
            Gauge.builder("flannel.lease.subnet", () -> 1).tag("family", "ipv6").tag("subnet", lease.ipv6Subnet().toString())
                    .description("the subnets this host holds, per address family").register(registry);
        }
    }

    void lease(LeaseManager leases, BooleanSupplier held) {
        Gauge.builder("flannel.lease.held", () -> held.getAsBoolean() ? 1 : 0)
                .description("1 while this host holds its subnet lease").register(registry);
        Gauge.builder("flannel.lease.expiry", () -> secondsUntil(leases.expiresAt()))
                .baseUnit("seconds").description("seconds until the lease expires unless renewed (+Inf for a reservation)")
                .register(registry);
        FunctionCounter.builder("flannel.lease.renewals", leases, LeaseManager::renewalCount)
                .description("successful lease renewals").register(registry);
        FunctionCounter.builder("flannel.lease.renewal.failures", leases, LeaseManager::renewalFailureCount)
                .description("lease renewals that failed and were retried").register(registry);
    }

    private static double secondsUntil(Instant expiry) {
        if (expiry == null) {
            return Double.NaN;
        }
        if (expiry.equals(Instant.MAX)) {
            return Double.POSITIVE_INFINITY;
        }
        return Duration.between(Instant.now(), expiry).toMillis() / 1000.0;
    }

    void watch(LeaseWatcher watcher) {
        FunctionCounter.builder("flannel.watch.resyncs", watcher, LeaseWatcher::resyncCount)
                .description("full re-lists of the leases after etcd compacted the watched revision or lost its data").register(registry);
        FunctionCounter.builder("flannel.watch.reconnects", watcher, LeaseWatcher::reconnectCount)
                .description("lease watch resumed after a break").register(registry);
        FunctionCounter.builder("flannel.watch.data.losses", watcher, LeaseWatcher::dataLossCount)
                .description("etcd came back behind the revision already seen (wiped or restored from a backup)").register(registry);
    }

    void backend(Backend backend) {
        Gauge.builder("flannel.backend.peers", backend, Backend::peerCount).tag("backend", backend.type())
                .description("other hosts the data path is programmed for").register(registry);
        if (backend instanceof UdpBackend udp) {
            udpForwarding(udp);
        }
        if (backend instanceof HostGwBackend hostGw) {
            FunctionCounter.builder("flannel.hostgw.unroutable.peers", hostGw, HostGwBackend::unroutablePeerCount)
                    .description("host-gw peers refused because their PublicIP is on none of the interface's networks")
                    .register(registry);
        }
    }

    /** The udp backend's own data path: packets and bytes per direction, drops per reason. */
    private void udpForwarding(UdpBackend udp) {
        packets("tun_to_udp", udp, c -> c.tunToUdpPackets(), c -> c.tunToUdpBytes());
        packets("udp_to_tun", udp, c -> c.udpToTunPackets(), c -> c.udpToTunBytes());
        for (String reason : new String[] {"unknown_peer", "spoofed_source", "ttl", "no_route", "malformed"}) {
            FunctionCounter.builder("flannel.udp.dropped", udp, u -> u.counters().dropsByReason().getOrDefault(reason, 0L))
                    .tag("reason", reason).description("packets dropped by the udp backend, per reason").register(registry);
        }
        FunctionCounter.builder("flannel.udp.io.errors", udp, u -> u.counters().ioErrors())
                .description("failed reads and writes on the TUN device or the socket").register(registry);
        offload("tso", udp, o -> o.tso());
        offload("uso", udp, o -> o.uso());
        offload("tcp_coalesce", udp, o -> o.coalesce());
        offload("udp_gso", udp, o -> o.udpGso());
        offload("udp_gro", udp, o -> o.udpGro());
    }

    /** 1 while the udp backend runs with this kernel offload (probed at start), else 0. */
    private void offload(String feature, UdpBackend udp, java.util.function.Predicate<io.flanneld.udp.Offloads> on) {
        Gauge.builder("flannel.udp.offload", udp, u -> on.test(u.offloads()) ? 1 : 0).tag("feature", feature)
                .description("1 while the udp backend uses this kernel offload").register(registry);
    }

    private void packets(String direction, UdpBackend udp, ToLongFunction<UdpCounters> packets, ToLongFunction<UdpCounters> bytes) {
        FunctionCounter.builder("flannel.udp.packets", udp, u -> packets.applyAsLong(u.counters()))
                .tag("direction", direction).description("packets forwarded by the udp backend").register(registry);
        FunctionCounter.builder("flannel.udp.bytes", udp, u -> bytes.applyAsLong(u.counters()))
                .tag("direction", direction).baseUnit("bytes").description("bytes forwarded by the udp backend").register(registry);
    }

    void netlink(Rtnetlink netlink) {
        FunctionCounter.builder("flannel.netlink.requests", netlink, Rtnetlink::requestCount)
                .description("rtnetlink requests sent to the kernel").register(registry);
        FunctionCounter.builder("flannel.netlink.errors", netlink, Rtnetlink::errorCount)
                .description("rtnetlink requests the kernel refused").register(registry);
    }

    /** Counts one repair of kernel state or rules someone else changed: {@code flannel_repairs_total{what}}. */
    void repaired(String what) {
        Counter.builder("flannel.repairs").description("kernel state and packet-filter rules put back after someone else changed them")
                .tag("what", what).register(registry).increment();
    }

    /** Serves the Prometheus text format; a scrape reads the meters in memory, so it can run on the listener's thread. */
    /** The Prometheus text /metrics serves. */
    String scrape() {
        return registry.scrape();
    }

    HttpRoutes.Handler handler() {
        return request -> new HttpRoutes.Response(200, "text/plain; version=0.0.4; charset=utf-8",
                registry.scrape().getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
