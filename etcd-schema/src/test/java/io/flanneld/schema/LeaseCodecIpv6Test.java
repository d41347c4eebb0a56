package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * PublicIPv6 and BackendV6Data, read and written byte for byte as flannel's encoding/json writes lease.LeaseAttrs
 * (pkg/lease/lease.go: PublicIP, PublicIPv6 *ip.IP6 without omitempty, BackendType, BackendData, BackendV6Data with
 * omitempty) with the values flannel's vxlan backend puts there (pkg/backend/vxlan/vxlan.go, newSubnetAttrs: the IPv4
 * device's {VNI, VtepMAC} in BackendData, the flannel-v6 device's in BackendV6Data; PublicIP left 0.0.0.0 without IPv4).
 */
class LeaseCodecIpv6Test {
    static final String DUAL = "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"2001:2::3\",\"BackendType\":\"vxlan\","
            + "\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:11\"},\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:12\"}}";
    static final String V6_ONLY = "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::4\",\"BackendType\":\"vxlan\","
            + "\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:13\"}}";

    @Test
    void aDualStackVxlanValueIsReadAndWrittenByteForByte() throws Exception {
        LeaseAttrs a = LeaseCodec.parse(DUAL);
        assertEquals("198.18.0.3", a.publicIpText());
        assertEquals(Ip6.parse("2001:2::3"), a.publicIpv6());
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:11\"}", a.backendData());
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:12\"}", a.backendV6Data());
        assertEquals(DUAL, LeaseCodec.toJson(a));
        LeaseAttrs built = new LeaseAttrs(Ip4.parse("198.18.0.3"), "vxlan", "{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:11\"}")
                .withIpv6(Ip6.parse("2001:2::3"), "{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:12\"}");
        assertEquals(DUAL, LeaseCodec.toJson(built));
        assertEquals(a, built);
    }

    @Test
    void anIpv6OnlyVxlanValueIsReadAndWrittenByteForByte() throws Exception {
        LeaseAttrs a = LeaseCodec.parse(V6_ONLY);
        assertEquals(0, a.publicIp(), "flannel's zero IP4");
        assertNull(a.backendData());
        assertEquals(Ip6.parse("2001:2::4"), a.publicIpv6());
        assertEquals(V6_ONLY, LeaseCodec.toJson(a));
        assertEquals(V6_ONLY, LeaseCodec.toJson(new LeaseAttrs(0, "vxlan", null)
                .withIpv6(Ip6.parse("2001:2::4"), "{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:13\"}")));
    }

    @Test
    void flannelsNullPublicIpv6IsNoAddress() throws Exception {
        LeaseAttrs a = LeaseCodec.parse(FlannelFormsTest.VXLAN);
        assertNull(a.publicIpv6());
        assertNull(a.backendV6Data());
        assertEquals(a, LeaseCodec.parse("{\"PublicIP\":\"198.18.0.2\",\"BackendType\":\"vxlan\","
                + "\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:10\"}}"), "with or without PublicIPv6:null, one value");
        // IPv6 data without an address (no flannel writes it): written as Go would, PublicIPv6 null.
        assertEquals("{\"PublicIP\":\"198.18.0.2\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\",\"BackendV6Data\":{\"VNI\":1}}",
                LeaseCodec.toJson(new LeaseAttrs(Ip4.parse("198.18.0.2"), "vxlan", null).withIpv6(null, "{\"VNI\":1}")));
        assertEquals("{\"PublicIP\":\"198.18.0.2\",\"PublicIPv6\":\"2001:2::2\"}",
                LeaseCodec.toJson(new LeaseAttrs(Ip4.parse("198.18.0.2"), "", null).withIpv6(Ip6.parse("2001:2::2"), null)),
                "udp-style: no BackendType");
    }

    @Test
    void anOddSpellingIsReadAndWrittenAsGoSpellsIt() throws Exception {
        LeaseAttrs a = LeaseCodec.parse("{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"2001:0002:0:0::0003\",\"BackendType\":\"vxlan\"}");
        assertEquals("{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"2001:2::3\",\"BackendType\":\"vxlan\"}", LeaseCodec.toJson(a));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":5}                   | PublicIPv6: must be a string",
        "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"\"}                | PublicIPv6: not an IPv6 address",
        "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"198.18.0.3\"}      | PublicIPv6: not an IPv6 address",
        "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"2001::g\"}         | PublicIPv6: not an IPv6 address",
        "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"2001:2::3/64\"}    | PublicIPv6: not an IPv6 address",
        "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":[\"2001:2::3\"]}     | PublicIPv6: must be a string",
        "{\"PublicIP\":\"198.18.0.3\",\"BackendV6Data\":\"x\"}            | BackendV6Data: must be a JSON object",
        "{\"PublicIP\":\"198.18.0.3\",\"BackendV6Data\":[1]}              | BackendV6Data: must be a JSON object",
    })
    void malformedIpv6FieldsAreNamed(String json, String start) {
        MalformedLeaseException e = assertThrows(MalformedLeaseException.class, () -> LeaseCodec.parse(json));
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
    }

    @Test
    void leasesHoldEitherFamilyOrBoth() {
        LeaseAttrs attrs = new LeaseAttrs(0, "vxlan", null).withIpv6(Ip6.parse("2001:2::4"), null);
        Lease v6 = Lease.of(SubnetKey.of(null, Ip6Net.parse("2001:2:19:4::/64")), attrs, 7, 9);
        assertNull(v6.subnet(), "no IPv4 subnet");
        assertEquals("0.0.0.0-0&2001:2:19:4::-64", v6.keyName());
        assertEquals("2001:2:19:4::/64", v6.describe());
        Lease dual = Lease.of(SubnetKey.of(Ip4Net.parse("198.19.4.0/24"), Ip6Net.parse("2001:2:19:4::/64")), attrs, 7, 9);
        assertEquals(Ip4Net.parse("198.19.4.0/24"), dual.subnet());
        assertEquals("198.19.4.0/24 + 2001:2:19:4::/64", dual.describe());
        assertEquals(dual.key(), SubnetKey.parse(dual.keyName()).orElseThrow());
        assertEquals(new Lease(Ip4Net.parse("198.19.4.0/24"), attrs, 7, 9), Lease.of(SubnetKey.of(Ip4Net.parse("198.19.4.0/24")), attrs, 7, 9));
        assertThrows(NullPointerException.class, () -> new Lease(null, attrs, 7, 9, "x", null));
        assertThrows(NullPointerException.class, () -> new Lease(null, attrs, 7, 9, "x"));
    }
}
