package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LeaseOptionsTest {
    @Test
    void renewsOneMarginBeforeExpiry() {
        assertEquals(Duration.ofHours(23), LeaseOptions.defaults().renewDelay(Duration.ofHours(24)));
    }

    @Test
    void aMarginLongerThanTheTtlRenewsAtAThird() {
        LeaseOptions shortTtl = LeaseOptions.defaults().withTtl(Duration.ofSeconds(30), Duration.ofMinutes(60));
        assertEquals(Duration.ofSeconds(10), shortTtl.renewDelay(Duration.ofSeconds(30)));
    }

    @Test
    void aZeroMarginStillRenewsBeforeExpiry() {
        LeaseOptions noMargin = LeaseOptions.defaults().withTtl(Duration.ofSeconds(3), Duration.ZERO);
        assertEquals(Duration.ofSeconds(2), noMargin.renewDelay(Duration.ofSeconds(3)));
        assertEquals(Duration.ofHours(24).minusMinutes(1),
                LeaseOptions.defaults().withTtl(Duration.ofHours(24), Duration.ZERO).renewDelay(Duration.ofHours(24)));
    }

    @Test
    void refusesNonsense() {
        assertThrows(IllegalArgumentException.class, () -> LeaseOptions.defaults().withTtl(Duration.ofSeconds(1), Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> LeaseOptions.defaults().withTtl(Duration.ofSeconds(10), Duration.ofSeconds(-1)));
    }
}
