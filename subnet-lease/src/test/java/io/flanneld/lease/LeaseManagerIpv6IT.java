package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.Client;
import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.schema.SubnetKey;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.Wait;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
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

/**
 * Dual-stack and IPv6-only leases against a real etcd process: one key in flannel's form and one etcd lease per host,
 * no IPv6 subnet ever shared. Underlay addresses from 2001:2::/48 and 198.18/16, overlay from 2001:2:19::/48 and
 * 198.19/16; every test uses its own key prefix.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LeaseManagerIpv6IT {
    private static final LeaseOptions FAST = new LeaseOptions(Duration.ofSeconds(60), Duration.ofSeconds(10),
            Duration.ofMillis(100), Duration.ofSeconds(1));
    static final String DUAL = "{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"vxlan\"}}";
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
        keys = new EtcdKeys("/test6/" + info.getTestMethod().orElseThrow().getName());
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private LeaseManager manager() {
        LeaseManager m = new LeaseManager(new SubnetRegistry(client, keys), FAST, etcd.endpoint());
        closeables.add(m);
        return m;
    }

    private static NetworkConfig config(String json) throws Exception {
        return ConfigCodec.parse(json);
    }

    /** flannel's vxlan attributes of a dual-stack host (the two devices' MACs made up). */
    static LeaseAttrs dualAttrs(int host) {
        return new LeaseAttrs(Ip4.parse("198.18." + (host / 250) + "." + (1 + host % 250)), "vxlan",
                "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:01\"}")
                .withIpv6(Ip6.parse("2001:2::" + Integer.toHexString(host + 1)), "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:02\"}");
    }

    private static LeaseAttrs v6OnlyAttrs(int host) {
        return new LeaseAttrs(0, "vxlan", null).withIpv6(Ip6.parse("2001:2::" + Integer.toHexString(host + 1)),
                "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:03\"}");
    }

    private String etcdValue(String key) {
        return etcd.etcdctl("get", key, "--print-value-only").check().stdout().strip();
    }

    private List<String> keyNames() {
        return etcd.etcdctl("get", "--prefix", keys.subnetsPrefix(), "--keys-only").check().stdout().lines()
                .filter(l -> !l.isBlank()).map(l -> l.substring(keys.subnetsPrefix().length())).toList();
    }

    @Test
    void aDualStackLeaseIsOneKeyInFlannelsFormBoundToOneEtcdLease() throws Exception {
        etcd.etcdctl("put", keys.config(), DUAL).check();
        LeaseManager m = manager();
        NetworkConfig config = m.awaitConfig();
        assertTrue(config.enableIpv6());
        Lease lease = m.acquire(config, dualAttrs(1), Optional.empty());
        assertTrue(config.isLeasable(lease.subnet()), lease.describe());
        assertTrue(config.ipv6().isLeasable(lease.ipv6Subnet()), lease.describe());
        assertEquals(EtcdKeys.subnetName(lease.subnet(), lease.ipv6Subnet()), lease.keyName());
        assertEquals(List.of(lease.keyName()), keyNames(), "one key for both subnets");
        assertTrue(lease.keyName().matches("198\\.19\\.\\d+\\.0-24&2001:2:19:[0-9a-f]+::-64"), lease.keyName());
        assertEquals("{\"PublicIP\":\"198.18.0.2\",\"PublicIPv6\":\"2001:2::2\",\"BackendType\":\"vxlan\","
                + "\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:01\"},\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:02\"}}",
                etcdValue(keys.subnet(lease.keyName())), "flannel's dual-stack vxlan value, byte for byte");
        String ttl = etcd.etcdctl("lease", "timetolive", Long.toHexString(lease.etcdLeaseId()), "--keys").check().stdout();
        assertTrue(ttl.contains(keys.subnet(lease.keyName())), "the key is bound to the etcd lease: " + ttl);
        m.close();

        // A restart takes the same key over, on the same etcd lease.
        Lease again = manager().acquire(config, dualAttrs(1), Optional.empty());
        assertEquals(lease.keyName(), again.keyName());
        assertEquals(lease.etcdLeaseId(), again.etcdLeaseId());
        // With the record of both subnets and the key gone, both are claimed again.
        etcd.etcdctl("del", keys.subnet(lease.keyName())).check();
        Lease back = manager().acquire(config, dualAttrs(1), Optional.of(new PreviousLease(lease.subnet(), 0, lease.ipv6Subnet())));
        assertEquals(lease.keyName(), back.keyName());
    }

    @Test
    void theIpv6GuardRefusesASubnetHeldByAKeyCreatedAfterTheListing() throws Exception {
        SubnetRegistry registry = new SubnetRegistry(client, keys);
        etcd.etcdctl("put", keys.subnetsPrefix() + "198.19.7.0-24&2001:2:19:7::-64", "{\"PublicIP\":\"198.18.0.7\",\"PublicIPv6\":\"2001:2::7\"}")
                .check();
        LeaseSnapshot listing = registry.listLeases();
        long etcdLease = registry.grant(Duration.ofSeconds(60)).id();

        // A flannel node creates a key with another IPv4 subnet but the IPv6 subnet this host is about to claim.
        etcd.etcdctl("put", keys.subnetsPrefix() + "198.19.9.0-24&2001:2:19:5::-64", "{\"PublicIP\":\"198.18.0.9\",\"PublicIPv6\":\"2001:2::9\"}")
                .check();
        SubnetKey mine = SubnetKey.of(Ip4Net.parse("198.19.1.0/24"), Ip6Net.parse("2001:2:19:5::/64"));
        SubnetRegistry.CreateResult clash = registry.create(mine, dualAttrs(1), etcdLease, listing);
        SubnetRegistry.CreateResult.Taken taken = assertInstanceOf(clash);
        assertTrue(taken.snapshot().isOccupiedIpv6(Ip6Net.parse("2001:2:19:5::/64")), "the fresh listing shows why");
        assertFalse(keyNames().contains(mine.name()), "no second key holding 2001:2:19:5::/64: " + keyNames());

        // The same for an IPv6-only node's key.
        LeaseSnapshot later = registry.listLeases();
        etcd.etcdctl("put", keys.subnetsPrefix() + "0.0.0.0-0&2001:2:19:6::-64", "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::a\"}")
                .check();
        SubnetKey mine6 = SubnetKey.of(Ip4Net.parse("198.19.1.0/24"), Ip6Net.parse("2001:2:19:6::/64"));
        assertInstanceOf(registry.create(mine6, dualAttrs(1), etcdLease, later));

        // Rewrites of existing keys (a renewal's re-put, another host's new attributes) do not fail a claim.
        LeaseSnapshot fresh = registry.listLeases();
        etcd.etcdctl("put", keys.subnetsPrefix() + "198.19.7.0-24&2001:2:19:7::-64", "{\"PublicIP\":\"198.18.0.7\",\"PublicIPv6\":\"2001:2::77\"}")
                .check();
        SubnetRegistry.CreateResult ok = registry.create(SubnetKey.of(Ip4Net.parse("198.19.1.0/24"), Ip6Net.parse("2001:2:19:1::/64")),
                dualAttrs(1), etcdLease, fresh);
        assertTrue(ok instanceof SubnetRegistry.CreateResult.Created, "created: " + ok);
        // The IPv4 guards still hold for a dual-stack claim: the plain key and any key of the IPv4 subnet.
        LeaseSnapshot last = registry.listLeases();
        assertInstanceOf(registry.create(SubnetKey.of(Ip4Net.parse("198.19.7.0/24"), Ip6Net.parse("2001:2:19:70::/64")), dualAttrs(2),
                etcdLease, last));
        etcd.etcdctl("put", keys.subnetsPrefix() + "198.19.8.0-24", "{\"PublicIP\":\"198.18.0.8\"}").check();
        LeaseSnapshot after = registry.listLeases();
        assertInstanceOf(registry.create(SubnetKey.of(Ip4Net.parse("198.19.8.0/24"), Ip6Net.parse("2001:2:19:80::/64")), dualAttrs(2),
                etcdLease, after));
    }

    private static SubnetRegistry.CreateResult.Taken assertInstanceOf(SubnetRegistry.CreateResult result) {
        return org.junit.jupiter.api.Assertions.assertInstanceOf(SubnetRegistry.CreateResult.Taken.class, result, "created: " + result);
    }

    @Test
    void concurrentHostsNeverShareAnIpv6SubnetEvenInATinyRange() throws Exception {
        // Plenty of IPv4 subnets, eight IPv6 ones: twelve hosts at once, eight winners, every IPv6 subnet once.
        String json = "{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
                + "\"IPv6SubnetMin\":\"2001:2:19:1::\",\"IPv6SubnetMax\":\"2001:2:19:8::\",\"Backend\":{\"Type\":\"vxlan\"}}";
        etcd.etcdctl("put", keys.config(), json).check();
        NetworkConfig config = config(json);
        ExecutorService pool = Executors.newFixedThreadPool(12);
        AtomicInteger exhausted = new AtomicInteger();
        try {
            List<Future<Optional<Lease>>> results = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                LeaseManager m = manager();
                LeaseAttrs attrs = dualAttrs(100 + i);
                results.add(pool.submit(() -> {
                    try {
                        return Optional.of(m.acquire(config, attrs, Optional.empty()));
                    } catch (SubnetExhaustedException e) {
                        exhausted.incrementAndGet();
                        return Optional.empty();
                    }
                }));
            }
            Set<Ip6Net> v6 = new HashSet<>();
            int held = 0;
            for (Future<Optional<Lease>> f : results) {
                Optional<Lease> l = f.get(60, TimeUnit.SECONDS);
                if (l.isPresent()) {
                    held++;
                    v6.add(l.get().ipv6Subnet());
                }
            }
            assertEquals(8, held, "eight IPv6 subnets, eight winners");
            assertEquals(8, v6.size(), "every IPv6 subnet held once: " + v6);
            assertEquals(4, exhausted.get());
            assertEquals(8, keyNames().size(), "etcd holds one key per winner: " + keyNames());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void ipv6OnlyHostsLeaseUnderFlannelsIpv6OnlyKeyAndAreKnownByTheirPublicIpv6() throws Exception {
        String json = "{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"Backend\":{\"Type\":\"vxlan\"}}";
        etcd.etcdctl("put", keys.config(), json).check();
        NetworkConfig config = manager().awaitConfig();
        assertFalse(config.enableIpv4());
        Set<Ip6Net> subnets = new HashSet<>();
        List<Lease> leases = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            Lease lease = manager().acquire(config, v6OnlyAttrs(i), Optional.empty());
            assertNull(lease.subnet());
            assertTrue(lease.keyName().startsWith("0.0.0.0-0&2001:2:19:"), lease.keyName());
            subnets.add(lease.ipv6Subnet());
            leases.add(lease);
        }
        assertEquals(3, subnets.size(), "three hosts, three subnets, although all three say PublicIP 0.0.0.0");
        assertEquals("{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::3\",\"BackendType\":\"vxlan\","
                + "\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:03\"}}", etcdValue(keys.subnet(leases.get(1).keyName())),
                "flannel's IPv6-only vxlan value, byte for byte");
        Lease again = manager().acquire(config, v6OnlyAttrs(2), Optional.empty());
        assertEquals(leases.get(1).keyName(), again.keyName(), "a restart finds its own key by PublicIPv6");
        assertEquals(leases.get(1).etcdLeaseId(), again.etcdLeaseId());
    }

    @Test
    void aDualStackKeyThatVanishesIsRecreatedUnderItsOwnNameByTheWatchAndByRenewal() throws Exception {
        etcd.etcdctl("put", keys.config(), DUAL).check();
        LeaseManager m = new LeaseManager(new SubnetRegistry(client, keys), FAST.withTtl(Duration.ofSeconds(3), Duration.ZERO), etcd.endpoint());
        closeables.add(m);
        NetworkConfig config = m.awaitConfig();
        Lease lease = m.acquire(config, dualAttrs(3), Optional.empty());
        AtomicReference<String> fatal = new AtomicReference<>();
        m.startRenewing(fatal::set);
        LeaseWatcher watcher = new LeaseWatcher(m.registry(), config, lease.subnet(), events -> { }, m::ownKeyChanged);
        closeables.add(watcher);
        LeaseSnapshot initial = m.registry().listLeases();
        watcher.start(initial, LeaseWatcher.peersOf(initial, config, lease.subnet()));

        // Deleted: the watch sees the own key go and the keeper re-creates it, both subnets, same name.
        etcd.etcdctl("del", keys.subnet(lease.keyName())).check();
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "key re-created",
                () -> etcdValue(keys.subnet(lease.keyName())).contains("2001:2::4"));
        Wait.until(Duration.ofSeconds(5), Duration.ofMillis(20), "the manager holds the re-created key",
                () -> m.held().etcdLeaseId() != lease.etcdLeaseId());
        assertEquals(lease.keyName(), m.held().keyName());
        assertEquals(lease.ipv6Subnet(), m.held().ipv6Subnet());

        // Expired (its etcd lease revoked): renewal re-creates it too.
        long before = m.held().etcdLeaseId();
        etcd.etcdctl("lease", "revoke", Long.toHexString(before)).check();
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "the manager holds a key on a new etcd lease",
                () -> m.held().etcdLeaseId() != before && etcdValue(keys.subnet(lease.keyName())).contains("2001:2::4"));
        assertEquals(List.of(lease.keyName()), keyNames());
        Thread.sleep(4000);
        assertEquals(List.of(lease.keyName()), keyNames(), "renewals keep the one key alive");
        assertNull(fatal.get());

        // Another host taking the IPv6 subnet under another key as this one goes (one transaction, so that the
        // keeper cannot re-create the key in between) is fatal, not shared.
        String thief = "198.19.250.0-24&" + lease.ipv6Subnet().keyForm();
        client.getKVClient().txn()
                .Then(io.etcd.jetcd.op.Op.delete(SubnetRegistry.bytes(keys.subnet(lease.keyName())), io.etcd.jetcd.options.DeleteOption.DEFAULT),
                        io.etcd.jetcd.op.Op.put(SubnetRegistry.bytes(keys.subnetsPrefix() + thief),
                                SubnetRegistry.bytes("{\"PublicIP\":\"198.18.0.250\",\"PublicIPv6\":\"2001:2::fa\"}"),
                                io.etcd.jetcd.options.PutOption.DEFAULT))
                .commit().get(10, TimeUnit.SECONDS);
        Wait.until(Duration.ofSeconds(10), Duration.ofMillis(50), "fatal report", () -> fatal.get() != null);
        assertTrue(fatal.get().contains("198.18.0.250"), fatal.get());
        assertFalse(keyNames().contains(lease.keyName()), "not re-created beside the other host's: " + keyNames());
        assertNotEquals(null, fatal.get());
    }
}
