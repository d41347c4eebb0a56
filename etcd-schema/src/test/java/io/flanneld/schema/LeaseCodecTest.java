package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class LeaseCodecTest {

    @Test
    void writesExactlyWhatFlannelWrites() {
        LeaseAttrs attrs = new LeaseAttrs(Ip4.parse("192.0.2.10"), "vxlan", "{\"VNI\":1,\"VtepMAC\":\"8e:1f:aa:bb:cc:dd\"}");
        assertEquals("{\"PublicIP\":\"192.0.2.10\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"8e:1f:aa:bb:cc:dd\"}}",
                LeaseCodec.toJson(attrs));
        assertEquals("{\"PublicIP\":\"198.18.0.1\",\"BackendType\":\"alloc\"}",
                LeaseCodec.toJson(new LeaseAttrs(Ip4.parse("198.18.0.1"), "alloc", null)));
        assertEquals("{\"PublicIP\":\"198.18.0.1\",\"BackendType\":\"host-gw\"}",
                LeaseCodec.toJson(new LeaseAttrs(Ip4.parse("198.18.0.1"), BackendConfig.HOST_GW, null)), "flannel's host-gw value");
    }

    @Test
    void knownBackendNamesShareOneString() throws Exception {
        // A node holds one lease per peer: one string per backend name, not one per lease.
        for (String type : new String[] {BackendConfig.UDP, BackendConfig.VXLAN, BackendConfig.HOST_GW, BackendConfig.ALLOC}) {
            String read = LeaseCodec.parse("{\"PublicIP\":\"198.18.0.1\",\"BackendType\":\"" + type + "\"}").backendType();
            assertSame(type, read, type);
        }
    }

    @Test
    void readsAFlannelLeaseValue() throws Exception {
        LeaseAttrs a = LeaseCodec.parse("{\"PublicIP\":\"198.18.0.7\",\"PublicIPv6\":null,\"BackendType\":\"vxlan\","
                + "\"BackendData\":{\"VtepMAC\":\"02:00:00:00:00:01\", \"VNI\":1}}");
        assertEquals("198.18.0.7", a.publicIpText());
        assertEquals("vxlan", a.backendType());
        assertEquals("{\"VtepMAC\":\"02:00:00:00:00:01\",\"VNI\":1}", a.backendData());
        LeaseAttrs udp = LeaseCodec.parse("{\"PublicIP\":\"198.18.0.8\",\"BackendType\":\"udp\"}");
        assertNull(udp.backendData());
        assertEquals(udp, LeaseCodec.parse(LeaseCodec.toJson(udp)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "garbage", "[]", "{}", "{\"PublicIP\":5}", "{\"PublicIP\":\"1.2.3\"}",
        "{\"PublicIP\":\"1.2.3.4\",\"BackendType\":[]}", "{\"PublicIP\":\"1.2.3.4\",\"BackendData\":\"x\"}"})
    void rejectsMalformedValuesWithAReason(String json) {
        MalformedLeaseException e = assertThrows(MalformedLeaseException.class, () -> LeaseCodec.parse(json));
        assertTrue(e.getMessage().length() > 10, e.getMessage());
    }
}
