package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import java.util.List;
import java.util.Optional;

/**
 * Every lease key under the prefix at one etcd revision.
 *
 * @param leases the keys whose values could be read
 * @param occupied every subnet that has a key, readable or not: a malformed value still holds its subnet
 */
public record LeaseSnapshot(List<Lease> leases, List<Ip4Net> occupied, long revision) {
    public LeaseSnapshot {
        leases = List.copyOf(leases);
        occupied = List.copyOf(occupied);
    }

    public Optional<Lease> find(Ip4Net subnet) {
        return leases.stream().filter(l -> l.subnet().equals(subnet)).findFirst();
    }
}
