package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A one-line file beside subnet.env ({@code subnet.env.lease}: {@code <subnet> <etcd lease id hex>})
 * that remembers which etcd lease this host's key was bound to. subnet.env itself keeps exactly
 * flannel's variables, because other programs read it. A lease with an IPv6 subnet adds it as a third field
 * ({@code 198.19.1.0/24 694d9a3c2b1f0011 2001:2:19:1::/64}); an IPv6-only lease writes {@code -} for the IPv4 subnet.
 */
public final class LeaseRecordFile {
    private LeaseRecordFile() {
    }

    public static Path beside(Path subnetFile) {
        return subnetFile.resolveSibling(subnetFile.getFileName() + ".lease");
    }

    public static void write(Path file, PreviousLease lease) throws IOException {
        String v4 = lease.subnet() == null ? "-" : lease.subnet().toString();
        String v6 = lease.ipv6Subnet() == null ? "" : " " + lease.ipv6Subnet();
        SubnetFile.writeAtomically(file, v4 + " " + Long.toHexString(lease.etcdLeaseId()) + v6 + "\n");
    }

    /** The record, or empty when the file is absent or unreadable (then only subnet.env guides the restart). */
    public static Optional<PreviousLease> read(Path file) {
        try {
            String[] parts = Files.readString(file, StandardCharsets.UTF_8).strip().split("\\s+");
            if (parts.length != 2 && parts.length != 3) {
                return Optional.empty();
            }
            Ip4Net v4 = parts[0].equals("-") ? null : Ip4Net.parse(parts[0]);
            Ip6Net v6 = parts.length == 3 ? Ip6Net.parse(parts[2]) : null;
            return Optional.of(new PreviousLease(v4, Long.parseUnsignedLong(parts[1], 16), v6));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
