package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The IPv6 half of the config: flannel's pkg/subnet/config.go (ParseConfig, CheckNetworkConfig) field by field. */
class ConfigCodecIpv6Test {
    private static final String DUAL = "{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
            + "\"Backend\":{\"Type\":\"vxlan\"}}";

    @Test
    void dualStackGetsFlannelsDefaults() throws Exception {
        NetworkConfig c = ConfigCodec.parse(DUAL);
        assertTrue(c.enableIpv4());
        assertTrue(c.enableIpv6());
        assertEquals("198.19.0.0/16", c.network().toString(), "the IPv4 half is unchanged");
        assertEquals(24, c.subnetLen());
        Ipv6Config v6 = c.ipv6();
        assertEquals(Ip6Net.parse("2001:2:19::/48"), v6.network());
        assertEquals(64, v6.subnetLen(), "flannel's default IPv6SubnetLen");
        assertEquals(Ip6.parse("2001:2:19:1::"), v6.subnetMin(), "the first subnet is skipped");
        assertEquals(Ip6.parse("2001:2:19:ffff::"), v6.subnetMax());
        assertEquals(BigInteger.valueOf(65535), v6.subnetCount());
        assertEquals(Ip6Net.parse("2001:2:19:6::/64"), v6.subnetAt(BigInteger.valueOf(5)));
        assertTrue(v6.isLeasable(Ip6Net.parse("2001:2:19:1::/64")));
        assertFalse(v6.isLeasable(Ip6Net.parse("2001:2:19::/64")), "below IPv6SubnetMin");
        assertFalse(v6.isLeasable(Ip6Net.parse("2001:2:19:1::/65")));
        assertFalse(v6.isLeasable(Ip6Net.parse("2001:2:20:1::/64")));
        assertTrue(c.describeRange().contains("IPv6Network 2001:2:19::/48"), c.describeRange());
        assertEquals(c, ConfigCodec.parse(ConfigCodec.toJson(c)));
        assertEquals("{\"Network\":\"198.19.0.0/16\",\"SubnetLen\":24,\"SubnetMin\":\"198.19.1.0\",\"SubnetMax\":\"198.19.255.0\","
                + "\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetLen\":64,\"IPv6SubnetMin\":\"2001:2:19:1::\","
                + "\"IPv6SubnetMax\":\"2001:2:19:ffff::\",\"Backend\":{\"Type\":\"vxlan\"}}", ConfigCodec.toJson(c));
        assertEquals(c.withoutIpv6(), ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}"));
    }

    @ParameterizedTest
    @CsvSource({"2001:2::/32,64", "2001:2:19::/62,64", "2001:2:19::/63,65", "2001:2:19::/100,102", "2001:2:19::/124,126"})
    void defaultIpv6SubnetLenFollowsTheNetworkSize(String network, int expected) throws Exception {
        assertEquals(expected, ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"" + network
                + "\",\"Backend\":{\"Type\":\"vxlan\"}}").ipv6().subnetLen());
    }

    @Test
    void explicitRangeAndCaseInsensitiveNames() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"network\":\"198.19.0.0/16\",\"enableipv6\":true,\"ipv6network\":\"2001:2:19::7/48\","
                + "\"ipv6subnetlen\":56,\"IPv6SubnetMin\":\"2001:2:19:100::\",\"IPv6SubnetMax\":\"2001:2:19:800::\",\"Backend\":{\"Type\":\"vxlan\"}}");
        Ipv6Config v6 = c.ipv6();
        assertEquals(Ip6Net.parse("2001:2:19::/48"), v6.network(), "host bits masked, as net.ParseCIDR does");
        assertEquals(56, v6.subnetLen());
        assertEquals(BigInteger.valueOf(8), v6.subnetCount());
        assertEquals(c, ConfigCodec.parse(ConfigCodec.toJson(c)));
        NetworkConfig zeroMin = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
                + "\"IPv6SubnetMin\":\"::\",\"Backend\":{\"Type\":\"vxlan\"}}");
        assertEquals(Ip6.parse("2001:2:19:1::"), zeroMin.ipv6().subnetMin(), ":: is flannel's empty address: the default");
    }

    @Test
    void ipv6OnlyNeedsNoNetworkAndLeasesNoIpv4() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\","
                + "\"Backend\":{\"Type\":\"vxlan\"}}");
        assertFalse(c.enableIpv4());
        assertNull(c.network());
        assertEquals(0, c.subnetCount());
        assertFalse(c.isLeasable(Ip4Net.parse("198.19.1.0/24")));
        assertEquals(64, c.ipv6().subnetLen());
        assertTrue(c.describeRange().startsWith("EnableIPv4 false; IPv6Network 2001:2:19::/48"), c.describeRange());
        assertEquals("{\"EnableIPv4\":false,\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetLen\":64,"
                + "\"IPv6SubnetMin\":\"2001:2:19:1::\",\"IPv6SubnetMax\":\"2001:2:19:ffff::\",\"Backend\":{\"Type\":\"vxlan\"}}",
                ConfigCodec.toJson(c));
        assertEquals(c, ConfigCodec.parse(ConfigCodec.toJson(c)));
        assertThrows(IllegalStateException.class, c::withoutIpv6);
        // A Network left in an IPv6-only config is ignored, as flannel's CheckNetworkConfig ignores it.
        assertEquals(c, ConfigCodec.parse("{\"EnableIPv4\":false,\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,"
                + "\"IPv6Network\":\"2001:2:19::/48\",\"Backend\":{\"Type\":\"vxlan\"}}"));
    }

    @Test
    void ipv6FieldsAreIgnoredUnlessEnableIpv6() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"IPv6Network\":\"not checked\",\"IPv6SubnetLen\":200}");
        assertFalse(c.enableIpv6());
        assertNull(c.ipv6());
        assertEquals(ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}"), c);
        assertTrue(ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"EnableIPv4\":null}").enableIpv4(), "null keeps the default");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv4\":false}                                   | EnableIPv4    | at least one",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv4\":false,\"EnableIPv6\":false}              | EnableIPv4    | at least one",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv4\":1}                                       | EnableIPv4    | true or false",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":\"yes\"}                                 | EnableIPv6    | true or false",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"Backend\":{\"Type\":\"vxlan\"}}   | IPv6Network   | missing",
        "{\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"Backend\":{\"Type\":\"vxlan\"}} | Network    | missing",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"\"}               | IPv6Network   | missing",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":48}                 | IPv6Network   | must be a string",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"198.19.0.0/16\"}  | IPv6Network   | 198.19.0.0/16",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::\"}    | IPv6Network   | 2001:2:19::",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/129\"} | IPv6Network  | 129",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"::/0\"}           | IPv6Network   | empty network",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/125\"} | IPv6Network  | /124",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetLen\":127} | IPv6SubnetLen | 127",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetLen\":49}  | IPv6SubnetLen | 49",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetLen\":-1}  | IPv6SubnetLen | positive",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetLen\":\"64\"} | IPv6SubnetLen | whole number",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetMin\":\"2001:3::\"} | IPv6SubnetMin | 2001:3::",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetMax\":\"2001:1::\"} | IPv6SubnetMax | 2001:1::",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetMin\":\"2001:2:19:1::1\"} | IPv6SubnetMin | boundary",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetMax\":\"2001:2:19:9:8000::\"} | IPv6SubnetMax | boundary",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetMin\":\"2001:2:19:9::\",\"IPv6SubnetMax\":\"2001:2:19:3::\"} | IPv6SubnetMin | above",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetMin\":\"bogus\"} | IPv6SubnetMin | bogus",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"IPv6SubnetMax\":7} | IPv6SubnetMax | IPv6 address string",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"Backend\":{\"Type\":\"udp\"}} | EnableIPv6 | udp backend",
        "{\"Network\":\"10.244.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\"}  | EnableIPv6    | udp backend",
    })
    void rejectsInvalidIpv6ConfigNamingTheFieldAndValue(String json, String field, String mentioned) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigCodec.parse(json));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(mentioned), "message \"" + e.getMessage() + "\" should mention " + mentioned);
        assertTrue(e.getMessage().startsWith(field + ":"), e.getMessage());
    }
}
