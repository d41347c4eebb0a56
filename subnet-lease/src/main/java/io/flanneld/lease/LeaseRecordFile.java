package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * A one-line file beside subnet.env ({@code subnet.env.lease}: {@code <subnet> <etcd lease id hex>})
 * that remembers which etcd lease this host's key was bound to. subnet.env itself keeps exactly
 * flannel's variables, because other programs read it.
 */
public final class LeaseRecordFile {
    private LeaseRecordFile() {
    }

    public static Path beside(Path subnetFile) {
        return subnetFile.resolveSibling(subnetFile.getFileName() + ".lease");
    }

    public static void write(Path file, PreviousLease lease) throws IOException {
        SubnetFile.writeAtomically(file, lease.subnet() + " " + Long.toHexString(lease.etcdLeaseId()) + "\n");
    }

    /** The record, or empty when the file is absent or unreadable (then only subnet.env guides the restart). */
    public static Optional<PreviousLease> read(Path file) {
        try {
            String[] parts = Files.readString(file, StandardCharsets.UTF_8).strip().split("\\s+");
            if (parts.length != 2) {
                return Optional.empty();
            }
            return Optional.of(new PreviousLease(Ip4Net.parse(parts[0]), Long.parseUnsignedLong(parts[1], 16)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
