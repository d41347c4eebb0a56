package io.flanneld.lease;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.op.PrefixAbsentCmp;
import io.etcd.jetcd.op.PrefixCreatedUpToCmp;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.LeaseCodec;
import io.flanneld.schema.SubnetKey;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The etcd side of leasing: reads and writes flannel's keys with the few requests each step
 * needs, and no policy. Every call is bounded by a request timeout and turns transport failures
 * into {@link EtcdUnavailableException}.
 *
 * <p>Not final so that tests can stand a request whose answer is lost (applied, then timed out) in front of a
 * real etcd; nothing in the project extends it.
 */
public class SubnetRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(SubnetRegistry.class);

    private final Client client;
    private final EtcdKeys keys;
    private final Duration requestTimeout;
    private final RequestCounter counter;
    private final EtcdOptions access;

    /**
     * @param access the flags the client was built from, to explain refusals ({@link EtcdAccessException}) by the
     *               flags and files to fix; null when unknown, and then every failure is an {@link EtcdUnavailableException}
     */
    public SubnetRegistry(Client client, EtcdKeys keys, Duration requestTimeout, RequestCounter counter, EtcdOptions access) {
        this.client = client;
        this.keys = keys;
        this.requestTimeout = requestTimeout;
        this.counter = counter;
        this.access = access;
    }

    public SubnetRegistry(Client client, EtcdKeys keys, Duration requestTimeout, RequestCounter counter) {
        this(client, keys, requestTimeout, counter, null);
    }

    public SubnetRegistry(Client client, EtcdKeys keys) {
        this(client, keys, Duration.ofSeconds(5), RequestCounter.NONE);
    }

    public EtcdKeys keys() {
        return keys;
    }

    Client client() {
        return client;
    }

    /** The raw config JSON, or empty when the key does not exist. */
    public Optional<String> getConfig() throws EtcdUnavailableException, EtcdAccessException {
        GetResponse response = await("read " + keys.config(), client.getKVClient().get(bytes(keys.config())));
        return response.getKvs().stream().findFirst().map(kv -> kv.getValue().toString(StandardCharsets.UTF_8));
    }

    /**
     * Writes the network config; with {@code onlyIfAbsent} an existing config is left as it is.
     *
     * @return true when the value was written
     */
    public boolean putConfig(String json, boolean onlyIfAbsent) throws EtcdUnavailableException, EtcdAccessException {
        ByteSequence key = bytes(keys.config());
        if (!onlyIfAbsent) {
            await("write " + keys.config(), client.getKVClient().put(key, bytes(json)));
            return true;
        }
        return await("create " + keys.config(), client.getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.version(0)))
                .Then(Op.put(key, bytes(json), PutOption.DEFAULT))
                .commit()).isSucceeded();
    }

    /**
     * etcd's current revision, from a count-only read of the config key: the cheapest request
     * that carries it.
     */
    public long revision() throws EtcdUnavailableException, EtcdAccessException {
        return await("read the revision", client.getKVClient().get(bytes(keys.config()), GetOption.builder().withCountOnly(true).build()))
                .getHeader().getRevision();
    }

    /** One range read of every lease key. */
    public LeaseSnapshot listLeases() throws EtcdUnavailableException, EtcdAccessException {
        GetResponse response = await("list " + keys.subnetsPrefix(),
                client.getKVClient().get(bytes(keys.subnetsPrefix()), GetOption.builder().isPrefix(true).build()));
        return snapshotOf(response.getKvs(), response.getHeader().getRevision());
    }

    LeaseSnapshot snapshotOf(List<KeyValue> kvs, long revision) {
        List<StoredKey> stored = new ArrayList<>(kvs.size());
        for (KeyValue kv : kvs) {
            stored.add(stored(kv));
        }
        return LeaseSnapshot.read(keys, stored, revision);
    }

    static StoredKey stored(KeyValue kv) {
        return new StoredKey(kv.getKey().toString(StandardCharsets.UTF_8), kv.getValue().toString(StandardCharsets.UTF_8),
                kv.getLease(), kv.getModRevision());
    }

    /** The lease a watched key-value holds, or empty (with a warning naming the key) when its value is malformed. */
    Optional<Lease> decode(SubnetKey name, KeyValue kv) {
        return LeaseSnapshot.decode(name, stored(kv));
    }

    /** The outcome of trying to create a lease key that must not exist yet. */
    public sealed interface CreateResult {
        record Created(Lease lease) implements CreateResult {
        }

        /** Someone holds the key already; the snapshot is fresh, read in the same transaction. */
        record Taken(LeaseSnapshot snapshot) implements CreateResult {
        }
    }

    /**
     * Creates the plain lease key of {@code subnet} only if no key holds the subnet yet, bound to the etcd lease
     * {@code leaseId}. On conflict the same transaction returns all leases, so a retry needs no extra read.
     */
    public CreateResult create(Ip4Net subnet, LeaseAttrs attrs, long leaseId) throws EtcdUnavailableException, EtcdAccessException {
        return create(subnet, EtcdKeys.subnetName(subnet), attrs, leaseId);
    }

    /**
     * Creates the key {@code keyName} (the plain form, or the dual-stack form of a lease this host took over) holding
     * {@code subnet}, only if neither the plain key {@code 198.19.1.0-24} nor any dual-stack key
     * {@code 198.19.1.0-24&…} exists: a flannel node with IPv6 holds its IPv4 subnet under the second form, and a
     * check of one key name alone would let two hosts share the subnet.
     */
    public CreateResult create(Ip4Net subnet, String keyName, LeaseAttrs attrs, long leaseId)
            throws EtcdUnavailableException, EtcdAccessException {
        String plainName = EtcdKeys.subnetName(subnet);
        ByteSequence plain = bytes(keys.subnet(plainName));
        ByteSequence key = bytes(keys.subnet(keyName));
        TxnResponse response = await("create " + keys.subnet(keyName), client.getKVClient().txn()
                .If(new Cmp(plain, Cmp.Op.EQUAL, CmpTarget.version(0)),
                        new PrefixAbsentCmp(bytes(keys.subnet(plainName + "&"))))
                .Then(Op.put(key, bytes(LeaseCodec.toJson(attrs)), PutOption.builder().withLeaseId(leaseId).build()))
                .Else(Op.get(bytes(keys.subnetsPrefix()), GetOption.builder().isPrefix(true).build()))
                .commit());
        if (response.isSucceeded()) {
            long revision = response.getHeader().getRevision();
            return new CreateResult.Created(new Lease(subnet, attrs, leaseId, revision, keyName));
        }
        GetResponse all = response.getGetResponses().get(0);
        return new CreateResult.Taken(snapshotOf(all.getKvs(), response.getHeader().getRevision()));
    }

    /**
     * Creates the key of a lease holding an IPv6 subnet ({@code 198.19.1.0-24&2001:2:19:1::-64}, or an IPv6-only
     * node's {@code 0.0.0.0-0&2001:2:19:1::-64}) bound to the etcd lease {@code leaseId}, in one transaction that holds
     * only if (a) the key does not exist, (b) for an IPv4 subnet, neither its plain key nor any other key of it
     * ({@code 198.19.1.0-24&…}) exists, as {@link #create(Ip4Net, String, LeaseAttrs, long)} checks, and (c) no key under
     * the subnets prefix was created after {@code listedRevision}, the revision of the listing in which the IPv6
     * subnet was free ({@link PrefixCreatedUpToCmp} says why that guards it). A key holding only an IPv4 subnet goes to
     * {@link #create(Ip4Net, String, LeaseAttrs, long)}. On any failed condition the same transaction returns the keys
     * created since {@code listed} (not every key: at a mass start every claim but one fails each round, and a full
     * listing in each answer would make that quadratic in bytes), and the result is {@code listed} brought forward by
     * them ({@link LeaseSnapshot#plus}), so the caller can tell a taken subnet from a listing that merely moved on.
     *
     * @param listed the listing the claim was chosen from
     */
    public CreateResult create(SubnetKey key, LeaseAttrs attrs, long leaseId, LeaseSnapshot listed)
            throws EtcdUnavailableException, EtcdAccessException {
        if (key.ipv6() == null) {
            return create(key.ipv4(), key.name(), attrs, leaseId);
        }
        long listedRevision = listed.revision();
        ByteSequence name = bytes(keys.subnet(key.name()));
        List<Cmp> conditions = new ArrayList<>();
        conditions.add(new Cmp(name, Cmp.Op.EQUAL, CmpTarget.version(0)));
        if (key.ipv4() != null) {
            String plainName = EtcdKeys.subnetName(key.ipv4());
            conditions.add(new Cmp(bytes(keys.subnet(plainName)), Cmp.Op.EQUAL, CmpTarget.version(0)));
            conditions.add(new PrefixAbsentCmp(bytes(keys.subnet(plainName + "&"))));
        }
        conditions.add(new PrefixCreatedUpToCmp(bytes(keys.subnetsPrefix()), listedRevision));
        TxnResponse response = await("create " + keys.subnet(key.name()), client.getKVClient().txn()
                .If(conditions.toArray(new Cmp[0]))
                .Then(Op.put(name, bytes(LeaseCodec.toJson(attrs)), PutOption.builder().withLeaseId(leaseId).build()))
                .Else(Op.get(bytes(keys.subnetsPrefix()), GetOption.builder().isPrefix(true)
                        .withMinCreateRevision(listedRevision + 1).build()))
                .commit());
        if (response.isSucceeded()) {
            return new CreateResult.Created(Lease.of(key, attrs, leaseId, response.getHeader().getRevision()));
        }
        GetResponse created = response.getGetResponses().get(0);
        return new CreateResult.Taken(listed.plus(snapshotOf(created.getKvs(), response.getHeader().getRevision())));
    }

    /**
     * Rewrites an existing lease key (in the form it has) with new attributes, only if nobody wrote it since
     * {@code existing.modRevision()}. A reservation stays a reservation: no etcd lease is attached.
     *
     * @return the lease as written, or empty when the key changed meanwhile
     */
    public Optional<Lease> update(Lease existing, LeaseAttrs attrs, long etcdLeaseId) throws EtcdUnavailableException, EtcdAccessException {
        String name = keys.subnet(existing.keyName());
        ByteSequence key = bytes(name);
        PutOption put = etcdLeaseId == 0 ? PutOption.DEFAULT : PutOption.builder().withLeaseId(etcdLeaseId).build();
        TxnResponse response = await("update " + name, client.getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(existing.modRevision())))
                .Then(Op.put(key, bytes(LeaseCodec.toJson(attrs)), put))
                .commit());
        if (!response.isSucceeded()) {
            return Optional.empty();
        }
        return Optional.of(new Lease(existing.subnet(), attrs, etcdLeaseId, response.getHeader().getRevision(), existing.keyName(),
                existing.ipv6Subnet()));
    }

    /** What the key of {@code lease} (in its own form) holds now, or empty when it is absent or unreadable. */
    public Optional<Lease> get(Lease lease) throws EtcdUnavailableException, EtcdAccessException {
        String key = keys.subnet(lease.keyName());
        GetResponse response = await("read " + key, client.getKVClient().get(bytes(key)));
        return response.getKvs().stream().findFirst()
                .flatMap(kv -> keys.parseLeaseKey(key).flatMap(k -> decode(k, kv)));
    }

    /** Deletes the key of {@code lease}, in its own form. */
    public void delete(Lease lease) throws EtcdUnavailableException, EtcdAccessException {
        String key = keys.subnet(lease.keyName());
        await("delete " + key, client.getKVClient().delete(bytes(key)));
    }

    /** A granted etcd lease with the TTL etcd gave it (which may exceed the one asked for, never fall short of it). */
    public record Grant(long id, Duration ttl) {
    }

    public Grant grant(Duration ttl) throws EtcdUnavailableException, EtcdAccessException {
        var response = await("grant a " + ttl.toSeconds() + " s lease", client.getLeaseClient().grant(ttl.toSeconds()));
        return new Grant(response.getID(), Duration.ofSeconds(response.getTTL()));
    }

    /**
     * Extends an etcd lease to its full TTL.
     *
     * @return the new TTL in seconds, or empty when etcd no longer knows the lease (it expired or etcd lost its data)
     */
    public Optional<Long> keepAlive(long etcdLeaseId) throws EtcdUnavailableException, EtcdAccessException {
        try {
            LeaseKeepAliveResponse response = await("renew lease " + Long.toHexString(etcdLeaseId),
                    client.getLeaseClient().keepAliveOnce(etcdLeaseId));
            return response.getTTL() <= 0 ? Optional.empty() : Optional.of(response.getTTL());
        } catch (EtcdUnavailableException e) {
            if (isLeaseNotFound(e.getCause())) {
                return Optional.empty();
            }
            throw e;
        }
    }

    private static boolean isLeaseNotFound(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            String message = String.valueOf(c.getMessage());
            if (message.contains("requested lease not found") || message.contains("NOT_FOUND")) {
                return true;
            }
        }
        return false;
    }

    /** Seconds the etcd lease has left, or empty when etcd no longer knows it. */
    public Optional<Long> timeToLive(long etcdLeaseId) throws EtcdUnavailableException, EtcdAccessException {
        long ttl = await("time to live of lease " + Long.toHexString(etcdLeaseId),
                client.getLeaseClient().timeToLive(etcdLeaseId, io.etcd.jetcd.options.LeaseOption.DEFAULT)).getTTL();
        return ttl < 0 ? Optional.empty() : Optional.of(ttl);
    }

    void revokeQuietly(long etcdLeaseId) {
        client.getLeaseClient().revoke(etcdLeaseId).exceptionally(t -> null);
    }

    <T> T await(String what, CompletableFuture<T> future) throws EtcdUnavailableException, EtcdAccessException {
        counter.request();
        long start = System.nanoTime();
        boolean failed = true;
        try {
            T result = future.get(requestTimeout.toMillis(), TimeUnit.MILLISECONDS);
            failed = false;
            return result;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            future.cancel(true);
            throw new EtcdUnavailableException(what + ": interrupted", e);
        } catch (TimeoutException e) {
            future.cancel(true);
            throw new EtcdUnavailableException(what + ": no answer within " + requestTimeout.toMillis() + " ms", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            if (access != null) {
                Optional<String> refusal = EtcdAccessErrors.classify(cause, access);
                if (refusal.isPresent()) {
                    throw new EtcdAccessException(refusal.get(), cause);
                }
            }
            throw new EtcdUnavailableException(what + ": " + describe(cause), cause);
        } finally {
            counter.completed(System.nanoTime() - start, failed);
        }
    }

    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null && sb.length() < 400; c = c.getCause()) {
            if (sb.length() > 0) {
                sb.append(": ");
            }
            sb.append(c instanceof EtcdException ? "" : c.getClass().getSimpleName() + " ").append(c.getMessage());
            if (c.getCause() == c) {
                break;
            }
        }
        return sb.toString();
    }

    static ByteSequence bytes(String text) {
        return ByteSequence.from(text, StandardCharsets.UTF_8);
    }
}
