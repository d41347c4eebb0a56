package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4Net;
import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.NetnsFabric;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * EnableNFTables' rules in real namespaces: what {@code nft list table ip flannel-ipv4} shows after install,
 * idempotence, repair after a flush, a deleted table, a deleted rule or a re-declared chain, removal, and (with two
 * hosts) that pod traffic leaving the overlay is masqueraded while overlay traffic is not. The root namespace's
 * nftables are never touched: every command runs under {@code ip netns exec}.
 */
class NfTablesTest {
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final Ip4Net SUBNET = Ip4Net.parse("198.19.1.0/24");
    private static final Pattern HANDLE = Pattern.compile("(.*\\S) # handle (\\d+)");

    private NetnsFabric fabric;
    private NetnsFabric.Host a;
    private NfTables nft;

    @BeforeEach
    void createHost() {
        fabric = NetnsFabric.create();
        try {
            a = fabric.addHost("nft", "198.18.0.1/16");
        } catch (RuntimeException e) {
            fabric.close();
            throw e;
        }
        nft = new NfTables(List.of("ip", "netns", "exec", a.netns()), Duration.ofSeconds(20));
    }

    @AfterEach
    void removeHost() {
        fabric.close();
    }

    private static String postrtg(String masquerade) {
        return "\tchain postrtg {\n"
                + "\t\tcomment \"chain to manage traffic masquerading by flannel\"\n"
                + "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                + "\t\tmeta mark 0x00004000 return\n"
                + "\t\tip saddr 198.19.1.0/24 ip daddr 198.19.0.0/16 return\n"
                + "\t\tip saddr 198.19.0.0/16 ip daddr 198.19.1.0/24 return\n"
                + "\t\tip saddr != 198.19.1.0/24 ip daddr 198.19.0.0/16 return\n"
                + "\t\tip saddr 198.19.0.0/16 ip daddr != 224.0.0.0/4 " + masquerade + "\n"
                + "\t\tip saddr != 198.19.0.0/16 ip daddr 198.19.0.0/16 " + masquerade + "\n"
                + "\t}\n";
    }

    private static final String FORWARD = "\tchain forward {\n"
            + "\t\tcomment \"chain to accept flannel traffic\"\n"
            + "\t\ttype filter hook forward priority filter; policy accept;\n"
            + "\t\tip saddr 198.19.0.0/16 accept\n"
            + "\t\tip daddr 198.19.0.0/16 accept\n"
            + "\t}\n";

    /** The table as nft lists it with both chains, postrtg installed first. */
    private static String expectedTable(boolean fullyRandom) {
        return "table ip flannel-ipv4 {\n"
                + "\tcomment \"rules for flannel-ipv4\"\n"
                + postrtg(fullyRandom ? "masquerade fully-random" : "masquerade")
                + "\n"
                + FORWARD
                + "}\n";
    }

    private String listTable() {
        return a.exec("nft", "list", "table", "ip", "flannel-ipv4").check().stdout();
    }

    /** Each chain of the table by name, with its lines in order (the order of the chains themselves aside). */
    private Map<String, List<String>> chains() {
        String listing = listTable();
        Map<String, List<String>> chains = new LinkedHashMap<>();
        for (String name : List.of("postrtg", "forward")) {
            chains.put(name, NfTablesScript.chainBody(listing, name));
        }
        return chains;
    }

    private static Map<String, List<String>> expectedChains(boolean fullyRandom) {
        String listing = expectedTable(fullyRandom);
        Map<String, List<String>> chains = new LinkedHashMap<>();
        for (String name : List.of("postrtg", "forward")) {
            chains.put(name, NfTablesScript.chainBody(listing, name));
        }
        return chains;
    }

    private boolean tableExists() {
        return a.exec("nft", "list", "tables").check().stdout().contains("table ip flannel-ipv4\n");
    }

    /** The rule handles of a chain, in order, from {@code nft -a list chain}. */
    private List<Integer> handles(String chain) {
        String listing = a.exec("nft", "-a", "list", "chain", "ip", "flannel-ipv4", chain).check().stdout();
        return listing.lines().map(String::strip).filter(l -> !l.startsWith("chain ") && !l.startsWith("table "))
                .map(HANDLE::matcher).filter(Matcher::matches).map(m -> Integer.parseInt(m.group(2))).toList();
    }

    @Test
    void installShowsFlannelsTableAndCloseRemovesIt() throws Exception {
        boolean fullyRandom = nft.supportsFullyRandom();
        PacketFilter masq = NfTablesRules.masquerade(nft, NETWORK, SUBNET, true);
        PacketFilter forward = NfTablesRules.forward(nft, NETWORK);
        try {
            assertFalse(masq.ensure(), "the first install is not a repair");
            assertFalse(forward.ensure(), "the first install is not a repair");
            assertEquals(expectedTable(fullyRandom), listTable());
            assertEquals("ip_masq", masq.what());
            assertEquals("nftables ip flannel-ipv4/postrtg", masq.where());
            assertEquals("forward_rules", forward.what());
            assertEquals("nftables ip flannel-ipv4/forward", forward.where());
        } finally {
            masq.close();
            assertTrue(listTable().contains("chain forward {") && !listTable().contains("chain postrtg"),
                    "the forward chain and so the table stay while it is there: " + listTable());
            forward.close();
        }
        assertFalse(tableExists(), "no flannel table left: " + a.exec("nft", "list", "ruleset").stdout());
        masq.close(); // a second close is a no-op
        forward.close();
    }

    /** With IPv6: flannel's {@code ip6 flannel-ipv6} table beside the IPv4 one, kept and removed the same way. */
    @Test
    void ipv6ChainsLiveInTheIp6TableAndAreKeptAndRemoved() throws Exception {
        io.flanneld.schema.Ip6Net network6 = io.flanneld.schema.Ip6Net.parse("2001:2:19::/48");
        boolean fullyRandom = nft.supportsFullyRandom();
        String masquerade = fullyRandom ? "masquerade fully-random" : "masquerade";
        String expected = "table ip6 flannel-ipv6 {\n"
                + "\tcomment \"rules for flannel-ipv6\"\n"
                + "\tchain postrtg {\n"
                + "\t\tcomment \"chain to manage traffic masquerading by flannel\"\n"
                + "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                + "\t\tmeta mark 0x00004000 return\n"
                + "\t\tip6 saddr 2001:2:19:1::/64 ip6 daddr 2001:2:19::/48 return\n"
                + "\t\tip6 saddr 2001:2:19::/48 ip6 daddr 2001:2:19:1::/64 return\n"
                + "\t\tip6 saddr != 2001:2:19:1::/64 ip6 daddr 2001:2:19::/48 return\n"
                + "\t\tip6 saddr 2001:2:19::/48 ip6 daddr != ff00::/8 " + masquerade + "\n"
                + "\t\tip6 saddr != 2001:2:19::/48 ip6 daddr 2001:2:19::/48 " + masquerade + "\n"
                + "\t}\n"
                + "\n"
                + "\tchain forward {\n"
                + "\t\tcomment \"chain to accept flannel traffic\"\n"
                + "\t\ttype filter hook forward priority filter; policy accept;\n"
                + "\t\tip6 saddr 2001:2:19::/48 accept\n"
                + "\t\tip6 daddr 2001:2:19::/48 accept\n"
                + "\t}\n"
                + "}\n";
        PacketFilter masq = NfTablesRules.masquerade6(nft, network6, io.flanneld.schema.Ip6Net.parse("2001:2:19:1::/64"), true);
        PacketFilter forward = NfTablesRules.forward6(nft, network6);
        try {
            assertFalse(masq.ensure());
            assertFalse(forward.ensure());
            assertEquals("nftables ip6 flannel-ipv6/postrtg", masq.where());
            assertEquals(expected, a.exec("nft", "list", "table", "ip6", "flannel-ipv6").check().stdout());
            assertFalse(tableExists(), "nothing in the IPv4 table");
            a.exec("nft", "flush", "chain", "ip6", "flannel-ipv6", "forward").check();
            assertTrue(forward.ensure(), "a flushed chain is put back");
            assertEquals(expected, a.exec("nft", "list", "table", "ip6", "flannel-ipv6").check().stdout());
        } finally {
            masq.close();
            forward.close();
        }
        assertFalse(a.exec("nft", "list", "tables").check().stdout().contains("flannel-ipv6"), "the IPv6 table is removed");
    }

    @Test
    void randomFullyFalseMeansPlainMasquerade() throws Exception {
        PacketFilter masq = NfTablesRules.masquerade(nft, NETWORK, SUBNET, false);
        PacketFilter forward = NfTablesRules.forward(nft, NETWORK);
        try (masq; forward) {
            masq.ensure();
            forward.ensure();
            assertEquals(expectedTable(false), listTable());
        }
        assertFalse(tableExists());
    }

    @Test
    void ensuringAgainChangesNothing() throws Exception {
        try (NfTablesChain masq = NfTablesRules.masqueradeChain(nft, NETWORK, SUBNET, false);
                NfTablesChain forward = NfTablesRules.forwardChain(nft, NETWORK)) {
            masq.ensure();
            forward.ensure();
            String once = a.exec("nft", "-a", "list", "table", "ip", "flannel-ipv4").check().stdout();

            assertFalse(masq.ensure());
            assertFalse(forward.ensure());

            assertEquals(once, a.exec("nft", "-a", "list", "table", "ip", "flannel-ipv4").check().stdout(),
                    "same rules with the same handles: nothing was rewritten");
        }
        assertFalse(tableExists());
    }

    @Test
    void aFlushedChainIsPutBackAndTheOtherChainIsLeftAlone() throws Exception {
        try (NfTablesChain masq = NfTablesRules.masqueradeChain(nft, NETWORK, SUBNET, false);
                NfTablesChain forward = NfTablesRules.forwardChain(nft, NETWORK)) {
            masq.ensure();
            forward.ensure();
            List<Integer> forwardHandles = handles("forward");
            a.exec("nft", "flush", "chain", "ip", "flannel-ipv4", "postrtg").check();
            assertEquals(List.of(), handles("postrtg"));

            assertTrue(masq.ensure(), "put back");
            assertFalse(forward.ensure());

            assertEquals(expectedChains(false), chains());
            assertEquals(forwardHandles, handles("forward"), "the forward chain was not rewritten");
            assertFalse(masq.ensure(), "and now intact");
        }
        assertFalse(tableExists());
    }

    @Test
    void aDeletedTableIsPutBack() throws Exception {
        try (NfTablesChain masq = NfTablesRules.masqueradeChain(nft, NETWORK, SUBNET, false);
                NfTablesChain forward = NfTablesRules.forwardChain(nft, NETWORK)) {
            masq.ensure();
            forward.ensure();
            a.exec("nft", "delete", "table", "ip", "flannel-ipv4").check();
            assertFalse(tableExists());

            assertTrue(masq.ensure());
            assertTrue(forward.ensure());

            assertEquals(expectedTable(false), listTable());
        }
        assertFalse(tableExists());
    }

    @Test
    void aDeletedRuleIsPutBackInOrder() throws Exception {
        try (NfTablesChain masq = NfTablesRules.masqueradeChain(nft, NETWORK, SUBNET, false)) {
            masq.ensure();
            int second = handles("postrtg").get(1);
            a.exec("nft", "delete", "rule", "ip", "flannel-ipv4", "postrtg", "handle", String.valueOf(second)).check();
            assertEquals(5, handles("postrtg").size());

            assertTrue(masq.ensure());

            assertEquals(expectedChains(false).get("postrtg"), chains().get("postrtg"));
        }
        assertFalse(tableExists());
    }

    @Test
    void aForeignRuleInTheChainOrAChangedDeclarationIsPutRight() throws Exception {
        try (NfTablesChain forward = NfTablesRules.forwardChain(nft, NETWORK)) {
            forward.ensure();
            a.exec("nft", "insert", "rule", "ip", "flannel-ipv4", "forward", "ip", "saddr", "198.18.9.0/24", "drop").check();
            assertTrue(forward.ensure());
            assertEquals(expectedChains(false).get("forward"), chains().get("forward"));

            // Declared again by someone else with another hook, priority and policy: nft would refuse a plain re-add.
            a.exec("nft", "delete", "chain", "ip", "flannel-ipv4", "forward").check();
            a.exec("nft", "add chain ip flannel-ipv4 forward { type filter hook input priority 10 ; policy drop ; }").check();
            assertTrue(forward.ensure());
            assertEquals(expectedChains(false).get("forward"), chains().get("forward"));
        }
        assertFalse(tableExists());
    }

    @Test
    void aRestartedDaemonTakesOverTheChainsAndCloseStillLeavesNothing() throws Exception {
        NfTablesChain before = NfTablesRules.masqueradeChain(nft, NETWORK, SUBNET, false);
        before.ensure(); // and never closed, as after a crash

        try (NfTablesChain after = NfTablesRules.masqueradeChain(nft, NETWORK, SUBNET, false)) {
            assertFalse(after.ensure(), "a first install, even over an old chain");
            assertEquals(expectedChains(false).get("postrtg"), chains().get("postrtg"));
        }
        assertFalse(tableExists());
    }

    @Test
    void aTableHoldingSomethingElseIsKeptOnClose() throws Exception {
        NfTablesChain masq = NfTablesRules.masqueradeChain(nft, NETWORK, SUBNET, false);
        masq.ensure();
        a.exec("nft", "add chain ip flannel-ipv4 extra").check();

        masq.close();

        String listing = listTable();
        assertFalse(listing.contains("postrtg"), listing);
        assertTrue(listing.contains("chain extra {"), listing);
    }

    @Test
    void closeBeforeEnsureRemovesNothing() throws Exception {
        try (NfTablesChain masq = NfTablesRules.masqueradeChain(nft, NETWORK, SUBNET, false)) {
            masq.ensure();
            NfTablesChain neverInstalled = NfTablesRules.forwardChain(nft, NETWORK);
            neverInstalled.close();
            assertEquals(expectedChains(false).get("postrtg"), chains().get("postrtg"));
            assertThrows(IllegalStateException.class, neverInstalled::ensure);
        }
    }

    @Test
    void failureCarriesCommandAndStderr() {
        NfTablesException e = assertThrows(NfTablesException.class,
                () -> nft.apply("add rule ip flannel-ipv4 postrtg ip saddr 198.18.9.0/24 return\n"));

        assertEquals(List.of("ip", "netns", "exec", a.netns(), "nft", "-f", "-"), e.command());
        assertTrue(e.exitCode() > 0);
        assertTrue(e.stderr().contains("No such file or directory"), e.stderr());
        assertTrue(e.getMessage().contains("nft -f -") && e.getMessage().contains(e.stderr().strip()), e.getMessage());
        assertTrue(e instanceof PacketFilterException);
    }

    @Test
    void aMissingBinaryIsAFailureNamingTheCommand() {
        NfTables none = new NfTables(List.of("/nonexistent/flanneld-test"), Duration.ofSeconds(5));

        NfTablesException e = assertThrows(NfTablesException.class, () -> none.list("tables"));

        assertTrue(e.getMessage().contains("cannot start") && e.getMessage().contains("nft list tables"), e.getMessage());
    }

    @Test
    void commandRunningPastItsTimeoutIsKilled() {
        // The prefix makes "sh" the command; the nft arguments become its unused positional parameters.
        NfTables stuck = new NfTables(List.of("sh", "-c", "sleep 30", "sh"), Duration.ofMillis(300));
        long start = System.nanoTime();

        NfTablesException e = assertThrows(NfTablesException.class, () -> stuck.apply("list tables\n"));

        assertEquals(-1, e.exitCode());
        assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(10)) < 0);
    }

    /**
     * Packets: host a holds "pod" address 198.19.1.5, host b holds 198.19.2.1 and routes a's subnet back to a. A
     * ping from the pod to b's underlay address must arrive from a's underlay address (masqueraded by the nftables
     * chain), while a ping to b's pod address keeps the pod's source. b counts the echo requests by source with nft
     * counters of its own.
     */
    @Test
    void podTrafficLeavingTheOverlayIsMasqueradedAndOverlayTrafficIsNot() throws Exception {
        NetnsFabric.Host b = fabric.addHost("peer", "198.18.0.2/16");
        a.exec("ip", "addr", "add", "198.19.1.5/32", "dev", "lo").check();
        a.exec("ip", "route", "add", "198.19.2.0/24", "via", "198.18.0.2").check();
        b.exec("ip", "addr", "add", "198.19.2.1/32", "dev", "lo").check();
        b.exec("ip", "route", "add", "198.19.1.0/24", "via", "198.18.0.1").check();
        b.exec("nft", "add table ip probe").check();
        b.exec("nft", "add chain ip probe input { type filter hook input priority 0 ; }").check();
        b.exec("nft", "add rule ip probe input icmp type echo-request ip saddr 198.18.0.1 counter").check();
        b.exec("nft", "add rule ip probe input icmp type echo-request ip saddr 198.19.1.5 counter").check();

        try (PacketFilter masq = NfTablesRules.masquerade(nft, NETWORK, SUBNET, true)) {
            masq.ensure();
            ping(a, "198.19.1.5", "198.18.0.2");
            assertEquals(List.of(1L, 0L), echoRequestsBySource(b), "underlay-bound pod traffic is masqueraded");
            ping(a, "198.19.1.5", "198.19.2.1");
            assertEquals(List.of(1L, 1L), echoRequestsBySource(b), "overlay traffic keeps the pod address");
        }
    }

    private static void ping(NetnsFabric.Host from, String source, String target) {
        Cmd.Result r = from.exec("ping", "-n", "-c", "1", "-W", "2", "-I", source, target);
        assertTrue(r.ok(), r.commandLine() + ": " + r.stdout() + r.stderr());
    }

    /** Packet counts of b's two counters: from 198.18.0.1, from 198.19.1.5. */
    private static List<Long> echoRequestsBySource(NetnsFabric.Host b) {
        String listing = b.exec("nft", "list", "chain", "ip", "probe", "input").check().stdout();
        Matcher m = Pattern.compile("counter packets (\\d+)").matcher(listing);
        List<Long> counts = new java.util.ArrayList<>();
        while (m.find()) {
            counts.add(Long.parseLong(m.group(1)));
        }
        return counts;
    }
}
