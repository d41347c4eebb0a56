package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The udp backend's options as the daemon's {@code -D} flags name them. */
class UdpOptionsTest {
    @Test
    void noPropertiesAreTheDefaults() {
        UdpOptions o = UdpOptions.fromProperties(new Properties());
        assertEquals(UdpOptions.DEFAULTS, o);
        assertTrue(o.tso() && o.uso() && o.coalesce() && o.gso() && o.gro());
        assertEquals(32, o.rxBatch());
        assertEquals(256, o.txBatch());
    }

    @Test
    void eachOffloadIsOffOnlyWhenItsPropertyIsFalse() {
        String[] names = {"tso", "uso", "coalesce", "gso", "gro"};
        for (int i = 0; i < names.length; i++) {
            Properties p = new Properties();
            p.setProperty("flanneld.udp." + names[i], "FALSE");
            UdpOptions o = UdpOptions.fromProperties(p);
            boolean[] on = {o.tso(), o.uso(), o.coalesce(), o.gso(), o.gro()};
            for (int j = 0; j < names.length; j++) {
                assertEquals(i != j, on[j], names[i] + "=false, " + names[j]);
            }
            p.setProperty("flanneld.udp." + names[i], "no");
            assertEquals(UdpOptions.DEFAULTS, UdpOptions.fromProperties(p), "only \"false\" turns it off");
        }
    }

    @Test
    void batchSizesAreReadAndClamped() {
        Properties p = new Properties();
        p.setProperty("flanneld.udp.rxBatch", "8");
        p.setProperty("flanneld.udp.txBatch", "1");
        assertEquals(8, UdpOptions.fromProperties(p).rxBatch());
        assertEquals(1, UdpOptions.fromProperties(p).txBatch());
        p.setProperty("flanneld.udp.rxBatch", "1000");
        p.setProperty("flanneld.udp.txBatch", "0");
        assertEquals(64, UdpOptions.fromProperties(p).rxBatch());
        assertEquals(1, UdpOptions.fromProperties(p).txBatch());
        p.setProperty("flanneld.udp.rxBatch", "many");
        p.setProperty("flanneld.udp.txBatch", "0x10");
        assertEquals(32, UdpOptions.fromProperties(p).rxBatch(), "not a number: the default");
        assertEquals(16, UdpOptions.fromProperties(p).txBatch(), "decoded as Integer.getInteger does");
    }
}
