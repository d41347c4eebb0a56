package io.flanneld.vxlan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.net.MacAddress;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class VtepDataTest {

    @Test
    void writesFlannelsExactBytes() {
        VtepData d = new VtepData(1, MacAddress.parse("AA:BB:CC:DD:EE:0F"));
        assertEquals("{\"VNI\":1,\"VtepMAC\":\"aa:bb:cc:dd:ee:0f\"}", d.toJson());
    }

    @Test
    void roundTrips() {
        VtepData d = new VtepData(4096, MacAddress.parse("8e:1f:00:aa:bb:cc"));
        assertEquals(d, VtepData.parse(d.toJson()));
    }

    @Test
    void readsWhatFlannelWritesIncludingKeyOrderAndWhitespace() {
        assertEquals(new VtepData(1, MacAddress.parse("8e:1f:00:aa:bb:cc")),
                VtepData.parse("{ \"VtepMAC\" : \"8E:1F:00:AA:BB:CC\", \"VNI\" : 1 }"));
    }

    @Test
    void acceptsMissingVniAndHyphenatedMacAsGoDoes() {
        assertEquals(new VtepData(0, MacAddress.parse("02:00:00:00:00:01")),
                VtepData.parse("{\"VtepMAC\":\"02-00-00-00-00-01\"}"));
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {" ", "not json", "[1,2]", "\"x\"", "{}", "{\"VNI\":1}", "{\"VtepMAC\":null}",
            "{\"VtepMAC\":42}", "{\"VtepMAC\":\"zz:00:00:00:00:00\"}", "{\"VtepMAC\":\"02:00:00:00:00\"}",
            "{\"VtepMAC\":\"02:00:00:00:00:01\",\"VNI\":\"1\"}", "{\"VtepMAC\":\"02:00:00:00:00:01\",\"VNI\":-1}",
            "{\"VtepMAC\":\"02:00:00:00:00:01\",\"VNI\":1.5}", "{\"VtepMAC\":\"02:00:00:00:00:01\",\"VNI\":16777216}"})
    void rejectsMalformedInputWithAClearMessage(String json) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> VtepData.parse(json));
        assertTrue(e.getMessage().startsWith("BackendData"), e.getMessage());
    }
}
