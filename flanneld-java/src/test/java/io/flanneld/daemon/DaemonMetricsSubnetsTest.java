package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import org.junit.jupiter.api.Test;

/** /metrics names the subnets this host holds, one series per address family. */
class DaemonMetricsSubnetsTest {
    @Test
    void dualStackShowsBothFamilies() {
        Lease lease = new Lease(Ip4Net.parse("198.19.7.0/24"), new LeaseAttrs(Ip4.parse("198.18.0.7"), "vxlan", null)
                .withIpv6(Ip6.parse("2001:2::7"), null), 1, 1, "198.19.7.0-24&2001:2:19:7::-64", Ip6Net.parse("2001:2:19:7::/64"));
        try (DaemonMetrics metrics = new DaemonMetrics()) {
            metrics.subnets(lease);
            String page = metrics.scrape();
            assertTrue(page.contains("flannel_lease_subnet{family=\"ipv4\",subnet=\"198.19.7.0/24\"} 1.0"), page);
            assertTrue(page.contains("flannel_lease_subnet{family=\"ipv6\",subnet=\"2001:2:19:7::/64\"} 1.0"), page);
        }
    }

    @Test
    void ipv6OnlyShowsItsIpv6SubnetAlone() {
        Lease lease = new Lease(null, new LeaseAttrs(0, "vxlan", null).withIpv6(Ip6.parse("2001:2::7"), null), 1, 1,
                "0.0.0.0-0&2001:2:19:7::-64", Ip6Net.parse("2001:2:19:7::/64"));
        try (DaemonMetrics metrics = new DaemonMetrics()) {
            metrics.subnets(lease);
            String page = metrics.scrape();
            assertTrue(page.contains("flannel_lease_subnet{family=\"ipv6\",subnet=\"2001:2:19:7::/64\"} 1.0"), page);
            assertFalse(page.contains("family=\"ipv4\""), page);
        }
    }
}
