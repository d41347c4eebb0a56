package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4Net;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Reading the FORWARD chain and FLANNEL-FWD from {@code iptables -t filter -S}, as status and doctor do. */
class ForwardingStateTest {
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final List<String> WITH_RULES = List.of("-P INPUT ACCEPT", "-P FORWARD DROP", "-P OUTPUT ACCEPT", "-N FLANNEL-FWD",
            "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD",
            "-A FLANNEL-FWD -s 198.19.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT",
            "-A FLANNEL-FWD -d 198.19.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT");

    @Test
    void theForwardRulesInPlaceUnderADropPolicy() {
        ForwardingState s = new ForwardingState(Optional.of(true), WITH_RULES, Optional.empty());
        assertEquals(Optional.of("DROP"), s.policy());
        assertTrue(s.jumpInPlace());
        assertTrue(s.chainAccepts(NETWORK));
        assertFalse(s.chainAccepts(Ip4Net.parse("198.20.0.0/16")));
        assertEquals(List.of("-P FORWARD DROP", "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD"), s.forwardChain());
        assertEquals("net.ipv4.ip_forward 1, FORWARD policy DROP, FLANNEL-FWD in place", s.describe());
    }

    @Test
    void aDropPolicyWithoutTheJumpDropsPodTraffic() {
        ForwardingState s = new ForwardingState(Optional.of(false), List.of("-P FORWARD DROP"), Optional.empty());
        assertFalse(s.jumpInPlace());
        assertFalse(s.chainAccepts(NETWORK));
        assertEquals("net.ipv4.ip_forward 0 (OFF: nothing is forwarded), FORWARD policy DROP, FLANNEL-FWD MISSING (forwarded pod traffic is dropped)",
                s.describe());
        assertEquals("net.ipv4.ip_forward unknown, FORWARD policy ACCEPT, FLANNEL-FWD not installed",
                new ForwardingState(Optional.empty(), List.of("-P FORWARD ACCEPT"), Optional.empty()).describe());
    }

    @Test
    void anUnreadableIptablesIsSaidSo() {
        ForwardingState s = new ForwardingState(Optional.of(true), List.of(), Optional.of("iptables: cannot start"));
        assertEquals(Optional.empty(), s.policy());
        assertEquals("net.ipv4.ip_forward 1, iptables unreadable (iptables: cannot start)", s.describe());
    }
}
