package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigCodecTest {

    @Test
    void appliesFlannelDefaultsForASlash16() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"Network\":\"10.244.0.0/16\"}");
        assertEquals("10.244.0.0/16", c.network().toString());
        assertEquals(24, c.subnetLen());
        assertEquals("10.244.1.0", Ip4.format(c.subnetMin()), "the first subnet is skipped");
        assertEquals("10.244.255.0", Ip4.format(c.subnetMax()));
        assertEquals(255, c.subnetCount());
        assertEquals("udp", c.backend().type(), "udp is flannel's default backend");
    }

    @ParameterizedTest
    @CsvSource({"198.19.0.0/22,24", "198.19.0.0/23,25", "198.19.0.0/26,28", "198.19.0.0/28,30"})
    void defaultSubnetLenFollowsTheNetworkSize(String network, int expected) throws Exception {
        assertEquals(expected, ConfigCodec.parse("{\"Network\":\"" + network + "\"}").subnetLen());
    }

    @Test
    void readsEveryFieldCaseInsensitivelyAndIgnoresUnknownOnes() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"network\":\"198.19.0.0/16\",\"subnetlen\":26,\"SubnetMin\":\"198.19.4.0\","
                + "\"SubnetMax\":\"198.19.8.0\",\"EnableIPv6\":false,"
                + "\"Backend\":{\"type\":\"VXLAN\",\"Port\":4789,\"VNI\":42,\"DirectRouting\":true}}");
        assertEquals(26, c.subnetLen());
        assertEquals("198.19.4.0", Ip4.format(c.subnetMin()));
        assertEquals("198.19.8.0", Ip4.format(c.subnetMax()));
        assertEquals(new BackendConfig("vxlan", 4789, 42, true), c.backend());
        assertEquals(17, c.subnetCount());
    }

    @Test
    void enableNFTablesIsOffUnlessSetAndMatchesCaseInsensitively() throws Exception {
        assertFalse(ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}").enableNFTables(), "flannel's default");
        assertFalse(ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"EnableNFTables\":null}").enableNFTables());
        assertFalse(ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"EnableNFTables\":false}").enableNFTables());
        assertTrue(ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"EnableNFTables\":true}").enableNFTables());
        assertTrue(ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"enableNftables\":true}").enableNFTables());
    }

    @Test
    void enableNFTablesIsWrittenOnlyWhenTrue() throws Exception {
        NetworkConfig off = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"EnableNFTables\":false}");
        assertEquals("{\"Network\":\"198.19.0.0/16\",\"SubnetLen\":24,\"SubnetMin\":\"198.19.1.0\","
                + "\"SubnetMax\":\"198.19.255.0\",\"Backend\":{\"Type\":\"udp\"}}", ConfigCodec.toJson(off));
        NetworkConfig on = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"},\"EnableNFTables\":true}");
        assertEquals("{\"Network\":\"198.19.0.0/16\",\"SubnetLen\":24,\"SubnetMin\":\"198.19.1.0\","
                + "\"SubnetMax\":\"198.19.255.0\",\"Backend\":{\"Type\":\"vxlan\"},\"EnableNFTables\":true}",
                ConfigCodec.toJson(on));
        assertEquals(on, ConfigCodec.parse(ConfigCodec.toJson(on)));
    }

    @Test
    void theFiveArgumentConstructorMeansIptables() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\"}");
        assertEquals(c, new NetworkConfig(c.network(), c.subnetLen(), c.subnetMin(), c.subnetMax(), c.backend()));
    }

    @Test
    void acceptsFlannelsHostGwBackend() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"host-gw\"}}");
        assertEquals(BackendConfig.ofType(BackendConfig.HOST_GW), c.backend());
        assertEquals(c, ConfigCodec.parse(ConfigCodec.toJson(c)));
        assertEquals("host-gw", ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"Host-GW\"}}")
                .backend().type(), "types match case-insensitively, as the others do");
    }

    @Test
    void masksHostBitsOfTheNetworkAsFlannelDoes() throws Exception {
        assertEquals("10.244.0.0/16", ConfigCodec.parse("{\"Network\":\"10.244.3.7/16\"}").network().toString());
    }

    @Test
    void roundTripsThroughJson() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\",\"VNI\":3}}");
        assertEquals(c, ConfigCodec.parse(ConfigCodec.toJson(c)));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "not json                                                          | ''                    | not valid JSON",
        "[1,2]                                                             | ''                    | JSON object",
        "{}                                                                | Network               | missing",
        "{\"Network\":\"\"}                                                | Network               | missing",
        "{\"Network\":16}                                                  | Network               | must be a string",
        "{\"Network\":\"10.244.0.0\"}                                      | Network               | 10.244.0.0",
        "{\"Network\":\"10.300.0.0/16\"}                                   | Network               | 300",
        "{\"Network\":\"10.244.0.0/29\"}                                   | Network               | /28",
        "{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":31}                  | SubnetLen             | 31",
        "{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":17}                  | SubnetLen             | 17",
        "{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":\"24\"}              | SubnetLen             | whole number",
        "{\"Network\":\"10.244.0.0/16\",\"SubnetMin\":\"10.245.0.0\"}      | SubnetMin             | 10.245.0.0",
        "{\"Network\":\"10.244.0.0/16\",\"SubnetMax\":\"10.243.0.0\"}      | SubnetMax             | 10.243.0.0",
        "{\"Network\":\"10.244.0.0/16\",\"SubnetMin\":\"10.244.1.7\"}      | SubnetMin             | boundary",
        "{\"Network\":\"10.244.0.0/16\",\"SubnetMax\":\"10.244.9.128\"}    | SubnetMax             | boundary",
        "{\"Network\":\"10.244.0.0/16\",\"SubnetMin\":\"10.244.9.0\",\"SubnetMax\":\"10.244.3.0\"} | SubnetMin | above",
        "{\"Network\":\"10.244.0.0/16\",\"SubnetMin\":\"bogus\"}           | SubnetMin             | bogus",
        "{\"Network\":\"10.244.0.0/16\",\"Backend\":\"vxlan\"}             | Backend               | JSON object",
        "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"gre\"}}    | Backend.Type          | gre",
        "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":7}}          | Backend.Type          | string",
        "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Port\":70000}}      | Backend.Port          | 70000",
        "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"VNI\":16777216}}    | Backend.VNI           | 16777216",
        "{\"Network\":\"10.244.0.0/16\",\"Backend\":{\"DirectRouting\":1}} | Backend.DirectRouting | true or false",
        "{\"Network\":\"10.244.0.0/16\",\"EnableNFTables\":\"true\"}     | EnableNFTables        | \"true\"",
        "{\"Network\":\"10.244.0.0/16\",\"EnableNFTables\":1}          | EnableNFTables        | got 1",
        "{\"Network\":\"10.244.0.0/16\",\"enablenftables\":\"yes\"}      | EnableNFTables        | must be true or false, got \"yes\"",
    })
    void rejectsInvalidConfigNamingTheFieldAndValue(String json, String field, String mentioned) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigCodec.parse(json));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().contains(mentioned), "message \"" + e.getMessage() + "\" should mention " + mentioned);
        if (!field.isEmpty()) {
            assertTrue(e.getMessage().startsWith(field + ":"), e.getMessage());
        }
    }

    @Test
    void leasabilityFollowsTheRange() throws Exception {
        NetworkConfig c = ConfigCodec.parse("{\"Network\":\"198.19.0.0/16\",\"SubnetMin\":\"198.19.10.0\",\"SubnetMax\":\"198.19.20.0\"}");
        assertTrue(c.isLeasable(Ip4Net.parse("198.19.10.0/24")));
        assertTrue(c.isLeasable(Ip4Net.parse("198.19.20.0/24")));
        assertFalse(c.isLeasable(Ip4Net.parse("198.19.9.0/24")));
        assertFalse(c.isLeasable(Ip4Net.parse("198.19.21.0/24")));
        assertFalse(c.isLeasable(Ip4Net.parse("198.19.12.0/25")));
        assertFalse(c.isLeasable(Ip4Net.parse("198.20.12.0/24")));
        assertEquals(11, c.subnetCount());
        assertEquals(Ip4Net.parse("198.19.15.0/24"), c.subnetAt(5));
        assertEquals(5, c.indexOf(Ip4Net.parse("198.19.15.0/24")));
        assertEquals(-1, c.indexOf(Ip4Net.parse("198.19.25.0/24")));
    }
}
