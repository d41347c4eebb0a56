package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

/** The bound on open connections, on in-memory channels. */
class ConnectionLimitTest {
    @Test
    void oneTooManyClosesTheOldest() {
        ConnectionLimit limit = new ConnectionLimit(2);
        EmbeddedChannel a = new EmbeddedChannel();
        EmbeddedChannel b = new EmbeddedChannel();
        EmbeddedChannel c = new EmbeddedChannel();
        limit.accepted(a);
        limit.accepted(b);
        assertEquals(2, limit.open());
        limit.accepted(c);
        assertFalse(a.isOpen(), "the oldest is closed");
        assertTrue(b.isOpen() && c.isOpen());
        assertEquals(2, limit.open());
        assertEquals(1, limit.evicted());

        c.close();
        assertEquals(1, limit.open());
        EmbeddedChannel d = new EmbeddedChannel();
        limit.accepted(d);
        assertTrue(b.isOpen() && d.isOpen(), "a closed connection frees its place");
        assertEquals(1, limit.evicted());
    }
}
