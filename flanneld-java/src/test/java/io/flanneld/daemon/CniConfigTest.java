package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6Net;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The conflist against fixtures: the IPv4 form, and with IPv6 one host-local range set per family and a route to
 * each Network, as flannel's CNI plugin (flannel-io/cni-plugin, flannel_linux.go getDelegateIPAM) builds its
 * delegate's IPAM from FLANNEL_SUBNET/FLANNEL_IPV6_SUBNET and FLANNEL_NETWORK/FLANNEL_IPV6_NETWORK.
 */
class CniConfigTest {
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final Ip4Net SUBNET = Ip4Net.parse("198.19.7.0/24");
    private static final Ip6Net NETWORK6 = Ip6Net.parse("2001:2:19::/48");

    @Test
    void ipv4() throws IOException {
        assertEquals(fixture("ipv4.conflist"), CniConfig.render(NETWORK, SUBNET, 1450, false));
    }

    @Test
    void dualStackHasARangeSetAndARoutePerFamily() throws IOException {
        assertEquals(fixture("dual-stack.conflist"),
                CniConfig.render(NETWORK, SUBNET, NETWORK6, Ip6Net.parse("2001:2:19:7::/64"), 1450, false));
    }

    @Test
    void ipv6OnlyHasTheIpv6RangeAlone() throws IOException {
        assertEquals(fixture("ipv6-only.conflist"),
                CniConfig.render(null, null, NETWORK6, Ip6Net.parse("2001:2:19:ab00::/56"), 1430, true));
    }

    private static String fixture(String name) throws IOException {
        try (InputStream in = CniConfigTest.class.getResourceAsStream("/cni/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
