package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4Net;
import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.NetnsFabric;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The --ip-masq rules in real namespaces: what iptables-save shows after install, idempotence, repair, removal, and
 * (with two hosts) that pod traffic leaving the overlay is masqueraded while overlay traffic is not. The root
 * namespace's iptables are never touched: every command runs under {@code ip netns exec}.
 */
class IpMasqTest {
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final Ip4Net SUBNET = Ip4Net.parse("198.19.1.0/24");
    private static final String C = "-m comment --comment \"flanneld masq\"";

    private NetnsFabric fabric;
    private NetnsFabric.Host a;
    private Iptables iptables;

    @BeforeEach
    void createHost() {
        fabric = NetnsFabric.create();
        try {
            a = fabric.addHost("masq", "198.18.0.1/16");
        } catch (RuntimeException e) {
            fabric.close();
            throw e;
        }
        iptables = new Iptables(List.of("ip", "netns", "exec", a.netns()), Duration.ofSeconds(20));
    }

    @AfterEach
    void removeHost() {
        fabric.close();
    }

    private static List<String> expectedSave(boolean randomFully) {
        String rf = randomFully ? " --random-fully" : "";
        return List.of(
                "-A POSTROUTING " + C + " -j FLANNEL-POSTRTG",
                "-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 " + C + " -j RETURN",
                "-A FLANNEL-POSTRTG -s 198.19.1.0/24 -d 198.19.0.0/16 " + C + " -j RETURN",
                "-A FLANNEL-POSTRTG -s 198.19.0.0/16 -d 198.19.1.0/24 " + C + " -j RETURN",
                "-A FLANNEL-POSTRTG ! -s 198.19.0.0/16 -d 198.19.1.0/24 " + C + " -j RETURN",
                "-A FLANNEL-POSTRTG -s 198.19.0.0/16 ! -d 224.0.0.0/4 " + C + " -j MASQUERADE" + rf,
                "-A FLANNEL-POSTRTG ! -s 198.19.0.0/16 -d 198.19.0.0/16 " + C + " -j MASQUERADE" + rf);
    }

    /** The nat table as iptables-save prints it inside the namespace, rule and chain lines only. */
    private static List<String> natRules(NetnsFabric.Host host) {
        String saved = host.exec("iptables-save", "-t", "nat").check().stdout();
        return saved.lines().filter(l -> l.startsWith("-A ") || l.startsWith(":FLANNEL")).toList();
    }

    private static List<String> withChain(List<String> rules) {
        return concat(List.of(":FLANNEL-POSTRTG - [0:0]"), rules);
    }

    private static List<String> concat(List<String> x, List<String> y) {
        return java.util.stream.Stream.concat(x.stream(), y.stream()).toList();
    }

    @Test
    void ruleSetIsFlannels() {
        List<String> specs = IpMasq.rules(NETWORK, SUBNET, true).stream().map(IptablesRule::toString).toList();
        assertEquals(List.of(
                "-t nat -A POSTROUTING " + C + " -j FLANNEL-POSTRTG",
                "-t nat -A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 " + C + " -j RETURN",
                "-t nat -A FLANNEL-POSTRTG -s 198.19.1.0/24 -d 198.19.0.0/16 " + C + " -j RETURN",
                "-t nat -A FLANNEL-POSTRTG -s 198.19.0.0/16 -d 198.19.1.0/24 " + C + " -j RETURN",
                "-t nat -A FLANNEL-POSTRTG ! -s 198.19.0.0/16 -d 198.19.1.0/24 " + C + " -j RETURN",
                "-t nat -A FLANNEL-POSTRTG -s 198.19.0.0/16 ! -d 224.0.0.0/4 " + C + " -j MASQUERADE --random-fully",
                "-t nat -A FLANNEL-POSTRTG ! -s 198.19.0.0/16 -d 198.19.0.0/16 " + C + " -j MASQUERADE --random-fully"),
                specs);
        assertFalse(IpMasq.rules(NETWORK, SUBNET, false).stream().anyMatch(r -> r.spec().contains("--random-fully")));
    }

    @Test
    void installShowsFlannelsRulesAndCloseRemovesThem() throws Exception {
        boolean randomFully = iptables.supportsRandomFully();
        IpMasq masq = IpMasq.withDetectedRandomFully(iptables, NETWORK, SUBNET, true);
        try {
            masq.ensure();
            assertEquals(withChain(expectedSave(randomFully)), natRules(a));
        } finally {
            masq.close();
        }
        assertEquals(List.of(), natRules(a));
        assertFalse(iptables.chainExists("nat", IpMasq.CHAIN));
        masq.close(); // a second close is a no-op
    }

    @Test
    void installingTwiceAddsNothing() throws Exception {
        try (IpMasq masq = new IpMasq(iptables, NETWORK, SUBNET, false)) {
            masq.ensure();
            List<String> once = natRules(a);
            masq.ensure();
            assertEquals(once, natRules(a));

            // A second instance (a restarted daemon) finds everything present: it adds nothing and so removes nothing.
            IpMasq again = new IpMasq(iptables, NETWORK, SUBNET, false);
            again.ensure();
            assertEquals(once, natRules(a));
            again.close();
            assertEquals(once, natRules(a));
        }
        assertEquals(List.of(), natRules(a));
    }

    @Test
    void ensureRepairsAFlushedRuleInOrder() throws Exception {
        try (IpMasq masq = new IpMasq(iptables, NETWORK, SUBNET, false)) {
            masq.ensure();
            IptablesRule returnRule = masq.rules().get(2);
            iptables.delete(returnRule);
            assertFalse(natRules(a).contains(expectedSave(false).get(2)));

            masq.ensure();

            assertEquals(withChain(expectedSave(false)), natRules(a));
        }
        assertEquals(List.of(), natRules(a));
    }

    @Test
    void foreignRulesAndAForeignChainAreLeftAlone() throws Exception {
        a.exec("iptables", "-t", "nat", "-N", IpMasq.CHAIN).check();
        a.exec("iptables", "-t", "nat", "-A", IpMasq.CHAIN, "-s", "198.18.7.0/24", "-j", "RETURN").check();
        a.exec("iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "198.18.8.0/24", "-j", "RETURN").check();
        List<String> before = natRules(a);

        try (IpMasq masq = new IpMasq(iptables, NETWORK, SUBNET, false)) {
            masq.ensure();
            assertTrue(natRules(a).containsAll(expectedSave(false)), natRules(a).toString());
        }

        assertEquals(before, natRules(a), "chain made by someone else and foreign rules stay");
    }

    @Test
    void chainHoldingForeignRulesIsKeptOnClose() throws Exception {
        IpMasq masq = new IpMasq(iptables, NETWORK, SUBNET, false);
        masq.ensure();
        a.exec("iptables", "-t", "nat", "-A", IpMasq.CHAIN, "-s", "198.18.7.0/24", "-j", "RETURN").check();

        masq.close();

        assertEquals(List.of(":FLANNEL-POSTRTG - [0:0]", "-A FLANNEL-POSTRTG -s 198.18.7.0/24 -j RETURN"),
                natRules(a));
    }

    @Test
    void failureCarriesCommandAndStderr() {
        IptablesRule missing = new IptablesRule("nat", "POSTROUTING", List.of("-s", "198.18.9.0/24", "-j", "RETURN"));

        IptablesException e = assertThrows(IptablesException.class, () -> iptables.delete(missing));

        assertTrue(e.command().containsAll(List.of("iptables", "-t", "nat", "-D", "POSTROUTING")), e.command().toString());
        assertTrue(e.exitCode() > 0);
        assertFalse(e.stderr().isBlank());
        assertTrue(e.getMessage().contains("-D POSTROUTING -s 198.18.9.0/24") && e.getMessage().contains(e.stderr().strip()),
                e.getMessage());
    }

    @Test
    void commandRunningPastItsTimeoutIsKilled() {
        // The prefix makes "sh" the command; the iptables arguments become its unused positional parameters.
        Iptables stuck = new Iptables(List.of("sh", "-c", "sleep 30", "sh"), Duration.ofMillis(300));
        long start = System.nanoTime();

        IptablesException e = assertThrows(IptablesException.class, () -> stuck.chainExists("nat", "X"));

        assertEquals(-1, e.exitCode());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(10)) < 0);
    }

    /**
     * Packets: host a holds "pod" address 198.19.1.5, host b holds 198.19.2.1 and routes a's subnet back to a. A
     * ping from the pod to b's underlay address must arrive from a's underlay address (masqueraded), while a ping
     * to b's pod address keeps the pod's source. b counts the echo requests by source in its INPUT chain.
     */
    @Test
    void podTrafficLeavingTheOverlayIsMasqueradedAndOverlayTrafficIsNot() throws Exception {
        NetnsFabric.Host b = fabric.addHost("peer", "198.18.0.2/16");
        a.exec("ip", "addr", "add", "198.19.1.5/32", "dev", "lo").check();
        a.exec("ip", "route", "add", "198.19.2.0/24", "via", "198.18.0.2").check();
        b.exec("ip", "addr", "add", "198.19.2.1/32", "dev", "lo").check();
        b.exec("ip", "route", "add", "198.19.1.0/24", "via", "198.18.0.1").check();
        b.exec("iptables", "-A", "INPUT", "-p", "icmp", "-s", "198.18.0.1").check();
        b.exec("iptables", "-A", "INPUT", "-p", "icmp", "-s", "198.19.1.5").check();

        try (IpMasq masq = IpMasq.withDetectedRandomFully(iptables, NETWORK, SUBNET, true)) {
            masq.ensure();
            ping(a, "198.19.1.5", "198.18.0.2");
            assertEquals(List.of(1L, 0L), icmpCountsBySource(b), "underlay-bound pod traffic is masqueraded");
            ping(a, "198.19.1.5", "198.19.2.1");
            assertEquals(List.of(1L, 1L), icmpCountsBySource(b), "overlay traffic keeps the pod address");
        }
    }

    private static void ping(NetnsFabric.Host from, String source, String target) {
        Cmd.Result r = from.exec("ping", "-n", "-c", "1", "-W", "2", "-I", source, target);
        assertTrue(r.ok(), r.commandLine() + ": " + r.stdout() + r.stderr());
    }

    /** Packet counts of b's two INPUT rules: from 198.18.0.1, from 198.19.1.5. */
    private static List<Long> icmpCountsBySource(NetnsFabric.Host b) {
        String listing = b.exec("iptables", "-L", "INPUT", "-n", "-v", "-x").check().stdout();
        return listing.lines().skip(2).map(l -> Long.parseLong(l.trim().split("\\s+")[0])).toList();
    }
}
