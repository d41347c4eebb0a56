package io.flanneld.schema;

import java.util.Objects;

/**
 * One host's hold on a subnet as read from etcd.
 *
 * @param subnet      the IPv4 subnet the key holds
 * @param etcdLeaseId the etcd lease the key is bound to; 0 for a reservation, which never expires
 * @param modRevision the etcd revision that last wrote the key: what a compare-and-swap of the key compares against
 * @param keyName     the key's name below {@code <prefix>/subnets/} as it is in etcd: the plain form this daemon
 *                    writes, or a flannel node's dual-stack form ({@link SubnetKey}), which every write to this
 *                    lease must keep
 */
public record Lease(Ip4Net subnet, LeaseAttrs attrs, long etcdLeaseId, long modRevision, String keyName) {
    public Lease {
        Objects.requireNonNull(subnet, "subnet");
        Objects.requireNonNull(keyName, "keyName");
    }

    /** A lease under the plain key this daemon writes ({@code 10.244.7.0-24}). */
    public Lease(Ip4Net subnet, LeaseAttrs attrs, long etcdLeaseId, long modRevision) {
        this(subnet, attrs, etcdLeaseId, modRevision, EtcdKeys.subnetName(subnet));
    }

    public boolean isReservation() {
        return etcdLeaseId == 0;
    }
}
