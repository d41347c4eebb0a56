package io.flanneld.lease;

import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.LeaseCodec;
import io.flanneld.schema.MalformedLeaseException;
import io.flanneld.schema.SubnetKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every lease key under the prefix at one etcd revision.
 *
 * @param leases the keys whose values could be read and that hold an IPv4 subnet
 * @param occupied every IPv4 subnet that has a key, in any of flannel's key forms, readable or not: a malformed
 *                 value still holds its subnet, and so does a flannel node's dual-stack key {@code <v4>&<v6>}
 */
public record LeaseSnapshot(List<Lease> leases, List<Ip4Net> occupied, long revision) {
    private static final Logger LOG = LoggerFactory.getLogger(LeaseSnapshot.class);

    public LeaseSnapshot {
        leases = List.copyOf(leases);
        occupied = List.copyOf(occupied);
    }

    /** The lease whose key holds {@code subnet}, in whichever key form. */
    public Optional<Lease> find(Ip4Net subnet) {
        return leases.stream().filter(l -> l.subnet().equals(subnet)).findFirst();
    }

    /**
     * Reads the keys of one range read. Keys that are not lease keys are skipped with a warning naming them; a key of
     * an IPv6-only node holds no IPv4 subnet and is left out quietly (it is a well-formed key, just not one this
     * daemon's IPv4 network has anything to do with); a malformed value is skipped with a warning but its subnet stays
     * occupied.
     */
    public static LeaseSnapshot read(EtcdKeys keys, List<StoredKey> kvs, long revision) {
        List<Lease> leases = new ArrayList<>(kvs.size());
        List<Ip4Net> occupied = new ArrayList<>(kvs.size());
        for (StoredKey kv : kvs) {
            Optional<SubnetKey> name = keys.parseLeaseKey(kv.key());
            if (name.isEmpty()) {
                LOG.warn("lease key {}: not a subnet key (want <prefix>/subnets/a.b.c.d-len or flannel's a.b.c.d-len&ipv6-len), skipped",
                        kv.key());
                continue;
            }
            if (name.get().ipv4() == null) {
                LOG.debug("lease key {}: an IPv6-only node's key, no IPv4 subnet", kv.key());
                continue;
            }
            occupied.add(name.get().ipv4());
            decode(name.get(), kv).ifPresent(leases::add);
        }
        return new LeaseSnapshot(leases, occupied, revision);
    }

    /** The lease a key holds, or empty (with a warning naming the key) when its value is malformed. */
    static Optional<Lease> decode(SubnetKey name, StoredKey kv) {
        try {
            LeaseAttrs attrs = LeaseCodec.parse(kv.value());
            return Optional.of(new Lease(name.ipv4(), attrs, kv.etcdLeaseId(), kv.modRevision(), name.name()));
        } catch (MalformedLeaseException e) {
            LOG.warn("lease key {}: malformed value skipped: {}", kv.key(), e.getMessage());
            return Optional.empty();
        }
    }
}
