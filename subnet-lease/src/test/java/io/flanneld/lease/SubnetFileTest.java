package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SubnetFileTest {
    @TempDir
    Path dir;

    @Test
    void writesFlannelsFormatAtomicallyWithMode0644() throws Exception {
        Path file = dir.resolve("run/flannel/subnet.env");
        SubnetEnv env = new SubnetEnv(Ip4Net.parse("10.244.0.0/16"), Ip4Net.parse("10.244.7.0/24"), 1450, false);
        SubnetFile.write(file, env);
        assertEquals("FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n",
                Files.readString(file));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        try (var files = Files.list(file.getParent())) {
            assertEquals(1, files.count(), "no temporary file may be left beside subnet.env");
        }
        assertEquals(Optional.of(env), SubnetFile.read(file));
    }

    /** flannel's WriteSubnetFile (pkg/subnet/subnet.go): the IPv4 pair, the IPv6 pair, then MTU and IPMASQ. */
    @Test
    void dualStackWritesBothPairsInFlannelsOrder() throws Exception {
        Path file = dir.resolve("subnet.env");
        SubnetEnv env = new SubnetEnv(Ip4Net.parse("198.19.0.0/16"), Ip4Net.parse("198.19.7.0/24"), 1450, true,
                Ip6Net.parse("2001:2:19::/48"), Ip6Net.parse("2001:2:19:7::/64"));
        SubnetFile.write(file, env);
        assertEquals("FLANNEL_NETWORK=198.19.0.0/16\nFLANNEL_SUBNET=198.19.7.1/24\n"
                + "FLANNEL_IPV6_NETWORK=2001:2:19::/48\nFLANNEL_IPV6_SUBNET=2001:2:19:7::1/64\n"
                + "FLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n", Files.readString(file));
        assertEquals(Optional.of(env), SubnetFile.read(file));
    }

    @Test
    void ipv6OnlyWritesNoIpv4Pair() throws Exception {
        Path file = dir.resolve("subnet.env");
        SubnetEnv env = new SubnetEnv(null, null, 1430, false, Ip6Net.parse("2001:2:19::/48"),
                Ip6Net.parse("2001:2:19:ab00::/56"));
        SubnetFile.write(file, env);
        assertEquals("FLANNEL_IPV6_NETWORK=2001:2:19::/48\nFLANNEL_IPV6_SUBNET=2001:2:19:ab00::1/56\n"
                + "FLANNEL_MTU=1430\nFLANNEL_IPMASQ=false\n", Files.readString(file));
        SubnetEnv read = SubnetFile.read(file).orElseThrow();
        assertEquals(env, read);
        assertFalse(read.hasIpv4());
        assertTrue(read.hasIpv6());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "FLANNEL_IPV6_SUBNET=2001:2:19:7::1/64\\nFLANNEL_MTU=1450 | FLANNEL_IPV6_NETWORK",
        "FLANNEL_IPV6_NETWORK=2001:2:19::/48\\nFLANNEL_MTU=1450 | FLANNEL_IPV6_SUBNET",
        "FLANNEL_IPV6_NETWORK=2001:2:19::/48\\nFLANNEL_IPV6_SUBNET=198.19.7.1/24\\nFLANNEL_MTU=1450 | FLANNEL_IPV6_SUBNET",
        "FLANNEL_NETWORK=198.19.0.0/16\\nFLANNEL_IPV6_NETWORK=2001:2:19::/48\\nFLANNEL_IPV6_SUBNET=2001:2:19:7::1/64\\nFLANNEL_MTU=1450 | FLANNEL_SUBNET",
    })
    void malformedIpv6FilesNameTheVariable(String content, String named) throws Exception {
        Path file = dir.resolve("subnet.env");
        Files.writeString(file, content.replace("\\n", "\n"));
        SubnetFileException e = assertThrows(SubnetFileException.class, () -> SubnetFile.read(file));
        assertTrue(e.getMessage().contains(named + " "), e.getMessage());
    }

    @Test
    void aMissingFileIsNoPreviousSubnet() throws Exception {
        assertEquals(Optional.empty(), SubnetFile.read(dir.resolve("absent.env")));
    }

    @Test
    void readsExportAndQuotes() throws Exception {
        Path file = dir.resolve("subnet.env");
        Files.writeString(file, "# written by hand\nexport FLANNEL_NETWORK=\"198.19.0.0/16\"\nFLANNEL_SUBNET='198.19.3.1/24'\nFLANNEL_MTU=1472\n");
        SubnetEnv env = SubnetFile.read(file).orElseThrow();
        assertEquals(Ip4Net.parse("198.19.3.0/24"), env.subnet());
        assertEquals(1472, env.mtu());
        assertEquals(false, env.ipMasq());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "FLANNEL_SUBNET=198.19.3.1/24\\nFLANNEL_MTU=1450            | FLANNEL_NETWORK",
        "FLANNEL_NETWORK=198.19.0.0/16\\nFLANNEL_MTU=1450           | FLANNEL_SUBNET",
        "FLANNEL_NETWORK=198.19.0.0/16\\nFLANNEL_SUBNET=x\\nFLANNEL_MTU=1450 | FLANNEL_SUBNET",
        "FLANNEL_NETWORK=198.19.0.0/16\\nFLANNEL_SUBNET=198.19.3.1/24 | FLANNEL_MTU",
        "FLANNEL_NETWORK=198.19.0.0/16\\nFLANNEL_SUBNET=198.19.3.1/24\\nFLANNEL_MTU=big | FLANNEL_MTU",
        "FLANNEL_NETWORK=198.19.0.0/16\\nFLANNEL_SUBNET=198.19.3.1/24\\nFLANNEL_MTU=1450\\nFLANNEL_IPMASQ=yes | FLANNEL_IPMASQ",
        "this is not an env file | not a VAR=value line",
    })
    void malformedFilesNameTheVariable(String content, String named) throws Exception {
        Path file = dir.resolve("subnet.env");
        Files.writeString(file, content.replace("\\n", "\n"));
        SubnetFileException e = assertThrows(SubnetFileException.class, () -> SubnetFile.read(file));
        assertTrue(e.getMessage().contains(named), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void leaseRecordRoundTrips() throws Exception {
        Path record = LeaseRecordFile.beside(dir.resolve("subnet.env"));
        assertEquals(dir.resolve("subnet.env.lease"), record);
        assertEquals(Optional.empty(), LeaseRecordFile.read(record));
        PreviousLease lease = new PreviousLease(Ip4Net.parse("198.19.3.0/24"), 0x694d9a3c2b1f0011L);
        LeaseRecordFile.write(record, lease);
        assertEquals(Optional.of(lease), LeaseRecordFile.read(record));
        Files.writeString(record, "garbage");
        assertEquals(Optional.empty(), LeaseRecordFile.read(record));
    }

    @Test
    void leaseRecordRemembersBothSubnets() throws Exception {
        Path record = LeaseRecordFile.beside(dir.resolve("subnet.env"));
        PreviousLease dual = new PreviousLease(Ip4Net.parse("198.19.3.0/24"), 0x694d9a3c2b1f0011L,
                io.flanneld.schema.Ip6Net.parse("2001:2:19:3::/64"));
        LeaseRecordFile.write(record, dual);
        assertEquals("198.19.3.0/24 694d9a3c2b1f0011 2001:2:19:3::/64\n", Files.readString(record));
        assertEquals(Optional.of(dual), LeaseRecordFile.read(record));
        PreviousLease v6Only = new PreviousLease(null, 0x11L, io.flanneld.schema.Ip6Net.parse("2001:2:19:4::/64"));
        LeaseRecordFile.write(record, v6Only);
        assertEquals("- 11 2001:2:19:4::/64\n", Files.readString(record));
        assertEquals(Optional.of(v6Only), LeaseRecordFile.read(record));
        Files.writeString(record, "- 11");
        assertEquals(Optional.empty(), LeaseRecordFile.read(record), "no subnet at all");
        Files.writeString(record, "198.19.3.0/24 11 2001:2:19:4::1/64");
        assertEquals(Optional.empty(), LeaseRecordFile.read(record), "host bits");
    }
}
