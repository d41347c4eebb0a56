package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Lease keys and values exactly as flannel's own nodes write them, for a cluster where flannel nodes and these share
 * one etcd. The JSON follows flannel's {@code lease.LeaseAttrs} as Go's encoder writes it: fields in declaration order
 * ({@code PublicIP}, {@code PublicIPv6} without omitempty, so {@code null} when unset, then {@code BackendType},
 * {@code BackendData}, {@code BackendV6Data} with omitempty); the vxlan data is {@code {"VNI":…,"VtepMAC":…}}. Key
 * names follow {@code subnet.MakeSubnetKey}: {@code <v4>-<len>}, with {@code &<v6>-<len>} appended when the node has
 * an IPv6 subnet, and the empty IPv4 network {@code 0.0.0.0-0} for an IPv6-only node.
 */
class FlannelFormsTest {
    /** flannel's udp backend, every release: no BackendType, no BackendData. */
    static final String UDP = "{\"PublicIP\":\"198.18.0.1\",\"PublicIPv6\":null}";
    /** flannel's vxlan backend, IPv4 only. */
    static final String VXLAN = "{\"PublicIP\":\"198.18.0.2\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\","
            + "\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:10\"}}";
    /** flannel's vxlan backend, dual-stack: a second device's data in BackendV6Data. */
    static final String VXLAN_DUAL = "{\"PublicIP\":\"198.18.0.3\",\"PublicIPv6\":\"2001:2::3\",\"BackendType\":\"vxlan\","
            + "\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:11\"},\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:12\"}}";
    /** flannel's vxlan backend, IPv6 only: the IPv4 address is the zero value. */
    static final String VXLAN_V6_ONLY = "{\"PublicIP\":\"0.0.0.0\",\"PublicIPv6\":\"2001:2::4\",\"BackendType\":\"vxlan\","
            + "\"BackendV6Data\":{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:13\"}}";
    /** flannel's host-gw backend. */
    static final String HOST_GW = "{\"PublicIP\":\"198.18.0.5\",\"PublicIPv6\":null,\"BackendType\":\"host-gw\"}";

    @Test
    void aUdpLeaseWithoutBackendTypeIsAUdpLease() throws Exception {
        LeaseAttrs a = LeaseCodec.parse(UDP);
        assertEquals("198.18.0.1", a.publicIpText());
        assertEquals("", a.backendType(), "what etcd holds");
        assertEquals(BackendConfig.UDP, a.backend(), "what flannel's udp backend means by it");
        assertNull(a.backendData());
        assertEquals("vxlan", LeaseCodec.parse(VXLAN).backend());
        assertEquals("host-gw", LeaseCodec.parse(HOST_GW).backend());
        assertNull(LeaseCodec.parse(HOST_GW).backendData(), "flannel's host-gw lease carries no BackendData");
    }

    @Test
    void readsEveryFlannelValueForm() throws Exception {
        LeaseAttrs v4 = LeaseCodec.parse(VXLAN);
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:10\"}", v4.backendData());
        LeaseAttrs dual = LeaseCodec.parse(VXLAN_DUAL);
        assertEquals("198.18.0.3", dual.publicIpText());
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"6e:2a:5c:01:9b:11\"}", dual.backendData(), "the IPv4 device's data, not the v6 one's");
        LeaseAttrs v6 = LeaseCodec.parse(VXLAN_V6_ONLY);
        assertEquals("0.0.0.0", v6.publicIpText());
        assertNull(v6.backendData());
    }

    @Test
    void readsEveryFlannelKeyForm() {
        EtcdKeys keys = EtcdKeys.defaults();
        String p = keys.subnetsPrefix();

        SubnetKey plain = keys.parseLeaseKey(p + "198.19.1.0-24").orElseThrow();
        assertEquals(new SubnetKey("198.19.1.0-24", Ip4Net.parse("198.19.1.0/24"), null), plain);
        assertEquals(plain, SubnetKey.of(Ip4Net.parse("198.19.1.0/24")));

        SubnetKey dual = keys.parseLeaseKey(p + "198.19.1.0-24&2001:2:19:1::-64").orElseThrow();
        assertEquals(Ip4Net.parse("198.19.1.0/24"), dual.ipv4());
        assertEquals(Ip6Net.parse("2001:2:19:1::/64"), dual.ipv6());
        assertEquals("198.19.1.0-24&2001:2:19:1::-64", dual.name(), "kept as written, for every later write");
        assertEquals(Optional.of(Ip4Net.parse("198.19.1.0/24")), keys.parseSubnetKey(p + "198.19.1.0-24&2001:2:19:1::-64"));

        SubnetKey v6Only = keys.parseLeaseKey(p + "0.0.0.0-0&2001:2:19:4::-64").orElseThrow();
        assertNull(v6Only.ipv4(), "an IPv6-only node holds no IPv4 subnet, certainly not 0.0.0.0/0");
        assertEquals(Ip6Net.parse("2001:2:19:4::/64"), v6Only.ipv6());
        assertEquals(Optional.empty(), keys.parseSubnetKey(p + "0.0.0.0-0&2001:2:19:4::-64"));

        assertTrue(keys.parseLeaseKey(p + "198.19.200.0-24&2001:2:19:c8::-64").isPresent());
        assertTrue(keys.parseLeaseKey(p + "198.19.1.0-24&2001:2:19:0:8000::-65").isPresent());
        assertNull(plain.ipv6());
        assertTrue(dual.ipv6() != null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"198.19.1.0-24&", "198.19.1.0-24&2001:2:19:1::", "198.19.1.0-24&2001:2:19:1::-129",
        "198.19.1.0-24&2001:2:19:1::-", "198.19.1.0-24&-64", "198.19.1.0-24&localhost-64", "198.19.1.0-24&2001:2:19:1::-64&x",
        "198.19.1.0-24&2001:2:19:1::/64", "198.19.1.0-24&2001:2:19:1::-0064", "198.19.1.0-24&abcd-64", "198.19.1.0-24&1.2.3.4-24",
        "198.19.1.1-24&2001:2:19:1::-64", "198.019.1.0-24&2001:2:19:1::-64", "198.19.1.0-0&2001:2:19:1::-64", "0.0.0.0-0",
        "&2001:2:19:1::-64", "198.19.1.0-24&2001:2:19:1::-64 ", "198.19.1.0-24&2001:2:19:1:::-64", "198.19.1.0-24&2001:2:19:G::-64"})
    void malformedFlannelStyleKeysAreNotLeaseKeys(String name) {
        assertEquals(Optional.empty(), SubnetKey.parse(name), name);
    }
}
