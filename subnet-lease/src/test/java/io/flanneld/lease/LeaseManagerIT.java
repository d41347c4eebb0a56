package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.Client;
import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.Wait;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;

/** The lease manager against a real etcd process; every test uses its own key prefix. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LeaseManagerIT {
    private static final LeaseOptions FAST = new LeaseOptions(Duration.ofSeconds(60), Duration.ofSeconds(10),
            Duration.ofMillis(100), Duration.ofSeconds(1));
    private static EtcdProcess etcd;
    private static Client client;

    private EtcdKeys keys;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeAll
    static void startEtcd() {
        etcd = EtcdProcess.start();
        client = EtcdClients.connect(EtcdOptions.plain(etcd.endpoint()));
    }

    @AfterAll
    static void stopEtcd() {
        if (client != null) {
            client.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    @BeforeEach
    void prefix(TestInfo info) {
        keys = new EtcdKeys("/test/" + info.getTestMethod().orElseThrow().getName());
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private void putConfig(String json) {
        etcd.etcdctl("put", keys.config(), json).check();
    }

    private LeaseManager manager() {
        LeaseManager m = new LeaseManager(new SubnetRegistry(client, keys), FAST, etcd.endpoint());
        closeables.add(m);
        return m;
    }

    private static LeaseAttrs attrs(String ip) {
        return new LeaseAttrs(Ip4.parse(ip), "alloc", null);
    }

    private String etcdValue(String key) {
        return etcd.etcdctl("get", key, "--print-value-only").check().stdout().strip();
    }

    @Test
    void hostsGetDistinctSubnetsStoredAsFlannelStoresThem() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}");
        Set<Ip4Net> subnets = new HashSet<>();
        for (int i = 1; i <= 3; i++) {
            LeaseManager m = manager();
            NetworkConfig config = m.awaitConfig();
            Lease lease = m.acquire(config, attrs("198.18.0." + i), Optional.empty());
            assertTrue(config.isLeasable(lease.subnet()), lease.subnet() + " is outside the range");
            assertFalse(lease.isReservation(), "an acquired lease is bound to an etcd lease");
            subnets.add(lease.subnet());
            assertEquals("{\"PublicIP\":\"198.18.0." + i + "\",\"BackendType\":\"alloc\"}", etcdValue(keys.subnet(lease.subnet())));
            String ttl = etcd.etcdctl("lease", "timetolive", Long.toHexString(lease.etcdLeaseId())).check().stdout();
            assertTrue(ttl.contains("remaining("), "the key's etcd lease should be alive: " + ttl);
        }
        assertEquals(3, subnets.size(), "three hosts, three subnets: " + subnets);
    }

    @Test
    void twoHundredManagersStartedAtOnceAllGetDistinctSubnets() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}");
        NetworkConfig config = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}");
        int hosts = 200;
        RequestCounter.Total requests = new RequestCounter.Total();
        List<Client> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            clients.add(EtcdClients.connect(EtcdOptions.plain(etcd.endpoint())));
        }
        ExecutorService pool = Executors.newFixedThreadPool(hosts);
        try {
            CompletableFuture<Void> go = new CompletableFuture<>();
            List<Future<Lease>> results = new ArrayList<>();
            for (int i = 0; i < hosts; i++) {
                String ip = "198.18." + (1 + i / 250) + "." + (1 + i % 250);
                SubnetRegistry registry = new SubnetRegistry(clients.get(i % clients.size()), keys, Duration.ofSeconds(10), requests);
                LeaseManager m = new LeaseManager(registry, FAST, etcd.endpoint());
                closeables.add(m);
                results.add(pool.submit(() -> {
                    go.join();
                    return m.acquire(config, attrs(ip), Optional.empty());
                }));
            }
            go.complete(null);
            Set<Ip4Net> subnets = new HashSet<>();
            for (Future<Lease> f : results) {
                subnets.add(f.get(90, TimeUnit.SECONDS).subnet());
            }
            assertEquals(hosts, subnets.size(), "every host must hold its own subnet");
            String listing = etcd.etcdctl("get", "--prefix", keys.subnetsPrefix(), "--keys-only").check().stdout();
            assertEquals(hosts, listing.lines().filter(l -> !l.isBlank()).count(), "etcd holds exactly one key per host");
            System.out.printf("200 concurrent acquisitions: %.1f etcd requests per host%n", requests.total() / (double) hosts);
        } finally {
            pool.shutdownNow();
            clients.forEach(Client::close);
        }
    }

    @Test
    void twoHundredDualStackManagersStartedAtOnceAllGetDistinctIpv4AndIpv6Subnets() throws Exception {
        String json = "{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"Backend\":{\"Type\":\"alloc\"}}";
        putConfig(json);
        NetworkConfig config = ConfigCodec.parse(json);
        int hosts = 200;
        RequestCounter.Total requests = new RequestCounter.Total();
        List<Client> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            clients.add(EtcdClients.connect(EtcdOptions.plain(etcd.endpoint())));
        }
        ExecutorService pool = Executors.newFixedThreadPool(hosts);
        try {
            CompletableFuture<Void> go = new CompletableFuture<>();
            List<Future<Lease>> results = new ArrayList<>();
            for (int i = 0; i < hosts; i++) {
                LeaseAttrs attrs = LeaseManagerIpv6IT.dualAttrs(i);
                SubnetRegistry registry = new SubnetRegistry(clients.get(i % clients.size()), keys, Duration.ofSeconds(10), requests);
                LeaseManager m = new LeaseManager(registry, FAST, etcd.endpoint());
                closeables.add(m);
                results.add(pool.submit(() -> {
                    go.join();
                    return m.acquire(config, attrs, Optional.empty());
                }));
            }
            long start = System.nanoTime();
            go.complete(null);
            Set<Ip4Net> subnets = new HashSet<>();
            Set<io.flanneld.schema.Ip6Net> ipv6Subnets = new HashSet<>();
            Set<String> names = new HashSet<>();
            for (Future<Lease> f : results) {
                Lease lease = f.get(90, TimeUnit.SECONDS);
                subnets.add(lease.subnet());
                ipv6Subnets.add(lease.ipv6Subnet());
                names.add(lease.keyName());
                assertEquals(io.flanneld.schema.EtcdKeys.subnetName(lease.subnet(), lease.ipv6Subnet()), lease.keyName());
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertEquals(hosts, subnets.size(), "every host must hold its own IPv4 subnet");
            assertEquals(hosts, ipv6Subnets.size(), "every host must hold its own IPv6 subnet");
            assertTrue(ipv6Subnets.stream().allMatch(config.ipv6()::isLeasable));
            String listing = etcd.etcdctl("get", "--prefix", keys.subnetsPrefix(), "--keys-only").check().stdout();
            Set<String> stored = new HashSet<>(listing.lines().filter(l -> !l.isBlank())
                    .map(l -> l.substring(keys.subnetsPrefix().length())).toList());
            assertEquals(names, stored, "etcd holds exactly one key per host, both subnets in it");
            System.out.printf("200 concurrent dual-stack acquisitions: %d ms, %.1f etcd requests per host%n", millis,
                    requests.total() / (double) hosts);
        } finally {
            pool.shutdownNow();
            clients.forEach(Client::close);
        }
    }

    @Test
    void aRestartKeepsTheSubnet() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        LeaseManager first = manager();
        NetworkConfig config = first.awaitConfig();
        Lease before = first.acquire(config, attrs("198.18.0.9"), Optional.empty());
        first.close();
        Lease after = manager().acquire(config, attrs("198.18.0.9"), Optional.empty());
        assertEquals(before.subnet(), after.subnet());
        assertEquals(before.etcdLeaseId(), after.etcdLeaseId(), "the live etcd lease is extended, not replaced");
    }

    @Test
    void thePreviousSubnetIsReusedWhenItsKeyIsGone() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        NetworkConfig config = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}");
        Ip4Net previous = Ip4Net.parse("198.19.77.0/24");
        Lease lease = manager().acquire(config, attrs("198.18.0.10"), Optional.of(new PreviousLease(previous, 0)));
        assertEquals(previous, lease.subnet());
    }

    @Test
    void aChangedPublicIpUpdatesTheSameLease() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        NetworkConfig config = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}");
        Lease old = manager().acquire(config, attrs("198.18.0.11"), Optional.empty());
        Lease moved = manager().acquire(config, attrs("198.18.0.111"),
                Optional.of(new PreviousLease(old.subnet(), old.etcdLeaseId())));
        assertEquals(old.subnet(), moved.subnet());
        assertTrue(etcdValue(keys.subnet(old.subnet())).contains("\"PublicIP\":\"198.18.0.111\""));
        // Without proof of ownership, a previous subnet held under another IP is another host's: never taken over.
        Lease other = manager().acquire(config, attrs("198.18.0.12"), Optional.of(new PreviousLease(old.subnet(), 0)));
        assertNotEquals(old.subnet(), other.subnet());
        assertTrue(etcdValue(keys.subnet(old.subnet())).contains("198.18.0.111"));
    }

    @Test
    void aDeletedKeyIsRecreatedWithTheSameSubnet() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        LeaseManager m = manager();
        NetworkConfig config = m.awaitConfig();
        Lease lease = m.acquire(config, attrs("198.18.0.13"), Optional.empty());
        AtomicReference<String> fatal = new AtomicReference<>();
        m.startRenewing(fatal::set);
        LeaseWatcher watcher = new LeaseWatcher(m.registry(), config, lease.subnet(), events -> { }, m::ownKeyChanged);
        closeables.add(watcher);
        LeaseSnapshot initial = m.registry().listLeases();
        watcher.start(initial, LeaseWatcher.peersOf(initial, config, lease.subnet()));

        etcd.etcdctl("del", keys.subnet(lease.subnet())).check();
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "key re-created",
                () -> etcdValue(keys.subnet(lease.subnet())).contains("198.18.0.13"));
        assertEquals(null, fatal.get());
        assertNotEquals(lease.etcdLeaseId(), m.held().etcdLeaseId(), "the re-created key is bound to a fresh etcd lease");

        // Another host overwriting the key is fatal: the host must not be moved under its containers.
        etcd.etcdctl("put", keys.subnet(lease.subnet()), "{\"PublicIP\":\"198.18.0.99\",\"BackendType\":\"alloc\"}").check();
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "fatal report", () -> fatal.get() != null);
        assertTrue(fatal.get().contains("198.18.0.99") && fatal.get().contains(lease.subnet().toString()), fatal.get());
    }

    @Test
    void anExpiredEtcdLeaseIsRenewedByRecreatingTheKey() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        LeaseManager m = new LeaseManager(new SubnetRegistry(client, keys), FAST.withTtl(Duration.ofSeconds(3), Duration.ZERO), etcd.endpoint());
        closeables.add(m);
        NetworkConfig config = m.awaitConfig();
        Lease lease = m.acquire(config, attrs("198.18.0.14"), Optional.empty());
        java.util.List<Lease> rebound = new java.util.concurrent.CopyOnWriteArrayList<>();
        m.startRenewing(message -> { }, rebound::add);
        // Revoking the etcd lease deletes the key, as an expiry during an outage would.
        etcd.etcdctl("lease", "revoke", Long.toHexString(lease.etcdLeaseId())).check();
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(100), "key back after renewal",
                () -> etcdValue(keys.subnet(lease.subnet())).contains("198.18.0.14"));
        // The key is visible in etcd a moment before the manager has read the create's answer.
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(20), "the manager holds the re-created key",
                () -> m.held().etcdLeaseId() != lease.etcdLeaseId());
        // From then on, renewal keeps the same etcd lease alive past several TTLs.
        long renewed = m.held().etcdLeaseId();
        assertNotEquals(lease.etcdLeaseId(), renewed);
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(50), "rebound reported", () -> !rebound.isEmpty());
        assertEquals(renewed, rebound.get(rebound.size() - 1).etcdLeaseId(), "the new etcd lease is reported to the record keeper");
        Thread.sleep(7000);
        assertTrue(etcdValue(keys.subnet(lease.subnet())).contains("198.18.0.14"));
        assertEquals(renewed, m.held().etcdLeaseId(), "renewals must extend the etcd lease, not let it lapse and re-create the key");
    }

    /** A registry whose first create is applied by etcd but answered with a timeout, as under an overloaded etcd. */
    private SubnetRegistry answerLostOnFirstCreate(boolean applied, List<Ip4Net> attempted) {
        AtomicInteger creates = new AtomicInteger();
        return new SubnetRegistry(client, keys) {
            @Override
            public CreateResult create(Ip4Net subnet, LeaseAttrs attrs, long leaseId) throws EtcdUnavailableException, EtcdAccessException {
                attempted.add(subnet);
                if (creates.getAndIncrement() == 0) {
                    if (applied) {
                        super.create(subnet, attrs, leaseId);
                    }
                    throw new EtcdUnavailableException("create: deadline exceeded (test: the answer was lost)", null);
                }
                return super.create(subnet, attrs, leaseId);
            }
        };
    }

    private List<Lease> leasesOf(String publicIp) throws Exception {
        return new SubnetRegistry(client, keys).listLeases().leases().stream()
                .filter(l -> l.attrs().publicIp() == Ip4.parse(publicIp)).toList();
    }

    @Test
    void aCreateAppliedButUnansweredKeepsItsKeyAndEtcdLease() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        List<Ip4Net> attempted = new java.util.concurrent.CopyOnWriteArrayList<>();
        LeaseManager m = new LeaseManager(answerLostOnFirstCreate(true, attempted), FAST, etcd.endpoint());
        closeables.add(m);
        Lease lease = m.acquire(m.awaitConfig(), attrs("198.18.0.41"), Optional.empty());
        assertEquals(attempted.get(0), lease.subnet(), "the key the lost create wrote is the one held");
        Thread.sleep(1500); // a revoke of the granted etcd lease, sent in error, would have landed and deleted the key
        List<Lease> ours = leasesOf("198.18.0.41");
        assertEquals(1, ours.size(), "exactly one key for the host: " + ours);
        assertEquals(lease.subnet(), ours.get(0).subnet());
        assertEquals(lease.etcdLeaseId(), ours.get(0).etcdLeaseId());
        assertTrue(new SubnetRegistry(client, keys).timeToLive(lease.etcdLeaseId()).orElse(0L) > 0, "the etcd lease is alive");
    }

    @Test
    void aCreateLostOnTheWayIsRetriedOnTheSameSubnetSoALateArrivalChangesNothing() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        List<Ip4Net> attempted = new java.util.concurrent.CopyOnWriteArrayList<>();
        LeaseManager m = new LeaseManager(answerLostOnFirstCreate(false, attempted), FAST, etcd.endpoint());
        closeables.add(m);
        Lease lease = m.acquire(m.awaitConfig(), attrs("198.18.0.42"), Optional.empty());
        assertEquals(List.of(lease.subnet(), lease.subnet()), attempted, "the retry claims the same subnet");
        // The lost request arriving late is the same conditional create: it finds the key and writes nothing.
        SubnetRegistry.CreateResult late = new SubnetRegistry(client, keys).create(lease.subnet(), attrs("198.18.0.42"), lease.etcdLeaseId());
        assertTrue(late instanceof SubnetRegistry.CreateResult.Taken, "late create: " + late);
        assertEquals(List.of(lease.subnet()), leasesOf("198.18.0.42").stream().map(Lease::subnet).toList());
    }

    @Test
    void aReservationIsHonouredForItsPublicIpAndNeverTouched() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.1.0\",\"SubnetMax\":\"198.19.2.0\"}");
        String reservedKey = keys.subnet(Ip4Net.parse("198.19.1.0/24"));
        etcd.etcdctl("put", reservedKey, "{\"PublicIP\":\"198.18.0.20\"}").check();
        LeaseManager other = manager();
        NetworkConfig config = other.awaitConfig();
        assertEquals(Ip4Net.parse("198.19.2.0/24"), other.acquire(config, attrs("198.18.0.21"), Optional.empty()).subnet(),
                "the only free subnet, the other one being reserved");
        Lease reserved = manager().acquire(config, attrs("198.18.0.20"), Optional.empty());
        assertEquals(Ip4Net.parse("198.19.1.0/24"), reserved.subnet());
        assertTrue(reserved.isReservation());
        String keyInfo = etcd.etcdctl("get", reservedKey, "-w", "json").check().stdout();
        assertFalse(keyInfo.contains("\"lease\""), "a reservation must stay without an etcd lease: " + keyInfo);
    }

    @Test
    void exhaustionNamesTheRange() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.5.0\",\"SubnetMax\":\"198.19.5.0\"}");
        LeaseManager m = manager();
        NetworkConfig config = m.awaitConfig();
        m.acquire(config, attrs("198.18.0.30"), Optional.empty());
        SubnetExhaustedException e = assertThrows(SubnetExhaustedException.class,
                () -> manager().acquire(config, attrs("198.18.0.31"), Optional.empty()));
        assertTrue(e.getMessage().contains("198.19.5.0") && e.getMessage().contains("198.19.0.0/16"), e.getMessage());
    }

    @Test
    void configIsAwaitedWhileMissingOrInvalid() throws Exception {
        LeaseManager m = manager();
        CompletableFuture<NetworkConfig> config = CompletableFuture.supplyAsync(() -> {
            try {
                return m.awaitConfig();
            } catch (InterruptedException | EtcdAccessException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(500);
        assertFalse(config.isDone(), "no config key yet");
        putConfig("{\"Network\":\"198.19.0.0/16\",\"SubnetLen\":33}");
        Thread.sleep(1500);
        assertFalse(config.isDone(), "an invalid config is not used");
        putConfig("{\"Network\":\"198.19.0.0/16\",\"SubnetLen\":26}");
        assertEquals(26, config.get(10, TimeUnit.SECONDS).subnetLen());
    }

    @Test
    void putConfigIfAbsentNeverOverwritesAnOperatorsConfig() throws Exception {
        SubnetRegistry registry = new SubnetRegistry(client, keys);
        assertTrue(registry.putConfig("{\"Network\":\"198.19.0.0/16\"}", true));
        assertFalse(registry.putConfig("{\"Network\":\"198.20.0.0/16\"}", true));
        assertEquals("{\"Network\":\"198.19.0.0/16\"}", registry.getConfig().orElseThrow());
        assertTrue(registry.putConfig("{\"Network\":\"198.20.0.0/16\"}", false));
        assertEquals("{\"Network\":\"198.20.0.0/16\"}", registry.getConfig().orElseThrow());
    }

    @Test
    void leaseCountsStayLowInTheCommonCase() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        RequestCounter.Total requests = new RequestCounter.Total();
        LeaseManager m = new LeaseManager(new SubnetRegistry(client, keys, Duration.ofSeconds(5), requests), FAST, etcd.endpoint());
        closeables.add(m);
        NetworkConfig config = m.awaitConfig();
        long before = requests.total();
        LeaseManager.Acquired acquired = m.acquireListed(config, attrs("198.18.0.40"), Optional.empty());
        Lease lease = acquired.lease();
        assertEquals(3, requests.total() - before, "one range read, one grant, one transaction");
        // The watch starts from that same range read: nothing is listed twice, and it sees this host's write.
        LeaseSnapshot listed = acquired.listing();
        assertTrue(listed.revision() < lease.modRevision(), listed.revision() + " before " + lease.modRevision());
        assertTrue(listed.find(lease.subnet()).isEmpty());
        assertEquals(3, requests.total() - before);
    }

    @Test
    void concurrentHostsNeverShareAKeyEvenInATinyRange() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.1.0\",\"SubnetMax\":\"198.19.8.0\"}");
        NetworkConfig config = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.1.0\",\"SubnetMax\":\"198.19.8.0\"}");
        ExecutorService pool = Executors.newFixedThreadPool(12);
        AtomicInteger exhausted = new AtomicInteger();
        try {
            List<Future<Optional<Lease>>> results = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                LeaseManager m = manager();
                String ip = "198.18.1." + (i + 1);
                results.add(pool.submit(() -> {
                    try {
                        return Optional.of(m.acquire(config, attrs(ip), Optional.empty()));
                    } catch (SubnetExhaustedException e) {
                        exhausted.incrementAndGet();
                        return Optional.empty();
                    }
                }));
            }
            Set<Ip4Net> subnets = new HashSet<>();
            int held = 0;
            for (Future<Optional<Lease>> f : results) {
                Optional<Lease> l = f.get(60, TimeUnit.SECONDS);
                if (l.isPresent()) {
                    held++;
                    subnets.add(l.get().subnet());
                }
            }
            assertEquals(8, held, "eight subnets, eight winners");
            assertEquals(8, subnets.size());
            assertEquals(4, exhausted.get());
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- flannel's key forms in one etcd with these daemons ----

    /** flannel's vxlan lease value on a dual-stack node (see FlannelFormsTest for where each field comes from). */
    private static String flannelDualStackValue(String ip) {
        return "{\"PublicIP\":\"" + ip + "\",\"PublicIPv6\":\"2001:2::3\",\"BackendType\":\"vxlan\","
                + "\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:11\"},\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:12\"}}";
    }

    @Test
    void aFlannelNodesDualStackKeyHoldsItsIpv4SubnetAgainstEveryClaim() throws Exception {
        String json = "{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.1.0\",\"SubnetMax\":\"198.19.2.0\"}";
        putConfig(json);
        NetworkConfig config = ConfigCodec.parse(json);
        etcd.etcdctl("put", keys.subnetsPrefix() + "198.19.1.0-24&2001:2:19:1::-64", flannelDualStackValue("198.18.0.3")).check();
        etcd.etcdctl("put", keys.subnetsPrefix() + "0.0.0.0-0&2001:2:19:9::-64",
                "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::4\",\"BackendType\":\"vxlan\"}").check();

        // The transaction itself refuses the plain key while the dual-stack key exists (a list read before the flannel
        // node wrote its key cannot let this through) ...
        SubnetRegistry registry = new SubnetRegistry(client, keys);
        long etcdLease = registry.grant(Duration.ofSeconds(60)).id();
        SubnetRegistry.CreateResult clash = registry.create(Ip4Net.parse("198.19.1.0/24"), attrs("198.18.0.20"), etcdLease);
        assertTrue(clash instanceof SubnetRegistry.CreateResult.Taken, "created " + clash);
        assertEquals("", etcdValue(keys.subnet(Ip4Net.parse("198.19.1.0/24"))), "no plain key beside flannel's");

        // ... and the allocator never chooses it: two free subnets minus flannel's leaves one; the IPv6-only key holds none.
        Lease lease = manager().acquire(config, attrs("198.18.0.21"), Optional.empty());
        assertEquals(Ip4Net.parse("198.19.2.0/24"), lease.subnet());
        SubnetExhaustedException full = assertThrows(SubnetExhaustedException.class,
                () -> manager().acquire(config, attrs("198.18.0.22"), Optional.empty()));
        assertTrue(full.getMessage().contains("no free subnet left"), full.getMessage());
        // A previous subnet held by the flannel node is not reused either.
        etcd.etcdctl("del", keys.subnet(lease.subnet())).check();
        Lease again = manager().acquire(config, attrs("198.18.0.23"), Optional.of(new PreviousLease(Ip4Net.parse("198.19.1.0/24"), 0)));
        assertEquals(Ip4Net.parse("198.19.2.0/24"), again.subnet());
    }

    @Test
    void aDualStackKeyCarryingThisHostsPublicIpIsReusedUnderItsOwnName() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        NetworkConfig config = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}");
        String name = "198.19.5.0-24&2001:2:19:5::-64";
        etcd.etcdctl("put", keys.subnetsPrefix() + name, flannelDualStackValue("198.18.0.30")).check();

        Lease lease = manager().acquire(config, attrs("198.18.0.30"), Optional.empty());
        assertEquals(Ip4Net.parse("198.19.5.0/24"), lease.subnet());
        assertEquals(name, lease.keyName());
        assertEquals("{\"PublicIP\":\"198.18.0.30\",\"BackendType\":\"alloc\"}", etcdValue(keys.subnetsPrefix() + name));
        assertEquals("", etcdValue(keys.subnet(lease.subnet())), "no second key for the same subnet");
    }

    // ---- renewal from etcd's TTL ----

    @Test
    void aRestartWithAnotherTtlRenewsFromWhatEtcdHoldsNotFromTheFlag() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        NetworkConfig config = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}");
        LeaseOptions shortTtl = new LeaseOptions(Duration.ofSeconds(6), Duration.ofSeconds(10), Duration.ofMillis(100), Duration.ofSeconds(1));
        LeaseManager first = new LeaseManager(new SubnetRegistry(client, keys), shortTtl, etcd.endpoint());
        closeables.add(first);
        Lease before = first.acquire(config, attrs("198.18.0.40"), Optional.empty());
        first.close();

        // Restarted with --subnet-lease-ttl 1h: the key must not lapse with the 6 s etcd lease it was bound to.
        LeaseOptions longTtl = new LeaseOptions(Duration.ofHours(1), Duration.ofMinutes(10), Duration.ofMillis(100), Duration.ofSeconds(1));
        LeaseManager second = new LeaseManager(new SubnetRegistry(client, keys), longTtl, etcd.endpoint());
        closeables.add(second);
        Lease after = second.acquire(config, attrs("198.18.0.40"), Optional.empty());
        second.startRenewing(message -> { });
        assertEquals(before.subnet(), after.subnet());
        Thread.sleep(9_000);
        assertTrue(etcdValue(keys.subnet(after.subnet())).contains("198.18.0.40"), "the key outlived the old 6 s etcd lease");
        long remaining = second.registry().timeToLive(second.held().etcdLeaseId()).orElseThrow();
        long scheduled = Duration.between(java.time.Instant.now(), second.expiresAt()).toSeconds();
        assertTrue(Math.abs(remaining - scheduled) <= 3, "renewal is planned from etcd's TTL: etcd says " + remaining
                + " s left, the manager plans for " + scheduled + " s");
    }

    // ---- conditions that end acquisition instead of waiting forever ----

    @Test
    void endlessConflictsAreTheirOwnFatalConditionNotAnOutage() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        NetworkConfig config = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}");
        AtomicInteger creates = new AtomicInteger();
        SubnetRegistry alwaysTaken = new SubnetRegistry(client, keys) {
            @Override
            public CreateResult create(Ip4Net subnet, LeaseAttrs attrs, long leaseId) throws EtcdUnavailableException, EtcdAccessException {
                // Another host wins every race: the key is taken by the time this one asks, the list still shows it free.
                creates.incrementAndGet();
                return new CreateResult.Taken(listLeases());
            }
        };
        LeaseManager m = new LeaseManager(alwaysTaken, FAST, etcd.endpoint());
        closeables.add(m);
        SubnetContentionException e = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(Duration.ofSeconds(60),
                () -> assertThrows(SubnetContentionException.class, () -> m.acquire(config, attrs("198.18.0.50"), Optional.empty())));
        assertTrue(e.getMessage().startsWith("gave up after 200 attempts in a row to claim a subnet in Network 198.19.0.0/16"), e.getMessage());
        assertEquals(200, creates.get());
    }

    @Test
    void republishedAttributesReachTheKeyOnTheSameEtcdLease() throws Exception {
        putConfig("{\"Network\":\"198.19.0.0/16\"}");
        NetworkConfig config = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}");
        LeaseManager m = manager();
        LeaseAttrs before = new LeaseAttrs(Ip4.parse("198.18.0.60"), "vxlan", "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:01\"}");
        Lease lease = m.acquire(config, before, Optional.empty());
        m.startRenewing(message -> { });
        // The data path's device came back with another MAC: peers must learn it from the lease.
        LeaseAttrs after = new LeaseAttrs(before.publicIp(), "vxlan", "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:02\"}");
        m.republish(after);
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "the new VtepMAC in etcd",
                () -> etcdValue(keys.subnet(lease.subnet())).contains("02:00:00:00:00:02"));
        assertEquals(after, m.heldAttrs());
        assertEquals(lease.etcdLeaseId(), m.held().etcdLeaseId(), "still bound to the same etcd lease");
    }
}
