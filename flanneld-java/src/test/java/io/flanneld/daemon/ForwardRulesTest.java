package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4Net;
import io.flanneld.testkit.NetnsFabric;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** flannel's FLANNEL-FWD rules, in a scratch namespace's filter table. */
class ForwardRulesTest {
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final String C = "-m comment --comment \"flanneld forward\"";

    private NetnsFabric fabric;
    private NetnsFabric.Host host;
    private Iptables iptables;

    @BeforeEach
    void createHost() {
        fabric = NetnsFabric.create();
        try {
            host = fabric.addHost("fwd", "198.18.0.1/16");
        } catch (RuntimeException e) {
            fabric.close();
            throw e;
        }
        iptables = new Iptables(List.of("ip", "netns", "exec", host.netns()), Duration.ofSeconds(20));
    }

    @AfterEach
    void removeHost() {
        fabric.close();
    }

    private List<String> filterRules() {
        return host.exec("iptables-save", "-t", "filter").check().stdout().lines()
                .filter(l -> l.startsWith("-A ") || l.startsWith(":FLANNEL")).toList();
    }

    private static final List<String> EXPECTED = List.of(
            ":FLANNEL-FWD - [0:0]",
            "-A FORWARD " + C + " -j FLANNEL-FWD",
            "-A FLANNEL-FWD -s 198.19.0.0/16 " + C + " -j ACCEPT",
            "-A FLANNEL-FWD -d 198.19.0.0/16 " + C + " -j ACCEPT");

    @Test
    void ruleSetIsFlannels() {
        assertEquals(List.of(
                "-t filter -A FORWARD " + C + " -j FLANNEL-FWD",
                "-t filter -A FLANNEL-FWD -s 198.19.0.0/16 " + C + " -j ACCEPT",
                "-t filter -A FLANNEL-FWD -d 198.19.0.0/16 " + C + " -j ACCEPT"),
                ForwardRules.rules(NETWORK).stream().map(IptablesRule::toString).toList());
    }

    @Test
    void installedKeptWhenFlushedOrDeletedAndRemovedOnClose() throws Exception {
        PacketFilter forward = ForwardRules.chain(iptables, NETWORK);
        try {
            assertFalse(forward.ensure(), "the first install is not a repair");
            assertEquals(EXPECTED, filterRules());
            assertFalse(forward.ensure(), "nothing missing");
            assertEquals(EXPECTED, filterRules());

            host.exec("iptables", "-F", "FLANNEL-FWD").check();
            assertTrue(forward.ensure(), "a flushed chain is a repair");
            assertEquals(EXPECTED, filterRules());

            host.exec("iptables", "-F", "FORWARD").check();
            assertTrue(forward.ensure(), "a flushed FORWARD chain loses the jump");
            assertEquals(EXPECTED, filterRules());

            host.exec("iptables", "-F", "FLANNEL-FWD").check();
            host.exec("iptables", "-D", "FORWARD", "-m", "comment", "--comment", "flanneld forward", "-j", "FLANNEL-FWD").check();
            host.exec("iptables", "-X", "FLANNEL-FWD").check();
            assertTrue(forward.ensure(), "a deleted chain is a repair");
            assertEquals(EXPECTED, filterRules());
            assertEquals("forward_rules", forward.what());
            assertEquals("iptables filter/FLANNEL-FWD", forward.where());
        } finally {
            forward.close();
        }
        assertEquals(List.of(), filterRules());
    }

    @Test
    void statusSaysWhetherForwardedPodTrafficIsDropped() throws Exception {
        host.exec("iptables", "-P", "FORWARD", "DROP").check();
        assertTrue(StatusCommand.forwarding(iptables).contains("FORWARD policy DROP, FLANNEL-FWD MISSING (forwarded pod traffic is dropped)"),
                StatusCommand.forwarding(iptables));
        try (PacketFilter forward = ForwardRules.chain(iptables, NETWORK)) {
            forward.ensure();
            assertTrue(StatusCommand.forwarding(iptables).contains("FORWARD policy DROP, FLANNEL-FWD in place"),
                    StatusCommand.forwarding(iptables));
        }
    }
}
