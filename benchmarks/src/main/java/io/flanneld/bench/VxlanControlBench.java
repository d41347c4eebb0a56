package io.flanneld.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.lease.EtcdClients;
import io.flanneld.lease.EtcdOptions;
import io.flanneld.lease.LeaseSnapshot;
import io.flanneld.lease.LeaseWatcher;
import io.flanneld.lease.SubnetRegistry;
import io.flanneld.net.Link;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.LeaseCodec;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.vxlan.VtepData;
import io.flanneld.vxlan.VxlanBackend;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Control-plane figures of the VXLAN backend, on the project's own classes: a real etcd on loopback (testkit's
 * {@link EtcdProcess}), a host namespace (testkit's {@link NetnsFabric}), subnet-lease's {@link SubnetRegistry} and
 * {@link LeaseWatcher}, and {@link VxlanBackend} on {@link Rtnetlink#openInNamespace}.
 *
 * <ol>
 *   <li><b>Lease-to-route latency.</b> The watcher's sink calls {@code backend.apply}, as the daemon wires it. Peer
 *   leases 198.19.N.0/24 (BackendType vxlan, BackendData {"VNI":1,"VtepMAC":…}, PublicIP 198.18.1.x, bound to an etcd
 *   lease as a host's lease is) are created one at a time with {@link SubnetRegistry#create}; each is timed from just
 *   before the etcd request to the moment {@code apply()} has returned for it. The next lease is put only after that.
 *   The first {@code LAT_WARMUP} leases warm the JIT and are not counted.</li>
 *   <li><b>Cold start with 1,000 peers.</b> 1,000 leases (/26 subnets: a /16 has only 255 /24s) are in etcd; on a
 *   fresh host namespace the clock runs over {@code listLeases} + {@code LeaseWatcher.peersOf} +
 *   {@code VxlanBackend.create} + {@code start(local, peers)}; then the netlink dumps must show 1,000 ARP, 1,000 FDB
 *   entries and 1,000 routes on flannel.1. Repeated {@code COLD_REPS} times, each on a new namespace.</li>
 * </ol>
 * No packet is sent to any peer: the PublicIPs are addresses nothing answers, inside 198.18.0.0/16.
 *
 * <p>Environment: {@code LAT_PEERS} (default 200, at most 230), {@code LAT_WARMUP} (10), {@code COLD_PEERS} (1000,
 * at most 1020), {@code COLD_REPS} (3). System property {@code bench.out}: results directory. Needs root.
 */
public final class VxlanControlBench {
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final Duration APPLY_WAIT = Duration.ofSeconds(10);

    private VxlanControlBench() {
    }

    public static void main(String[] args) throws Exception {
        int latPeers = Math.min(envInt("LAT_PEERS", 200), 230);
        int warmup = Math.min(envInt("LAT_WARMUP", 10), 20);
        int coldPeers = Math.min(envInt("COLD_PEERS", 1000), 1020);
        int coldReps = Math.max(1, Math.min(envInt("COLD_REPS", 3), 10));
        Path out = Path.of(System.getProperty("bench.out", "benchmarks/results"));

        Map<String, Object> result = new LinkedHashMap<>();
        String stamp = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'"));
        result.put("benchmark", "vxlan-control");
        result.put("utc", stamp);
        result.put("machine", Map.of("kernel", System.getProperty("os.version"),
                "nproc", Runtime.getRuntime().availableProcessors(),
                "java", System.getProperty("java.version")));

        try (NetnsFabric fabric = NetnsFabric.create();
             EtcdProcess etcd = EtcdProcess.start();
             Client client = EtcdClients.connect(EtcdOptions.plain(etcd.endpoint()))) {
            SubnetRegistry registry = new SubnetRegistry(client, EtcdKeys.defaults());
            result.put("lease_to_route", leaseToRoute(fabric, registry, latPeers, warmup));
            deleteAllLeases(client, registry.keys());
            result.put("cold_start", coldStart(fabric, client, registry, coldPeers, coldReps));
        }

        Files.createDirectories(out);
        Path file = out.resolve("vxlan-control-" + stamp + ".json");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), result);
        printSummary(result);
        System.out.println("wrote " + file);
    }

    // ---- (a) lease-to-route latency -----------------------------------------------------------------------------

    private static Map<String, Object> leaseToRoute(NetnsFabric fabric, SubnetRegistry registry, int peers, int warmup)
            throws Exception {
        NetworkConfig config = config(24);
        NetnsFabric.Host host = fabric.addHost("lat", "198.18.0.1/16");
        Ip4Net own = Ip4Net.parse("198.19.1.0/24");
        Map<Ip4Net, CompletableFuture<Long>> appliedAt = new ConcurrentHashMap<>();
        long[] applyNanos = new long[peers + warmup];
        int[] applyCalls = {0};
        try (Rtnetlink nl = Rtnetlink.openInNamespace(host.netns())) {
            ExternalInterface iface = iface(nl, host);
            VxlanBackend backend = VxlanBackend.create(nl, iface, config);
            Lease local = new Lease(own, new LeaseAttrs(iface.publicIp(), VxlanBackend.TYPE, backend.backendData()), 0, 0);
            LeaseSnapshot initial = registry.listLeases();
            List<Lease> initialPeers = LeaseWatcher.peersOf(initial, config, own);
            backend.start(local, initialPeers);
            // The daemon's sink: apply the batch; here it also notes when apply() returned for each added lease.
            try (LeaseWatcher watcher = new LeaseWatcher(registry, config, own, events -> {
                long before = System.nanoTime();
                backend.apply(events);
                long done = System.nanoTime();
                if (applyCalls[0] < applyNanos.length) {
                    applyNanos[applyCalls[0]++] = done - before;
                }
                for (LeaseEvent e : events) {
                    if (e instanceof LeaseEvent.Added) {
                        appliedAt.computeIfAbsent(e.lease().subnet(), k -> new CompletableFuture<>()).complete(done);
                    }
                }
            }, ownKey -> { })) {
                watcher.start(initial, initialPeers);
                long etcdLease = registry.grant(Duration.ofHours(1)).id();
                List<Double> total = new ArrayList<>();
                List<Double> putRtt = new ArrayList<>();
                for (int i = 0; i < warmup + peers; i++) {
                    Ip4Net subnet = Ip4Net.parse("198.19." + (2 + i) + ".0/24");
                    LeaseAttrs attrs = peerAttrs(i);
                    CompletableFuture<Long> applied = appliedAt.computeIfAbsent(subnet, k -> new CompletableFuture<>());
                    long t0 = System.nanoTime();
                    SubnetRegistry.CreateResult r = registry.create(subnet, attrs, etcdLease);
                    long put = System.nanoTime();
                    if (!(r instanceof SubnetRegistry.CreateResult.Created)) {
                        throw new IllegalStateException("lease " + subnet + " was not created: " + r);
                    }
                    long done = applied.get(APPLY_WAIT.toMillis(), TimeUnit.MILLISECONDS);
                    if (i >= warmup) {
                        total.add((done - t0) / 1e6);
                        putRtt.add((put - t0) / 1e6);
                    }
                }
                int routes = (int) nl.routes().list().stream().filter(rt -> rt.outputIndex() == backend.deviceIndex()).count();
                if (routes != warmup + peers || backend.peerCount() != warmup + peers) {
                    throw new IllegalStateException("expected " + (warmup + peers) + " peers programmed, backend has "
                            + backend.peerCount() + ", routes on flannel.1: " + routes);
                }
                List<Double> apply = new ArrayList<>();
                for (int i = warmup; i < applyCalls[0]; i++) {
                    apply.add(applyNanos[i] / 1e6);
                }
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("what", "etcd create of one peer lease -> LeaseWatcher -> VxlanBackend.apply returned (ARP+FDB+route)");
                m.put("leases_measured", peers);
                m.put("warmup_leases_not_counted", warmup);
                m.put("batches_delivered", applyCalls[0]);
                m.put("total_ms", Stats.summary(total));
                m.put("etcd_create_rtt_ms", Stats.summary(putRtt));
                m.put("apply_call_ms", Stats.summary(apply));
                m.put("target_p99_ms", 100);
                return m;
            }
        }
    }

    // ---- (b) cold start with many peers -------------------------------------------------------------------------

    private static Map<String, Object> coldStart(NetnsFabric fabric, Client client, SubnetRegistry registry, int peers,
                                                 int reps) throws Exception {
        NetworkConfig config = config(26);
        Ip4Net own = Ip4Net.parse("198.19.255.192/26");
        List<CompletableFuture<?>> puts = new ArrayList<>();
        for (int i = 0; i < peers; i++) {
            Ip4Net subnet = new Ip4Net(NETWORK.address() + (i + 1) * 64, 26);
            puts.add(client.getKVClient().put(bytes(registry.keys().subnet(subnet)),
                    bytes(LeaseCodec.toJson(peerAttrs(i))), PutOption.DEFAULT));
        }
        CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

        List<Map<String, Object>> runs = new ArrayList<>();
        List<Double> totals = new ArrayList<>();
        for (int rep = 1; rep <= reps; rep++) {
            NetnsFabric.Host host = fabric.addHost("cold" + rep, "198.18.0." + (10 + rep) + "/16");
            try (Rtnetlink nl = Rtnetlink.openInNamespace(host.netns())) {
                ExternalInterface iface = iface(nl, host);
                long t0 = System.nanoTime();
                LeaseSnapshot snapshot = registry.listLeases();
                List<Lease> peerLeases = LeaseWatcher.peersOf(snapshot, config, own);
                long t1 = System.nanoTime();
                VxlanBackend backend = VxlanBackend.create(nl, iface, config);
                Lease local = new Lease(own, new LeaseAttrs(iface.publicIp(), VxlanBackend.TYPE, backend.backendData()), 0, 0);
                long t2 = System.nanoTime();
                backend.start(local, peerLeases);
                long t3 = System.nanoTime();
                int arp = nl.neighbours().list(backend.deviceIndex()).size();
                int fdb = nl.fdb().list(backend.deviceIndex()).size();
                int routes = (int) nl.routes().list().stream().filter(r -> r.outputIndex() == backend.deviceIndex()).count();
                long t4 = System.nanoTime();
                if (peerLeases.size() != peers || arp != peers || fdb != peers || routes != peers) {
                    throw new IllegalStateException("cold start rep " + rep + ": " + peerLeases.size() + " peer leases, "
                            + arp + " ARP, " + fdb + " FDB, " + routes + " routes; expected " + peers + " each");
                }
                backend.close();
                Map<String, Object> run = new LinkedHashMap<>();
                run.put("list_and_filter_ms", Stats.ms(t1 - t0));
                run.put("create_ms", Stats.ms(t2 - t1));
                run.put("start_ms", Stats.ms(t3 - t2));
                run.put("total_ms", Stats.ms(t3 - t0));
                run.put("verify_dumps_ms", Stats.ms(t4 - t3));
                run.put("arp", arp);
                run.put("fdb", fdb);
                run.put("routes", routes);
                runs.add(run);
                totals.add(Stats.ms(t3 - t0));
            }
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("what", "fresh host: listLeases + peersOf + VxlanBackend.create + start(local, peers), all entries "
                + "programmed; counts then checked with netlink dumps (verify_dumps_ms, not in total)");
        m.put("peers", peers);
        m.put("subnet_len", 26);
        m.put("reps", reps);
        m.put("total_ms_median", median(totals));
        m.put("total_ms_max", totals.stream().mapToDouble(Double::doubleValue).max().orElse(0));
        m.put("runs", runs);
        return m;
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static NetworkConfig config(int subnetLen) {
        int size = 1 << (32 - subnetLen);
        return new NetworkConfig(NETWORK, subnetLen, NETWORK.address() + size, NETWORK.lastAddress() + 1 - size,
                new BackendConfig(VxlanBackend.TYPE, 0, 0, false));
    }

    /** Peer i: VtepMAC 02:00:00:01:xx:xx, PublicIP in 198.18.1.1–198.18.5.250 (no such host exists). */
    private static LeaseAttrs peerAttrs(int i) {
        int publicIp = Ip4.parse("198.18.1.0") + (i / 250) * 256 + (i % 250) + 1;
        MacAddress mac = new MacAddress(0x02_00_00_01_00_00L + i);
        return new LeaseAttrs(publicIp, VxlanBackend.TYPE, new VtepData(1, mac).toJson());
    }

    private static ExternalInterface iface(Rtnetlink nl, NetnsFabric.Host host) {
        Link eth0 = nl.links().byName(host.iface()).orElseThrow();
        int address = Ip4.parse(host.ip());
        return new ExternalInterface(eth0.name(), eth0.index(), address, address, eth0.mtu());
    }

    private static void deleteAllLeases(Client client, EtcdKeys keys) throws Exception {
        client.getKVClient().delete(bytes(keys.subnetsPrefix()), DeleteOption.builder().isPrefix(true).build())
                .get(10, TimeUnit.SECONDS);
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : Stats.round((a[a.length / 2 - 1] + a[a.length / 2]) / 2);
    }

    private static int envInt(String name, int dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : Integer.parseInt(v.trim());
    }

    @SuppressWarnings("unchecked")
    private static void printSummary(Map<String, Object> r) {
        Map<String, Object> lat = (Map<String, Object>) r.get("lease_to_route");
        Map<String, Object> total = (Map<String, Object>) lat.get("total_ms");
        Map<String, Object> put = (Map<String, Object>) lat.get("etcd_create_rtt_ms");
        Map<String, Object> apply = (Map<String, Object>) lat.get("apply_call_ms");
        Map<String, Object> cold = (Map<String, Object>) r.get("cold_start");
        System.out.println();
        System.out.printf("VXLAN control plane, %s, kernel %s, %s cores%n", r.get("utc"),
                ((Map<String, Object>) r.get("machine")).get("kernel"), ((Map<String, Object>) r.get("machine")).get("nproc"));
        System.out.printf("lease-to-route latency, %s leases: p50 %s ms  p99 %s ms  max %s ms (target p99 < 100 ms)%n",
                lat.get("leases_measured"), total.get("p50"), total.get("p99"), total.get("max"));
        System.out.printf("  of which etcd create p50 %s ms, apply() p50 %s ms p99 %s ms%n", put.get("p50"),
                apply.get("p50"), apply.get("p99"));
        System.out.printf("cold start, %s peers: median %s ms, max %s ms over %s runs %s%n", cold.get("peers"),
                cold.get("total_ms_median"), cold.get("total_ms_max"), cold.get("reps"),
                ((List<Map<String, Object>>) cold.get("runs")).stream().map(m -> m.get("total_ms")).toList());
    }
}
