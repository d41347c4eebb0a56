package io.flanneld.lease;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads and writes subnet.env. Writes go to a temporary file in the same directory that is
 * then renamed over the old one, so a reader (Docker starting, the CNI plugin) never sees half
 * a file.
 */
public final class SubnetFile {
    private SubnetFile() {
    }

    public static void write(Path file, SubnetEnv env) throws IOException {
        writeAtomically(file, env.render());
    }

    /**
     * Writes {@code text} to {@code file} through a rename in the same directory, so a reader sees the old file or the
     * new one, never a part. The file gets mode 0644 whatever the umask (it holds nothing private, and Docker, CNI
     * plugins and operators read it); directories this creates get 0755 likewise. The data is flushed to disk before
     * the rename, so a crash cannot leave an empty file under the real name.
     */
    public static void writeAtomically(Path file, String text) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        createDirectories(dir);
        // createTempFile makes the file 0600 (umask aside); the mode is set explicitly before it becomes visible.
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer bytes = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) {
                    channel.write(bytes);
                }
                channel.force(true);
            }
            Files.setPosixFilePermissions(tmp, FILE_MODE);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-r--r--");
    private static final java.util.Set<java.nio.file.attribute.PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwxr-xr-x");

    /** Creates the missing directories of {@code dir}, each 0755 whatever the umask; existing ones are left as they are. */
    private static void createDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Path parent = dir.getParent();
        if (parent != null) {
            createDirectories(parent);
        }
        try {
            Files.createDirectory(dir);
            Files.setPosixFilePermissions(dir, DIR_MODE);
        } catch (java.nio.file.FileAlreadyExistsException raced) {
            if (!Files.isDirectory(dir)) {
                throw raced;
            }
        }
    }

    /**
     * Reads a subnet.env.
     *
     * @return empty when the file does not exist
     * @throws SubnetFileException when it exists but a variable is missing or malformed; the message names it
     */
    public static Optional<SubnetEnv> read(Path file) throws SubnetFileException {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new SubnetFileException(file + ": cannot read: " + e.getMessage());
        }
        Map<String, String> vars = new HashMap<>();
        for (String raw : lines) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("export ")) {
                line = line.substring("export ".length()).strip();
            }
            int eq = line.indexOf('=');
            if (eq <= 0) {
                throw new SubnetFileException(file + ": not a VAR=value line: \"" + raw + "\"");
            }
            vars.put(line.substring(0, eq).strip(), unquote(line.substring(eq + 1).strip()));
        }
        // Each family's pair is there or absent as a whole; an IPv6-only node's file has no IPv4 pair (flannel's
        // WriteSubnetFile writes the pairs of the enabled families only).
        boolean v6 = present(vars, "FLANNEL_IPV6_NETWORK") || present(vars, "FLANNEL_IPV6_SUBNET");
        boolean v4 = !v6 || present(vars, "FLANNEL_NETWORK") || present(vars, "FLANNEL_SUBNET");
        Ip4Net network = v4 ? net(file, vars, "FLANNEL_NETWORK", false) : null;
        Ip4Net subnet = v4 ? net(file, vars, "FLANNEL_SUBNET", true) : null;
        Ip6Net ipv6Network = v6 ? net6(file, vars, "FLANNEL_IPV6_NETWORK", false) : null;
        Ip6Net ipv6Subnet = v6 ? net6(file, vars, "FLANNEL_IPV6_SUBNET", true) : null;
        String mtuText = require(file, vars, "FLANNEL_MTU");
        int mtu;
        try {
            mtu = Integer.parseInt(mtuText);
        } catch (NumberFormatException e) {
            throw new SubnetFileException(file + ": FLANNEL_MTU is not a number: \"" + mtuText + "\"");
        }
        if (mtu < 68 || mtu > 65535) {
            throw new SubnetFileException(file + ": FLANNEL_MTU " + mtu + " is outside 68..65535");
        }
        String masq = vars.getOrDefault("FLANNEL_IPMASQ", "false");
        if (!masq.equals("true") && !masq.equals("false")) {
            throw new SubnetFileException(file + ": FLANNEL_IPMASQ must be true or false, got \"" + masq + "\"");
        }
        return Optional.of(new SubnetEnv(network, subnet, mtu, Boolean.parseBoolean(masq), ipv6Network, ipv6Subnet));
    }

    private static boolean present(Map<String, String> vars, String name) {
        String value = vars.get(name);
        return value != null && !value.isEmpty();
    }

    private static Ip6Net net6(Path file, Map<String, String> vars, String name, boolean hostAddress) throws SubnetFileException {
        String value = require(file, vars, name);
        try {
            return Ip6Net.parse(value, hostAddress);
        } catch (IllegalArgumentException e) {
            throw new SubnetFileException(file + ": " + name + " is not an IPv6 network: " + e.getMessage());
        }
    }

    private static Ip4Net net(Path file, Map<String, String> vars, String name, boolean hostAddress) throws SubnetFileException {
        String value = require(file, vars, name);
        try {
            return Ip4Net.parse(value, hostAddress);
        } catch (IllegalArgumentException e) {
            throw new SubnetFileException(file + ": " + name + " is not a network: " + e.getMessage());
        }
    }

    private static String require(Path file, Map<String, String> vars, String name) throws SubnetFileException {
        String value = vars.get(name);
        if (value == null || value.isEmpty()) {
            throw new SubnetFileException(file + ": " + name + " is missing");
        }
        return value;
    }

    private static String unquote(String value) {
        if (value.length() >= 2 && (value.startsWith("\"") && value.endsWith("\"") || value.startsWith("'") && value.endsWith("'"))) {
            return value.substring(1, value.length() - 1);
        }
        return value;
    }
}
