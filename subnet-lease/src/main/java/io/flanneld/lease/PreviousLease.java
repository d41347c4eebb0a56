package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;

/**
 * What this host held before it restarted: the subnet from subnet.env and, when known, the etcd
 * lease id it was bound to. The id tells this host's own old key (written under a PublicIP that
 * has since changed) apart from a key another host created after the old one expired.
 *
 * @param etcdLeaseId 0 when unknown
 */
public record PreviousLease(Ip4Net subnet, long etcdLeaseId) {
}
