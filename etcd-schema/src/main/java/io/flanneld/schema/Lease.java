package io.flanneld.schema;

/**
 * One host's hold on a subnet as read from etcd.
 *
 * @param etcdLeaseId the etcd lease the key is bound to; 0 for a reservation, which never expires
 * @param modRevision the etcd revision that last wrote the key, to order what a watch reports
 */
public record Lease(Ip4Net subnet, LeaseAttrs attrs, long etcdLeaseId, long modRevision) {

    public boolean isReservation() {
        return etcdLeaseId == 0;
    }
}
