package io.etcd.jetcd.op;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.api.Compare;

/**
 * A transaction condition that holds only while every key starting with a given prefix was created at or before a
 * given revision: etcd's compare over a key range ({@code range_end}, etcd ≥ 3.3), {@code create_revision < revision + 1}
 * for every key in it, which is true of an empty range. Like {@link PrefixAbsentCmp}, it lives in jetcd's package only
 * to add the range end to the message jetcd's {@link Cmp} builds.
 *
 * <p>Used to claim an IPv6 subnet: a lease key's name starts with its IPv4 part, so no key range holds "every key with
 * this IPv6 subnet". The claim was chosen from a listing at {@code revision} in which no key held the subnet; if no key
 * under the subnets prefix was created since, the set of keys is a subset of that listing's (a key's name never
 * changes, a re-created key has a new create revision), so still none holds it. Rewrites of existing keys (renewals,
 * flannel's re-puts) leave the create revision alone and do not fail the claim.
 */
public final class PrefixCreatedUpToCmp extends Cmp {
    private final ByteSequence prefix;
    private final long revision;

    public PrefixCreatedUpToCmp(ByteSequence prefix, long revision) {
        super(prefix, Op.LESS, CmpTarget.createRevision(revision + 1));
        if (prefix.isEmpty()) {
            throw new IllegalArgumentException("an empty prefix would be every key");
        }
        this.prefix = prefix;
        this.revision = revision;
    }

    @Override
    Compare toCompare(ByteSequence namespace) {
        Compare one = super.toCompare(namespace);
        return one.toBuilder().setRangeEnd(PrefixAbsentCmp.prefixEnd(one.getKey())).build();
    }

    @Override
    public String toString() {
        return "no key with prefix " + prefix + " created after revision " + revision;
    }
}
