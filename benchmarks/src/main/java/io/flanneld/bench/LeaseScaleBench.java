package io.flanneld.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.etcd.jetcd.Client;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.lease.EtcdClients;
import io.flanneld.lease.EtcdOptions;
import io.flanneld.lease.LeaseManager;
import io.flanneld.lease.LeaseOptions;
import io.flanneld.lease.LeaseSession;
import io.flanneld.lease.LeaseSnapshot;
import io.flanneld.lease.LeaseWatcher;
import io.flanneld.lease.RequestCounter;
import io.flanneld.lease.SubnetAllocator;
import io.flanneld.lease.SubnetRegistry;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.testkit.EtcdCluster;
import io.flanneld.testkit.EtcdProcess;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Control-plane scale: N simulated nodes in one JVM, each wired as the daemon wires the {@code alloc} backend (no data
 * path): its own {@link SubnetRegistry}, {@link LeaseManager} and the daemon's own {@link LeaseSession} ({@code awaitConfig},
 * {@code acquire}, {@code follow}: the watch from the acquisition's listing and the renewals), all released
 * at once against one real etcd ({@link EtcdProcess}) or a 3-member {@link EtcdCluster} on loopback.
 *
 * <p>Per (topology, N): wall time until every node holds a lease (and until every watcher runs); duplicates, checked
 * on etcd's keys and on what the managers returned; etcd requests per node ({@link RequestCounter}) plus watch streams;
 * propagation of K new leases put one at a time (from just before the create transaction until the last of the N
 * watchers delivered it, nearest-rank p50/p99); watchers' resync/reconnect counts and whether every watcher ends with
 * all N − 1 + K peers; heap after GC and RSS of this process per node.
 *
 * <p>Only strings go to etcd: PublicIPs are 198.18.x.y texts, subnets come from 198.19.0.0/16; no packet is sent.
 *
 * <p>Environment: {@code SCALE_NODES} (default "1000,4000"), {@code SCALE_TOPOLOGIES} (member counts, default "1,3"),
 * {@code SCALE_NEW_LEASES} (K, 20), {@code SCALE_WARM_UP_NODES} (200: an unmeasured first round, so that the measured
 * runs do not pay for compiling the code all nodes share), {@code SCALE_REQUEST_TIMEOUT_S} (30, see
 * {@link #REQUEST_TIMEOUT}), {@code SCALE_MAX_CLIENTS} (50: the nodes share that many jetcd clients
 * evenly; each client is a gRPC connection with its own threads, and one per node makes the simulation measure
 * this 2-core machine's scheduler, see benchmarks/README.md), {@code SCALE_NODES_PER_CLIENT} (overrides that), {@code SCALE_SUBNET_LEN} (28: 4,095
 * leasable subnets in the /16), {@code SCALE_LEASE_DEADLINE_S} (180: how long a run waits for every node to start). System property
 * {@code bench.out}: results directory. Exits 1 when a run fails, shows a duplicate or leaves a watcher behind.
 */
public final class LeaseScaleBench {
    private static final String NETWORK = "198.19.0.0/16";
    private static final Duration LEASE_DEADLINE = Duration.ofSeconds(envInt("SCALE_LEASE_DEADLINE_S", 180));
    private static final Duration CATCH_UP_DEADLINE = Duration.ofSeconds(60);
    private static final Duration PROBE_DEADLINE = Duration.ofSeconds(30);
    /**
     * How long a node waits for one etcd answer. The daemon waits 5 s; here 30 s by default, because the simulated nodes
     * share 50 gRPC connections and 2 cores with etcd: at 4,000 nodes an answer to a list of thousands of keys queues
     * behind the watch traffic of 79 other nodes, and abandoning it at 5 s re-sends the same list (measured on one
     * etcd: after 60 s, 12,092 of 24,809 requests had failed and 2,363 nodes were leased; see benchmarks/README.md).
     */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(envInt("SCALE_REQUEST_TIMEOUT_S", 30));

    private LeaseScaleBench() {
    }

    public static void main(String[] args) throws Exception {
        List<Integer> sizes = envInts("SCALE_NODES", "1000,4000");
        if (System.getenv("SCALE_NODES_PER_CLIENT") != null && envInt("SCALE_NODES_PER_CLIENT", 0) < 1) {
            throw new IllegalArgumentException("SCALE_NODES_PER_CLIENT must be at least 1");
        }
        List<Integer> topologies = envInts("SCALE_TOPOLOGIES", "1,3");
        int k = envInt("SCALE_NEW_LEASES", 20);
        int perClientOverride = envInt("SCALE_NODES_PER_CLIENT", 0);
        int maxClients = Math.max(1, envInt("SCALE_MAX_CLIENTS", 50));
        int subnetLen = envInt("SCALE_SUBNET_LEN", 28);
        Path out = Path.of(System.getProperty("bench.out", "benchmarks/results"));
        String stamp = ZonedDateTime.now(ZoneOffset.UTC).format(DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'"));

        Map<String, Object> result = new LinkedHashMap<>();
        result.put("benchmark", "lease-scale");
        result.put("utc", stamp);
        result.put("machine", Map.of("nproc", Runtime.getRuntime().availableProcessors(),
                "java", System.getProperty("java.version"), "kernel", System.getProperty("os.version"),
                "max_heap_mb", Runtime.getRuntime().maxMemory() >> 20));
        result.put("params", Map.of("network", NETWORK, "subnet_len", subnetLen, "new_leases", k,
                "max_jetcd_clients", perClientOverride > 0 ? "-" : String.valueOf(maxClients), "backend", BackendConfig.ALLOC,
                "request_timeout_s", REQUEST_TIMEOUT.toSeconds(), "warm_up_nodes", envInt("SCALE_WARM_UP_NODES", 200),
                "watch_threads", Runtime.getRuntime().availableProcessors(), "gc", gcName()));
        List<Map<String, Object>> runs = new ArrayList<>();
        result.put("runs", runs);
        int warmUp = envInt("SCALE_WARM_UP_NODES", 200);
        if (warmUp > 0) {
            // The nodes share this JVM, so the first run would also pay for compiling the code they all run (a real
            // node compiles only its own, on its own CPU): one unmeasured round warms it up first.
            System.out.printf("== warm-up: %d nodes against 1 etcd member (not reported)%n", warmUp);
            try {
                new ScaleRun(1, warmUp, 2, (warmUp + maxClients - 1) / maxClients, subnetLen).call();
            } catch (Exception e) {
                System.out.println("   warm-up failed: " + e);
            }
            System.gc();
        }
        boolean failed = false;
        for (int members : topologies) {
            for (int n : sizes) {
                Map<String, Object> run;
                int perClient = perClientOverride > 0 ? perClientOverride : (n + maxClients - 1) / maxClients;
                try {
                    run = new ScaleRun(members, n, k, perClient, subnetLen).call();
                } catch (Exception | Error e) {
                    run = new LinkedHashMap<>();
                    run.put("etcd_members", members);
                    run.put("nodes", n);
                    run.put("error", String.valueOf(e));
                    e.printStackTrace();
                }
                runs.add(run);
                boolean ok = Boolean.TRUE.equals(run.get("ok"));
                failed |= !ok;
                System.out.println(summary(run));
                System.gc();
            }
        }
        Files.createDirectories(out);
        Path file = out.resolve("scale-" + stamp + ".json");
        new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(file.toFile(), result);
        System.out.println("wrote " + file);
        if (failed) {
            System.err.println("lease-scale: FAILED: a run errored, showed duplicates or left a watcher behind (see above)");
            System.exit(1);
        }
        System.exit(0);
    }

    /** One (topology, N) measurement on a fresh etcd. */
    private static final class ScaleRun {
        private final int members;
        private final int n;
        private final int k;
        private final int perClient;
        private final NetworkConfig config;
        private final String configJson;
        private final EtcdKeys keys = EtcdKeys.defaults();
        private final Map<Ip4Net, Probe> probes = new ConcurrentHashMap<>();
        private final ConcurrentLinkedQueue<String> fatal = new ConcurrentLinkedQueue<>();

        ScaleRun(int members, int n, int k, int perClient, int subnetLen) throws io.flanneld.schema.ConfigException {
            this.members = members;
            this.n = n;
            this.k = k;
            this.perClient = perClient;
            this.configJson = "{\"Network\":\"" + NETWORK + "\",\"SubnetLen\":" + subnetLen
                    + ",\"Backend\":{\"Type\":\"" + BackendConfig.ALLOC + "\"}}";
            this.config = ConfigCodec.parse(configJson);
        }

        Map<String, Object> call() throws Exception {
            System.out.printf("== lease scale: %d nodes against %d etcd member(s)%n", n, members);
            EtcdCluster cluster = null;
            EtcdProcess single = null;
            List<Client> clients = new ArrayList<>();
            List<Node> nodes = new ArrayList<>();
            // A real node runs one watcher and one lease manager, each on its own thread. N of them in one process
            // share a few threads instead (one task at a time each, which keeps every watcher's events in order), so
            // that each event is not a thread wake-up and the run measures leasing rather than the scheduler.
            List<ScheduledExecutorService> watchLoops = new ArrayList<>();
            for (int i = 0; i < Runtime.getRuntime().availableProcessors(); i++) {
                watchLoops.add(Executors.newSingleThreadScheduledExecutor(daemon("lease-watch-" + i)));
            }
            ScheduledExecutorService keeper = Executors.newSingleThreadScheduledExecutor(daemon("lease-keeper"));
            ExecutorService starters = Executors.newFixedThreadPool(n, daemon("node-start"));
            try {
                List<String> endpoints;
                if (members == 1) {
                    single = EtcdProcess.start();
                    endpoints = List.of(single.endpoint());
                } else {
                    cluster = EtcdCluster.start(members);
                    endpoints = cluster.endpoints();
                }
                EtcdOptions etcd = EtcdOptions.plain(endpoints.toArray(String[]::new));
                Client admin = EtcdClients.connect(etcd);
                clients.add(admin);
                SubnetRegistry adminRegistry = new SubnetRegistry(admin, keys, REQUEST_TIMEOUT, RequestCounter.NONE);
                adminRegistry.putConfig(configJson, false);

                Memory before = Memory.now();
                RequestCounter.Total requests = new RequestCounter.Total();
                int clientCount = (n + perClient - 1) / perClient;
                List<Client> nodeClients = new ArrayList<>();
                for (int c = 0; c < clientCount; c++) {
                    Client client = EtcdClients.connect(etcd);
                    clients.add(client);
                    nodeClients.add(client);
                }
                for (int i = 0; i < n; i++) {
                    SubnetRegistry registry = new SubnetRegistry(nodeClients.get(i / perClient), keys, REQUEST_TIMEOUT, requests);
                    nodes.add(new Node(i, new LeaseManager(registry, LeaseOptions.defaults(), etcd.endpointList(), keeper),
                            watchLoops.get(i % watchLoops.size())));
                }

                // ---- all nodes start at once ----
                CountDownLatch go = new CountDownLatch(1);
                List<Future<?>> started = new ArrayList<>();
                for (Node node : nodes) {
                    started.add(starters.submit(() -> {
                        go.await();
                        node.start();
                        return null;
                    }));
                }
                long cpu0 = processCpuNanos();
                long gc0 = gcMillis();
                long t0 = System.nanoTime();
                go.countDown();
                long deadline = t0 + LEASE_DEADLINE.toNanos();
                List<String> startErrors = new ArrayList<>();
                // Progress every 10 s, so that a slow run shows whether leasing crawls or stalls.
                long nextReport = t0 + TimeUnit.SECONDS.toNanos(10);
                while (System.nanoTime() < deadline && started.stream().anyMatch(f -> !f.isDone())) {
                    Thread.sleep(100);
                    if (System.nanoTime() >= nextReport) {
                        nextReport += TimeUnit.SECONDS.toNanos(10);
                        System.out.printf("   after %d s: %d of %d nodes leased, %d requests (%d failed), %.1f s CPU (%.1f s GC)%n",
                                TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0), nodes.stream().filter(nd -> nd.leasedAt != 0).count(),
                                n, requests.total(), requests.failed(), (processCpuNanos() - cpu0) / 1e9, (gcMillis() - gc0) / 1e3);
                    }
                }
                for (Future<?> f : started) {
                    try {
                        f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                    } catch (Exception e) {
                        startErrors.add(String.valueOf(e.getCause() == null ? e : e.getCause()));
                    }
                }
                if (!startErrors.isEmpty()) {
                    throw new IllegalStateException(startErrors.size() + " of " + n + " nodes did not start within "
                            + LEASE_DEADLINE.toSeconds() + " s; first: " + startErrors.get(0));
                }
                long allLeased = nodes.stream().mapToLong(nd -> nd.leasedAt).max().orElseThrow() - t0;
                long allWatching = nodes.stream().mapToLong(nd -> nd.watchingAt).max().orElseThrow() - t0;
                List<Double> perNodeLease = nodes.stream().map(nd -> Stats.ms(nd.leasedAt - t0)).toList();
                long startRequests = requests.total();
                double startCpuSeconds = (processCpuNanos() - cpu0) / 1e9;
                double startGcSeconds = (gcMillis() - gc0) / 1e3;
                System.out.printf("   every node leased after %.0f ms, every watcher started after %.0f ms, %.1f requests/node, "
                        + "%.1f s CPU (%.1f s GC)%n", Stats.ms(allLeased), Stats.ms(allWatching), startRequests / (double) n, startCpuSeconds,
                        startGcSeconds);

                // ---- every watcher must first see all N - 1 other nodes ----
                long catchUp0 = System.nanoTime();
                int behind = awaitPeers(nodes, n - 1, CATCH_UP_DEADLINE);
                long caughtUp = System.nanoTime() - catchUp0;
                Map<Integer, Integer> peerCountsAfterStart = peerCounts(nodes);
                if (behind > 0) {
                    System.out.printf("   %d of %d watchers do not show all %d other nodes after %d s: peer counts %s%n", behind, n,
                            n - 1, CATCH_UP_DEADLINE.toSeconds(), peerCountsAfterStart);
                }

                // ---- propagation of K new leases, one at a time ----
                List<Double> propagation = new ArrayList<>();
                List<Double> createRtt = new ArrayList<>();
                List<Map<String, Object>> lateProbes = new ArrayList<>();
                long probeRequests0 = requests.total();
                Random random = new Random(42);
                for (int j = 0; j < (behind == 0 ? k : 0); j++) {
                    LeaseAttrs attrs = new LeaseAttrs(Ip4.parse("198.18.250." + (1 + j)), BackendConfig.ALLOC, null);
                    LeaseSnapshot snapshot = adminRegistry.listLeases();
                    Ip4Net subnet = SubnetAllocator.pickFree(config, snapshot.occupied(), random)
                            .orElseThrow(() -> new IllegalStateException("no free subnet left for new lease"));
                    long leaseId = adminRegistry.grant(LeaseOptions.DEFAULT_TTL).id();
                    Probe probe = new Probe();
                    probes.put(subnet, probe);
                    long p0 = System.nanoTime();
                    SubnetRegistry.CreateResult created = adminRegistry.create(subnet, attrs, leaseId);
                    long rtt = System.nanoTime() - p0;
                    if (!(created instanceof SubnetRegistry.CreateResult.Created)) {
                        throw new IllegalStateException("new lease " + subnet + " was taken meanwhile");
                    }
                    boolean all = probe.awaitAll(n, PROBE_DEADLINE);
                    createRtt.add(Stats.ms(rtt));
                    if (all) {
                        propagation.add(Stats.ms(probe.last.get() - p0));
                    } else {
                        lateProbes.add(Map.of("subnet", subnet.toString(), "seen_by", probe.seen.get()));
                    }
                }

                // ---- every watcher ends with the full set ----
                // A watcher that missed a node for a minute will not catch up now: a short look is enough then.
                int behindAtEnd = awaitPeers(nodes, n - 1 + (behind == 0 ? k : 0), behind == 0 ? CATCH_UP_DEADLINE : Duration.ofSeconds(5));

                // ---- duplicates: etcd's keys and the managers' results ----
                Map<String, Object> dup = duplicates(adminRegistry.listLeases(), nodes, n + probes.size());

                Memory after = Memory.now();
                long resyncs = 0;
                long reconnects = 0;
                for (Node node : nodes) {
                    resyncs += node.watcher.resyncCount();
                    reconnects += node.watcher.reconnectCount();
                }

                Map<String, Object> r = new LinkedHashMap<>();
                r.put("etcd_members", members);
                r.put("nodes", n);
                r.put("jetcd_clients", clientCount);
                r.put("nodes_per_jetcd_client", perClient);
                r.put("all_leased_ms", Stats.ms(allLeased));
                r.put("all_watching_ms", Stats.ms(allWatching));
                r.put("lease_ms_per_node", Stats.summary(perNodeLease));
                r.put("process_cpu_s_while_starting", Stats.round(startCpuSeconds));
                r.put("gc_s_while_starting", Stats.round(startGcSeconds));
                r.put("watchers_caught_up_with_all_nodes_ms", Stats.ms(caughtUp + allWatching));
                r.put("etcd_requests_per_node_start", Stats.round(startRequests / (double) n));
                r.put("etcd_requests_failed", requests.failed());
                r.put("etcd_requests_per_node_total", Stats.round(requests.total() / (double) n));
                r.put("etcd_requests_during_propagation", requests.total() - probeRequests0);
                r.put("watch_streams_opened", n + reconnects + resyncs);
                r.put("watchers_behind_after_start", behind);
                if (behind > 0) {
                    r.put("peer_counts_after_start", peerCountsAfterStart);
                }
                r.put("new_leases", behind == 0 ? k : 0);
                r.put("propagation_ms", Stats.summary(propagation));
                r.put("create_rtt_ms", Stats.summary(createRtt));
                r.put("late_new_leases", lateProbes);
                r.put("watcher_resyncs", resyncs);
                r.put("watcher_reconnects", reconnects);
                r.put("watchers_behind_at_end", behindAtEnd);
                if (behindAtEnd > 0) {
                    r.put("peer_counts_at_end", peerCounts(nodes));
                }
                r.put("duplicates", dup);
                r.put("fatal_conditions", fatal.size());
                r.put("memory", memory(before, after, n));
                boolean ok = ((Number) dup.get("total")).intValue() == 0 && behind == 0 && behindAtEnd == 0 && lateProbes.isEmpty()
                        && fatal.isEmpty();
                r.put("ok", ok);
                if (!fatal.isEmpty()) {
                    r.put("first_fatal", fatal.peek());
                }
                return r;
            } finally {
                starters.shutdownNow();
                nodes.parallelStream().forEach(Node::close);
                watchLoops.forEach(ExecutorService::shutdownNow);
                keeper.shutdownNow();
                clients.forEach(Client::close);
                if (cluster != null) {
                    cluster.close();
                }
                if (single != null) {
                    single.close();
                }
            }
        }

        /** How many watchers show how many peers. */
        private Map<Integer, Integer> peerCounts(List<Node> nodes) {
            Map<Integer, Integer> counts = new java.util.TreeMap<>();
            for (Node node : nodes) {
                counts.merge(node.watcher.peerCount(), 1, Integer::sum);
            }
            return counts;
        }

        /**
         * Waits until every watcher reflects {@code expected} peers; returns how many still do not. A watcher that got
         * there is not asked again (copying thousands of peer lists every poll would load the machine being measured).
         */
        private int awaitPeers(List<Node> nodes, int expected, Duration bound) throws InterruptedException {
            long deadline = System.nanoTime() + bound.toNanos();
            List<Node> pending = new ArrayList<>(nodes);
            while (true) {
                pending.removeIf(node -> node.watcher.peerCount() == expected);
                if (pending.isEmpty() || System.nanoTime() > deadline) {
                    return pending.size();
                }
                Thread.sleep(500);
            }
        }

        /**
         * Overlapping subnets among etcd's keys, PublicIPs holding more than one key, and nodes whose returned lease
         * is not what etcd holds under that subnet for their PublicIP (or is shared with another node).
         */
        private Map<String, Object> duplicates(LeaseSnapshot snapshot, List<Node> nodes, int expectedKeys) {
            List<Lease> leases = new ArrayList<>(snapshot.leases());
            leases.sort((a, b) -> a.subnet().compareTo(b.subnet()));
            int overlapping = 0;
            for (int i = 1; i < leases.size(); i++) {
                if (leases.get(i - 1).subnet().overlaps(leases.get(i).subnet())) {
                    overlapping++;
                }
            }
            Map<Integer, Integer> perIp = new HashMap<>();
            for (Lease lease : leases) {
                perIp.merge(lease.attrs().publicIp(), 1, Integer::sum);
            }
            int ipsWithSeveralKeys = (int) perIp.values().stream().filter(c -> c > 1).count();
            Map<Ip4Net, Lease> bySubnet = new HashMap<>();
            leases.forEach(l -> bySubnet.put(l.subnet(), l));
            Set<Ip4Net> returned = new HashSet<>();
            int sharedResults = 0;
            int notInEtcd = 0;
            List<String> lost = new ArrayList<>();
            for (Node node : nodes) {
                if (!returned.add(node.lease.subnet())) {
                    sharedResults++;
                }
                Lease inEtcd = bySubnet.get(node.lease.subnet());
                if (inEtcd == null || inEtcd.attrs().publicIp() != node.attrs.publicIp()) {
                    notInEtcd++;
                    if (lost.size() < 10) {
                        lost.add(node.attrs.publicIpText() + " was given " + node.lease.subnet() + " (etcd lease "
                                + Long.toHexString(node.lease.etcdLeaseId()) + "); etcd holds "
                                + (inEtcd == null ? "no such key" : "it for " + inEtcd.attrs().publicIpText()));
                    }
                }
            }
            Map<String, Object> d = new LinkedHashMap<>();
            d.put("keys_in_etcd", leases.size());
            d.put("expected_keys", expectedKeys);
            d.put("overlapping_subnets_in_etcd", overlapping);
            d.put("public_ips_with_several_keys", ipsWithSeveralKeys);
            d.put("nodes_sharing_a_returned_subnet", sharedResults);
            d.put("nodes_whose_lease_etcd_does_not_hold", notInEtcd);
            d.put("total", overlapping + ipsWithSeveralKeys + sharedResults + notInEtcd + Math.abs(leases.size() - expectedKeys));
            if (!lost.isEmpty()) {
                d.put("nodes_whose_lease_etcd_does_not_hold_first", lost);
            }
            return d;
        }

        /** A simulated node: the daemon's lease wiring with the alloc backend, whose start/apply program nothing. */
        private final class Node {
            final LeaseAttrs attrs;
            volatile Lease lease;
            volatile LeaseWatcher watcher;
            volatile long leasedAt;
            volatile long watchingAt;

            final LeaseSession session;

            Node(int i, LeaseManager manager, ScheduledExecutorService watchLoop) {
                this.attrs = new LeaseAttrs(Ip4.parse("198.18." + (1 + i / 250) + "." + (1 + i % 250)), BackendConfig.ALLOC, null);
                this.session = new LeaseSession(manager, "etcd", watchLoop);
            }

            /** The daemon's lease session (LeaseSession, as FlannelDaemon.start drives it), minus interface, backend device and files. */
            void start() throws Exception {
                NetworkConfig cfg = session.awaitConfig();
                LeaseSession.Acquired acquired = session.acquire(cfg, attrs, Optional.empty());
                lease = acquired.lease();
                leasedAt = System.nanoTime();
                // acquired.peers() is what the backend's start() would be handed.
                watcher = session.follow(acquired, this::apply, fatal::add, rebound -> { });
                watchingAt = System.nanoTime();
            }

            /** The backend's apply(): the alloc backend programs nothing; the benchmark notes when a probe arrives. */
            private void apply(List<LeaseEvent> events) {
                long now = System.nanoTime();
                for (LeaseEvent event : events) {
                    if (event instanceof LeaseEvent.Added added) {
                        Probe probe = probes.get(added.lease().subnet());
                        if (probe != null) {
                            probe.arrived(now);
                        }
                    }
                }
            }

            void close() {
                session.close();
            }
        }
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    /** One new lease on its way to every watcher. */
    private static final class Probe {
        final AtomicInteger seen = new AtomicInteger();
        final AtomicLong last = new AtomicLong();

        void arrived(long nanos) {
            last.accumulateAndGet(nanos, Math::max);
            seen.incrementAndGet();
        }

        boolean awaitAll(int watchers, Duration bound) throws InterruptedException {
            long deadline = System.nanoTime() + bound.toNanos();
            while (seen.get() < watchers) {
                if (System.nanoTime() > deadline) {
                    return false;
                }
                Thread.sleep(1);
            }
            return true;
        }
    }

    /** Heap used after a full GC and the process's resident set. */
    private record Memory(long heapUsed, long rss, int threads) {
        static Memory now() throws IOException, InterruptedException {
            for (int i = 0; i < 2; i++) {
                System.gc();
                Thread.sleep(200);
            }
            long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            long rss = 0;
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    rss = Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
            return new Memory(heap, rss, ManagementFactory.getThreadMXBean().getThreadCount());
        }
    }

    /** CPU time of this whole process (every thread, user + system). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static String gcName() {
        return String.join("+", ManagementFactory.getGarbageCollectorMXBeans().stream().map(b -> b.getName()).toList());
    }

    private static long gcMillis() {
        return ManagementFactory.getGarbageCollectorMXBeans().stream().mapToLong(b -> Math.max(0, b.getCollectionTime())).sum();
    }

    private static Map<String, Object> memory(Memory before, Memory after, int n) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("heap_used_after_gc_mb_before", Stats.round(before.heapUsed() / 1048576.0));
        m.put("heap_used_after_gc_mb_running", Stats.round(after.heapUsed() / 1048576.0));
        m.put("rss_mb_before", Stats.round(before.rss() / 1048576.0));
        m.put("rss_mb_running", Stats.round(after.rss() / 1048576.0));
        m.put("heap_kb_per_node", Stats.round((after.heapUsed() - before.heapUsed()) / 1024.0 / n));
        m.put("rss_kb_per_node", Stats.round((after.rss() - before.rss()) / 1024.0 / n));
        m.put("threads_running", after.threads());
        return m;
    }

    @SuppressWarnings("unchecked")
    private static String summary(Map<String, Object> r) {
        if (r.containsKey("error")) {
            return String.format("   %s nodes, %s member(s): ERROR %s", r.get("nodes"), r.get("etcd_members"), r.get("error"));
        }
        Map<String, Object> p = (Map<String, Object>) r.get("propagation_ms");
        Map<String, Object> m = (Map<String, Object>) r.get("memory");
        Map<String, Object> d = (Map<String, Object>) r.get("duplicates");
        return String.format("   %s nodes, %s member(s): all leased %s ms; propagation p50 %s ms p99 %s ms; %s requests/node; "
                        + "duplicates %s; watchers behind %s; resyncs %s, reconnects %s; heap %s KB/node, RSS %s KB/node; %s",
                r.get("nodes"), r.get("etcd_members"), r.get("all_leased_ms"), p.get("p50"), p.get("p99"),
                r.get("etcd_requests_per_node_start"), d.get("total"), r.get("watchers_behind_at_end"), r.get("watcher_resyncs"),
                r.get("watcher_reconnects"), m.get("heap_kb_per_node"), m.get("rss_kb_per_node"),
                Boolean.TRUE.equals(r.get("ok")) ? "ok" : "FAILED");
    }

    private static int envInt(String name, int dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : Integer.parseInt(v.trim());
    }

    private static List<Integer> envInts(String name, String dflt) {
        String v = System.getenv(name);
        return Arrays.stream((v == null || v.isBlank() ? dflt : v).split(",")).map(String::trim).map(Integer::parseInt).toList();
    }
}
