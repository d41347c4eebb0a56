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

/** What the daemon makes of a config's address families, given whether its backend carries IPv6; without etcd. */
class AddressFamiliesTest {
    private static final String KEY = "/coreos.com/network/config";
    private static final String DUAL = "{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"vxlan\"}}";
    private static final String V6_ONLY = "{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"vxlan\"}}";

    @Test
    void anIpv4ConfigRunsAsItIsWithoutAWord() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}");
        List<String> warnings = new ArrayList<>();
        assertSame(c, AddressFamilies.carried(c, KEY, "vxlan", false, warnings::add));
        assertSame(c, AddressFamilies.carried(c, KEY, "vxlan", true, warnings::add));
        assertEquals(List.of(), warnings);
    }

    @Test
    void dualStackRunsWholeWithABackendThatCarriesIpv6() throws Exception {
        NetworkConfig dual = ConfigCodec.parse(DUAL);
        List<String> warnings = new ArrayList<>();
        NetworkConfig run = AddressFamilies.carried(dual, KEY, "vxlan", true, warnings::add);
        assertSame(dual, run);
        assertTrue(run.enableIpv4() && run.enableIpv6());
        assertEquals(List.of(), warnings);
    }

    @Test
    void ipv6OnlyRunsWithABackendThatCarriesIpv6() throws Exception {
        NetworkConfig v6 = ConfigCodec.parse(V6_ONLY);
        List<String> warnings = new ArrayList<>();
        assertSame(v6, AddressFamilies.carried(v6, KEY, "host-gw", true, warnings::add));
        assertEquals(List.of(), warnings);
    }

    @Test
    void enableIpv6WithABackendCarryingIpv4OnlyLeasesTheIpv4HalfWithOneWarning() throws Exception {
        List<String> warnings = new ArrayList<>();
        NetworkConfig run = AddressFamilies.carried(ConfigCodec.parse(DUAL), KEY, "vxlan", false, warnings::add);
        assertEquals(List.of("EnableIPv6 is set: this node leases and carries IPv4 only (EnableIPv6 in " + KEY
                + ", but backend vxlan carries IPv4 only)"), warnings);
        assertFalse(run.enableIpv6(), "the lease session then claims a plain IPv4 key");
        assertEquals(ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}"), run);
    }

    @Test
    void ipv6OnlyWithABackendCarryingIpv4OnlyFailsTheStartNamingTheFieldAndTheBackend() throws Exception {
        List<String> warnings = new ArrayList<>();
        FlannelDaemon.FatalException e = assertThrows(FlannelDaemon.FatalException.class,
                () -> AddressFamilies.carried(ConfigCodec.parse(V6_ONLY), KEY, "vxlan", false, warnings::add));
        assertTrue(e.getMessage().contains("EnableIPv4 is false") && e.getMessage().contains(KEY)
                && e.getMessage().contains("backend vxlan carries IPv4 only"), e.getMessage());
        assertEquals(List.of(), warnings);
    }
}
