package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;

/**
 * What this host held before it restarted: the subnets from subnet.env and, when known, the etcd
 * lease id they were bound to. The id tells this host's own old key (written under a PublicIP that
 * has since changed) apart from a key another host created after the old one expired.
 *
 * @param subnet      the IPv4 subnet, or null when the host held an IPv6 subnet alone
 * @param etcdLeaseId 0 when unknown
 * @param ipv6Subnet  the IPv6 subnet, or null
 */
public record PreviousLease(Ip4Net subnet, long etcdLeaseId, Ip6Net ipv6Subnet) {
    public PreviousLease {
        if (subnet == null && ipv6Subnet == null) {
            throw new IllegalArgumentException("a previous lease held an IPv4 subnet, an IPv6 subnet or both");
        }
    }

    /** An IPv4 subnet alone. */
    public PreviousLease(Ip4Net subnet, long etcdLeaseId) {
        this(java.util.Objects.requireNonNull(subnet, "subnet"), etcdLeaseId, null);
    }
}
