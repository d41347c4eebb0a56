package io.flanneld.schema;

import java.util.Objects;

/**
 * One host's hold on a subnet as read from etcd: an IPv4 subnet, an IPv6 subnet, or both under one key (flannel's
 * dual-stack form). {@link #subnet()} is the IPv4 subnet, as it always was; an IPv6-only lease has none (null), and the
 * places that hand leases to an IPv4 data path never see such a lease (see LeaseSnapshot in subnet-lease).
 *
 * @param subnet      the IPv4 subnet the key holds, or null for an IPv6-only lease
 * @param etcdLeaseId the etcd lease the key is bound to; 0 for a reservation, which never expires
 * @param modRevision the etcd revision that last wrote the key: what a compare-and-swap of the key compares against
 * @param keyName     the key's name below {@code <prefix>/subnets/} as it is in etcd: the plain form, or the dual-stack
 *                    or IPv6-only form ({@link SubnetKey}), which every write to this lease must keep
 * @param ipv6Subnet  the IPv6 subnet the key holds, or null
 */
public record Lease(Ip4Net subnet, LeaseAttrs attrs, long etcdLeaseId, long modRevision, String keyName, Ip6Net ipv6Subnet) {
    public Lease {
        if (subnet == null && ipv6Subnet == null) {
            throw new NullPointerException("subnet: a lease holds an IPv4 subnet, an IPv6 subnet or both");
        }
        Objects.requireNonNull(keyName, "keyName");
    }

    /** A lease holding an IPv4 subnet alone, under {@code keyName}. */
    public Lease(Ip4Net subnet, LeaseAttrs attrs, long etcdLeaseId, long modRevision, String keyName) {
        this(Objects.requireNonNull(subnet, "subnet"), attrs, etcdLeaseId, modRevision, keyName, null);
    }

    /** A lease under the plain key ({@code 10.244.7.0-24}). */
    public Lease(Ip4Net subnet, LeaseAttrs attrs, long etcdLeaseId, long modRevision) {
        this(subnet, attrs, etcdLeaseId, modRevision, EtcdKeys.subnetName(subnet));
    }

    /** The lease of a key read from etcd, with the subnets its name holds. */
    public static Lease of(SubnetKey key, LeaseAttrs attrs, long etcdLeaseId, long modRevision) {
        return new Lease(key.ipv4(), attrs, etcdLeaseId, modRevision, key.name(), key.ipv6());
    }

    public boolean isReservation() {
        return etcdLeaseId == 0;
    }

    /** The key's name read back: which subnets it holds. */
    public SubnetKey key() {
        return new SubnetKey(keyName, subnet, ipv6Subnet);
    }

    /** The subnets as an operator reads them in a log line: {@code 198.19.1.0/24}, {@code 198.19.1.0/24 + 2001:2:19:1::/64}. */
    public String describe() {
        if (ipv6Subnet == null) {
            return String.valueOf(subnet);
        }
        return subnet == null ? ipv6Subnet.toString() : subnet + " + " + ipv6Subnet;
    }
}
