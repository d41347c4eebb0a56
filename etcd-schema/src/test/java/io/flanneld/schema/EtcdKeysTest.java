package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EtcdKeysTest {
    private final EtcdKeys keys = EtcdKeys.defaults();

    @Test
    void namesKeysAsFlannelDoes() {
        assertEquals("/coreos.com/network/config", keys.config());
        assertEquals("/coreos.com/network/subnets/", keys.subnetsPrefix());
        assertEquals("/coreos.com/network/subnets/10.244.7.0-24", keys.subnet(Ip4Net.parse("10.244.7.0/24")));
        assertEquals("/x/config", new EtcdKeys("/x/").config());
    }

    @Test
    void parsesLeaseKeysBack() {
        assertEquals(Optional.of(Ip4Net.parse("10.244.7.0/24")), keys.parseSubnetKey("/coreos.com/network/subnets/10.244.7.0-24"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"/coreos.com/network/config", "/coreos.com/network/subnets/10.244.7.0", "/coreos.com/network/subnets/10.244.7.1-24",
        "/coreos.com/network/subnets/10.244.7.0-33", "/coreos.com/network/subnets/10.244.300.0-24", "/other/subnets/10.244.7.0-24",
        "/coreos.com/network/subnets/10.244.7.0-24/extra", "/coreos.com/network/subnets/ 10.244.7.0-24"})
    void ignoresKeysThatAreNotLeases(String key) {
        assertEquals(Optional.empty(), keys.parseSubnetKey(key));
    }

    @Test
    void refusesARelativePrefix() {
        assertThrows(IllegalArgumentException.class, () -> new EtcdKeys("coreos.com/network"));
    }

    /** Found by MutatedInputPropertiesTest: a second spelling of a subnet must not pass for its key. */
    @ParameterizedTest
    @ValueSource(strings = {"198.019.7.0-24", "198.19.7.0-024", "198.19.07.0-24", "+198.19.7.0-24"})
    void nonCanonicalSpellingsAreNotSubnetKeys(String name) {
        assertEquals(Optional.empty(), EtcdKeys.defaults().parseSubnetKey("/coreos.com/network/subnets/" + name));
    }
}
