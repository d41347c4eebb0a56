package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.udp.UdpOptions;
import java.util.Properties;
import org.junit.jupiter.api.Test;

/** The daemon hands the udp backend the options its operator's {@code -Dflanneld.udp.*} flags name. */
class BackendsUdpOptionsTest {
    @Test
    void flagsBecomeTheUdpOptions() {
        assertEquals(UdpOptions.DEFAULTS, Backends.udpOptions(new Properties()));
        Properties p = new Properties();
        p.setProperty("flanneld.udp.gro", "false");
        p.setProperty("flanneld.udp.txBatch", "1");
        UdpOptions o = Backends.udpOptions(p);
        assertFalse(o.gro());
        assertTrue(o.tso() && o.uso() && o.coalesce() && o.gso());
        assertEquals(1, o.txBatch());
        assertEquals(UdpOptions.DEFAULT_RX_BATCH, o.rxBatch());
    }
}
