package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip6Net;
import io.flanneld.testkit.NetnsFabric;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The IPv6 ip-masq and forward rules through ip6tables, in a scratch namespace: flannel's masqIP6Rules and its IPv6
 * forward rules (pkg/trafficmngr/iptables), installed, kept when flushed, removed on close, and never in the IPv4
 * tables. Every command runs under {@code ip netns exec}.
 */
class Ip6tablesRulesTest {
    private static final Ip6Net NETWORK = Ip6Net.parse("2001:2:19::/48");
    private static final Ip6Net SUBNET = Ip6Net.parse("2001:2:19:1::/64");
    private static final String M = "-m comment --comment \"flanneld masq\"";
    private static final String F = "-m comment --comment \"flanneld forward\"";

    private NetnsFabric fabric;
    private NetnsFabric.Host host;
    private Iptables iptables;

    @BeforeEach
    void createHost() {
        fabric = NetnsFabric.create();
        try {
            host = fabric.addHost("ip6t", "198.18.0.1/16");
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

    private List<String> saved(String binary, String table) {
        return host.exec(binary + "-save", "-t", table).check().stdout().lines()
                .filter(l -> l.startsWith("-A ") || l.startsWith(":FLANNEL")).toList();
    }

    private static List<String> expectedMasq(boolean randomFully) {
        String rf = randomFully ? " --random-fully" : "";
        return List.of(
                ":FLANNEL-POSTRTG - [0:0]",
                "-A POSTROUTING " + M + " -j FLANNEL-POSTRTG",
                "-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 " + M + " -j RETURN",
                "-A FLANNEL-POSTRTG -s 2001:2:19:1::/64 -d 2001:2:19::/48 " + M + " -j RETURN",
                "-A FLANNEL-POSTRTG -s 2001:2:19::/48 -d 2001:2:19:1::/64 " + M + " -j RETURN",
                "-A FLANNEL-POSTRTG ! -s 2001:2:19::/48 -d 2001:2:19:1::/64 " + M + " -j RETURN",
                "-A FLANNEL-POSTRTG -s 2001:2:19::/48 ! -d ff00::/8 " + M + " -j MASQUERADE" + rf,
                "-A FLANNEL-POSTRTG ! -s 2001:2:19::/48 -d 2001:2:19::/48 " + M + " -j MASQUERADE" + rf);
    }

    @Test
    void ruleSetsAreFlannels() {
        assertEquals(List.of(
                "-t nat -A POSTROUTING " + M + " -j FLANNEL-POSTRTG",
                "-t nat -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 " + M + " -j RETURN",
                "-t nat -A FLANNEL-POSTRTG -s 2001:2:19:1::/64 -d 2001:2:19::/48 " + M + " -j RETURN",
                "-t nat -A FLANNEL-POSTRTG -s 2001:2:19::/48 -d 2001:2:19:1::/64 " + M + " -j RETURN",
                "-t nat -A FLANNEL-POSTRTG ! -s 2001:2:19::/48 -d 2001:2:19:1::/64 " + M + " -j RETURN",
                "-t nat -A FLANNEL-POSTRTG -s 2001:2:19::/48 ! -d ff00::/8 " + M + " -j MASQUERADE --random-fully",
                "-t nat -A FLANNEL-POSTRTG ! -s 2001:2:19::/48 -d 2001:2:19::/48 " + M + " -j MASQUERADE --random-fully"),
                IpMasq.rules6(NETWORK, SUBNET, true).stream().map(IptablesRule::toString).toList());
        assertEquals(List.of(
                "-t filter -A FORWARD " + F + " -j FLANNEL-FWD",
                "-t filter -A FLANNEL-FWD -s 2001:2:19::/48 " + F + " -j ACCEPT",
                "-t filter -A FLANNEL-FWD -d 2001:2:19::/48 " + F + " -j ACCEPT"),
                ForwardRules.rules6(NETWORK).stream().map(IptablesRule::toString).toList());
    }

    @Test
    void masqueradeRulesGoToIp6tablesAreRepairedAndRemoved() throws Exception {
        boolean randomFully = iptables.ipv6().supportsRandomFully();
        IpMasq masq = IpMasq.ipv6WithDetectedRandomFully(iptables, NETWORK, SUBNET, true);
        try {
            assertEquals("ip6tables nat/FLANNEL-POSTRTG", masq.where());
            assertFalse(masq.ensure());
            assertEquals(expectedMasq(randomFully), saved("ip6tables", "nat"));
            assertEquals(List.of(), saved("iptables", "nat"), "nothing in the IPv4 tables");

            host.exec("ip6tables", "-t", "nat", "-F", "FLANNEL-POSTRTG").check();
            assertTrue(masq.ensure(), "a flushed chain is put back");
            assertEquals(expectedMasq(randomFully), saved("ip6tables", "nat"));
        } finally {
            masq.close();
        }
        assertEquals(List.of(), saved("ip6tables", "nat"));
    }

    @Test
    void forwardRulesGoToIp6tablesAreRepairedAndRemoved() throws Exception {
        List<String> expected = List.of(
                ":FLANNEL-FWD - [0:0]",
                "-A FORWARD " + F + " -j FLANNEL-FWD",
                "-A FLANNEL-FWD -s 2001:2:19::/48 " + F + " -j ACCEPT",
                "-A FLANNEL-FWD -d 2001:2:19::/48 " + F + " -j ACCEPT");
        PacketFilter forward = ForwardRules.chain6(iptables, NETWORK);
        try {
            assertFalse(forward.ensure());
            assertEquals(expected, saved("ip6tables", "filter"));
            assertEquals(List.of(), saved("iptables", "filter"), "nothing in the IPv4 tables");
            host.exec("ip6tables", "-F", "FORWARD").check();
            assertTrue(forward.ensure(), "the lost jump is put back");
            assertEquals(expected, saved("ip6tables", "filter"));
        } finally {
            forward.close();
        }
        assertEquals(List.of(), saved("ip6tables", "filter"));
    }
}
