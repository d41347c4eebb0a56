package io.etcd.jetcd.op;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.api.Compare;

/**
 * A transaction condition that holds only while no key starts with a given prefix: etcd's compare over a key range
 * ({@code range_end}, etcd ≥ 3.3), {@code version == 0} for every key in it, which is true of an empty range. jetcd
 * 0.8's {@link Cmp} compares one key only and builds its protocol message in a package-private method; this class
 * lives in jetcd's package to add the range end to that message, and nothing else.
 *
 * <p>Used to create a plain lease key {@code 198.19.1.0-24} only if no dual-stack key {@code 198.19.1.0-24&…}
 * (flannel's form with IPv6) holds the same IPv4 subnet, in the same transaction.
 */
public final class PrefixAbsentCmp extends Cmp {
    private final ByteSequence prefix;

    public PrefixAbsentCmp(ByteSequence prefix) {
        super(prefix, Op.EQUAL, CmpTarget.version(0));
        if (prefix.isEmpty()) {
            throw new IllegalArgumentException("an empty prefix would be every key");
        }
        this.prefix = prefix;
    }

    @Override
    Compare toCompare(ByteSequence namespace) {
        Compare one = super.toCompare(namespace);
        return one.toBuilder().setRangeEnd(prefixEnd(one.getKey())).build();
    }

    /** The first key after every key that starts with {@code start}: the last byte below 0xff incremented. */
    static ByteString prefixEnd(ByteString start) {
        byte[] end = start.toByteArray();
        for (int i = end.length - 1; i >= 0; i--) {
            if (end[i] != (byte) 0xff) {
                end[i]++;
                return ByteString.copyFrom(end, 0, i + 1);
            }
        }
        // All 0xff: no key sorts after them with this prefix; "\0" means "to the end of the key space" in etcd.
        return ByteString.copyFrom(new byte[] {0});
    }

    @Override
    public String toString() {
        return "no key with prefix " + prefix;
    }
}
