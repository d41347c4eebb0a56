package io.flanneld.lease;

/**
 * One key-value under the subnets prefix as etcd returned it, before it is read as a lease: what the pure decoding
 * ({@link LeaseSnapshot#read}) works on, so that it is tested without etcd.
 *
 * @param etcdLeaseId the etcd lease the key is bound to, 0 for none
 */
public record StoredKey(String key, String value, long etcdLeaseId, long modRevision) {
}
