package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.NetworkConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The daemon carries IPv4 only: what it makes of a config with IPv6, decided without etcd. */
class AddressFamiliesTest {
    private static final String KEY = "/coreos.com/network/config";

    @Test
    void anIpv4ConfigRunsAsItIsWithoutAWord() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}");
        List<String> warnings = new ArrayList<>();
        assertSame(c, AddressFamilies.carried(c, KEY, warnings::add));
        assertEquals(List.of(), warnings);
    }

    @Test
    void enableIpv6LeasesAndCarriesTheIpv4HalfWithOneWarning() throws Exception {
        NetworkConfig dual = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
                + "\"Backend\":{\"Type\":\"vxlan\"}}");
        List<String> warnings = new ArrayList<>();
        NetworkConfig run = AddressFamilies.carried(dual, KEY, warnings::add);
        assertEquals(List.of("EnableIPv6 is set: this node leases and carries IPv4 only"), warnings);
        assertFalse(run.enableIpv6(), "the lease session then claims a plain IPv4 key, as before");
        assertEquals(ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}"), run);
    }

    @Test
    void anIpv6OnlyConfigFailsTheStartNamingEnableIpv4() throws Exception {
        NetworkConfig v6 = ConfigCodec.parse("{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
                + "\"Backend\":{\"Type\":\"vxlan\"}}");
        List<String> warnings = new ArrayList<>();
        FlannelDaemon.FatalException e = assertThrows(FlannelDaemon.FatalException.class,
                () -> AddressFamilies.carried(v6, KEY, warnings::add));
        assertTrue(e.getMessage().contains("EnableIPv4") && e.getMessage().contains(KEY), e.getMessage());
        assertEquals(List.of(), warnings);
    }
}
