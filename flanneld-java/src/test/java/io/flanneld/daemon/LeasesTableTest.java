package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** {@code leases}: an IPv4 cluster's table keeps its columns; with IPv6 leases, the IPv6 subnet and PublicIPv6 too. */
class LeasesTableTest {
    private static final Lease V4 = new Lease(Ip4Net.parse("198.19.1.0/24"), new LeaseAttrs(Ip4.parse("198.18.0.1"), "vxlan",
            "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:01\"}"), 0x10, 1);
    private static final Lease DUAL = new Lease(Ip4Net.parse("198.19.2.0/24"), new LeaseAttrs(Ip4.parse("198.18.0.2"), "vxlan",
            "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:00:02\"}").withIpv6(Ip6.parse("2001:2::2"), "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:06:02\"}"),
            0x20, 1, "198.19.2.0-24&2001:2:19:2::-64", Ip6Net.parse("2001:2:19:2::/64"));
    private static final Lease V6ONLY = new Lease(null, new LeaseAttrs(0, "vxlan", null).withIpv6(Ip6.parse("2001:2::3"),
            "{\"VNI\":1,\"VtepMAC\":\"02:00:00:00:06:03\"}"), 0x30, 1, "0.0.0.0-0&2001:2:19:3::-64", Ip6Net.parse("2001:2:19:3::/64"));

    private static LeasesCommand.Row row(Lease lease) {
        return new LeasesCommand.Row(lease, LeasesCommand.vtepMac(lease.attrs().backendData()), Optional.of(3600L));
    }

    @Test
    void anIpv4ClusterKeepsItsColumns() {
        assertEquals("""
                SUBNET              PUBLIC IP        BACKEND  VTEP MAC           EXPIRES IN    RESERVATION
                198.19.1.0/24       198.18.0.1       vxlan    02:00:00:00:00:01  1h0m          no
                """, LeasesCommand.table(List.of(row(V4))));
    }

    @Test
    void withIpv6LeasesBothFamiliesShow() {
        assertEquals("""
                SUBNET              PUBLIC IP        IPV6 SUBNET               PUBLIC IPV6               BACKEND  VTEP MAC           EXPIRES IN    RESERVATION
                198.19.1.0/24       198.18.0.1       -                         -                         vxlan    02:00:00:00:00:01  1h0m          no
                198.19.2.0/24       198.18.0.2       2001:2:19:2::/64          2001:2::2                 vxlan    02:00:00:00:00:02  1h0m          no
                -                   0.0.0.0          2001:2:19:3::/64          2001:2::3                 vxlan    -                  1h0m          no
                """, LeasesCommand.table(List.of(row(V4), row(DUAL), row(V6ONLY))));
        assertEquals("""
                [ {
                  "Subnet" : "198.19.2.0/24",
                  "PublicIP" : "198.18.0.2",
                  "IPv6Subnet" : "2001:2:19:2::/64",
                  "PublicIPv6" : "2001:2::2",
                  "BackendType" : "vxlan",
                  "VtepMAC" : "02:00:00:00:00:02",
                  "Reservation" : false,
                  "ExpiresInSeconds" : 3600,
                  "EtcdLease" : "20"
                }, {
                  "PublicIP" : "0.0.0.0",
                  "IPv6Subnet" : "2001:2:19:3::/64",
                  "PublicIPv6" : "2001:2::3",
                  "BackendType" : "vxlan",
                  "Reservation" : false,
                  "ExpiresInSeconds" : 3600,
                  "EtcdLease" : "30"
                } ]
                """, LeasesCommand.toJson(List.of(row(DUAL), row(V6ONLY))));
    }
}
