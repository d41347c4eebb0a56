package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.schema.Ip4Net;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The nft text the daemon writes for EnableNFTables and how it reads listings back; no nft is run here. */
class NfTablesScriptTest {
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final Ip4Net SUBNET = Ip4Net.parse("198.19.1.0/24");

    @Test
    void masqueradeScriptIsFlannelsChainInOneTransaction() {
        String script = NfTablesScript.install(NfTablesScript.POSTRTG, NfTablesScript.masqueradeRules(NETWORK, SUBNET, true));

        assertEquals("""
                add table ip flannel-ipv4 { comment "rules for flannel-ipv4" ; }
                add chain ip flannel-ipv4 postrtg
                flush chain ip flannel-ipv4 postrtg
                delete chain ip flannel-ipv4 postrtg
                add chain ip flannel-ipv4 postrtg { type nat hook postrouting priority 100 ; comment "chain to manage traffic masquerading by flannel" ; }
                add rule ip flannel-ipv4 postrtg meta mark 0x4000 return
                add rule ip flannel-ipv4 postrtg ip saddr 198.19.1.0/24 ip daddr 198.19.0.0/16 return
                add rule ip flannel-ipv4 postrtg ip saddr 198.19.0.0/16 ip daddr 198.19.1.0/24 return
                add rule ip flannel-ipv4 postrtg ip saddr != 198.19.1.0/24 ip daddr 198.19.0.0/16 return
                add rule ip flannel-ipv4 postrtg ip saddr 198.19.0.0/16 ip daddr != 224.0.0.0/4 masquerade fully-random
                add rule ip flannel-ipv4 postrtg ip saddr != 198.19.0.0/16 ip daddr 198.19.0.0/16 masquerade fully-random
                """, script);
    }

    @Test
    void withoutFullyRandomTheMasqueradeRulesHaveNoFlag() {
        assertEquals(List.of(
                "meta mark 0x4000 return",
                "ip saddr 198.19.1.0/24 ip daddr 198.19.0.0/16 return",
                "ip saddr 198.19.0.0/16 ip daddr 198.19.1.0/24 return",
                "ip saddr != 198.19.1.0/24 ip daddr 198.19.0.0/16 return",
                "ip saddr 198.19.0.0/16 ip daddr != 224.0.0.0/4 masquerade",
                "ip saddr != 198.19.0.0/16 ip daddr 198.19.0.0/16 masquerade"),
                NfTablesScript.masqueradeRules(NETWORK, SUBNET, false));
    }

    @Test
    void forwardScriptAcceptsFromAndToTheNetwork() {
        String script = NfTablesScript.install(NfTablesScript.FORWARD, NfTablesScript.forwardRules(Ip4Net.parse("10.244.0.0/16")));

        assertEquals("""
                add table ip flannel-ipv4 { comment "rules for flannel-ipv4" ; }
                add chain ip flannel-ipv4 forward
                flush chain ip flannel-ipv4 forward
                delete chain ip flannel-ipv4 forward
                add chain ip flannel-ipv4 forward { type filter hook forward priority 0 ; comment "chain to accept flannel traffic" ; }
                add rule ip flannel-ipv4 forward ip saddr 10.244.0.0/16 accept
                add rule ip flannel-ipv4 forward ip daddr 10.244.0.0/16 accept
                """, script);
    }

    /** flannel's IPv6 table: {@code ip6 flannel-ipv6}, the same chains, ip6 matches and ff00::/8 (its addMasqRules). */
    @Test
    void ipv6ScriptsAreFlannelsIp6Table() {
        String masq = NfTablesScript.install(NfTablesScript.POSTRTG6, NfTablesScript.masqueradeRules6(
                io.flanneld.schema.Ip6Net.parse("2001:2:19::/48"), io.flanneld.schema.Ip6Net.parse("2001:2:19:1::/64"), true));
        assertEquals("""
                add table ip6 flannel-ipv6 { comment "rules for flannel-ipv6" ; }
                add chain ip6 flannel-ipv6 postrtg
                flush chain ip6 flannel-ipv6 postrtg
                delete chain ip6 flannel-ipv6 postrtg
                add chain ip6 flannel-ipv6 postrtg { type nat hook postrouting priority 100 ; comment "chain to manage traffic masquerading by flannel" ; }
                add rule ip6 flannel-ipv6 postrtg meta mark 0x4000 return
                add rule ip6 flannel-ipv6 postrtg ip6 saddr 2001:2:19:1::/64 ip6 daddr 2001:2:19::/48 return
                add rule ip6 flannel-ipv6 postrtg ip6 saddr 2001:2:19::/48 ip6 daddr 2001:2:19:1::/64 return
                add rule ip6 flannel-ipv6 postrtg ip6 saddr != 2001:2:19:1::/64 ip6 daddr 2001:2:19::/48 return
                add rule ip6 flannel-ipv6 postrtg ip6 saddr 2001:2:19::/48 ip6 daddr != ff00::/8 masquerade fully-random
                add rule ip6 flannel-ipv6 postrtg ip6 saddr != 2001:2:19::/48 ip6 daddr 2001:2:19::/48 masquerade fully-random
                """, masq);
        String forward = NfTablesScript.install(NfTablesScript.FORWARD6,
                NfTablesScript.forwardRules6(io.flanneld.schema.Ip6Net.parse("2001:2:19::/48")));
        assertEquals("""
                add table ip6 flannel-ipv6 { comment "rules for flannel-ipv6" ; }
                add chain ip6 flannel-ipv6 forward
                flush chain ip6 flannel-ipv6 forward
                delete chain ip6 flannel-ipv6 forward
                add chain ip6 flannel-ipv6 forward { type filter hook forward priority 0 ; comment "chain to accept flannel traffic" ; }
                add rule ip6 flannel-ipv6 forward ip6 saddr 2001:2:19::/48 accept
                add rule ip6 flannel-ipv6 forward ip6 daddr 2001:2:19::/48 accept
                """, forward);
        assertEquals("delete table ip6 flannel-ipv6\n", NfTablesScript.removeTable(NfTablesScript.FORWARD6));
    }

    @Test
    void removalWorksWhateverExistsAndTheTableGoesOnlyOnRequest() {
        assertEquals("""
                add table ip flannel-ipv4
                add chain ip flannel-ipv4 postrtg
                flush chain ip flannel-ipv4 postrtg
                delete chain ip flannel-ipv4 postrtg
                """, NfTablesScript.remove(NfTablesScript.POSTRTG));
        assertEquals("delete table ip flannel-ipv4\n", NfTablesScript.removeTable());
    }

    @Test
    void fullyRandomProbeUsesAThrowawayTable() {
        assertEquals("""
                add table ip flannel-ipv4-probe
                add chain ip flannel-ipv4-probe probe { type nat hook postrouting priority 100 ; }
                add rule ip flannel-ipv4-probe probe ip saddr != 127.0.0.1 masquerade fully-random
                """, NfTablesScript.fullyRandomProbe());
    }

    private static final String TABLE_LISTING = """
            table ip flannel-ipv4 {
            \tcomment "rules for flannel-ipv4"
            \tchain postrtg {
            \t\tcomment "chain to manage traffic masquerading by flannel"
            \t\ttype nat hook postrouting priority srcnat; policy accept;
            \t\tmeta mark 0x00004000 return
            \t\tip saddr 198.19.1.0/24 ip daddr 198.19.0.0/16 return
            \t}

            \tchain forward {
            \t\tcomment "chain to accept flannel traffic"
            \t\ttype filter hook forward priority filter; policy accept;
            \t\tip saddr 198.19.0.0/16 accept
            \t}
            }
            """;

    @Test
    void chainBodyIsTheChainsLinesInOrder() {
        assertEquals(List.of(
                "comment \"chain to manage traffic masquerading by flannel\"",
                "type nat hook postrouting priority srcnat; policy accept;",
                "meta mark 0x00004000 return",
                "ip saddr 198.19.1.0/24 ip daddr 198.19.0.0/16 return"),
                NfTablesScript.chainBody(TABLE_LISTING, "postrtg"));
        assertEquals(List.of(
                "comment \"chain to accept flannel traffic\"",
                "type filter hook forward priority filter; policy accept;",
                "ip saddr 198.19.0.0/16 accept"),
                NfTablesScript.chainBody(TABLE_LISTING, "forward"));
        assertEquals(List.of(), NfTablesScript.chainBody(TABLE_LISTING, "other"));
    }

    @Test
    void aChainIsIntactOnlyWhenPresentAndListingAsInstalled() {
        List<String> installed = NfTablesScript.chainBody(TABLE_LISTING, "forward");
        assertTrue(NfTablesScript.intact(Optional.of(TABLE_LISTING), "forward", installed));
        assertFalse(NfTablesScript.intact(Optional.empty(), "forward", installed), "table or chain deleted");
        String flushed = TABLE_LISTING.replace("\t\tip saddr 198.19.0.0/16 accept\n", "");
        assertFalse(NfTablesScript.intact(Optional.of(flushed), "forward", installed), "rule missing");
        String added = TABLE_LISTING.replace("\t\tip saddr 198.19.0.0/16 accept\n",
                "\t\tip saddr 198.19.0.0/16 accept\n\t\tdrop\n");
        assertFalse(NfTablesScript.intact(Optional.of(added), "forward", installed), "rule added");
        String redeclared = TABLE_LISTING.replace("policy accept;\n\t\tip saddr", "policy drop;\n\t\tip saddr");
        assertFalse(NfTablesScript.intact(Optional.of(redeclared), "forward", installed), "policy changed");
    }

    @Test
    void aTableIsEmptyWhenNothingButItsCommentIsLeft() {
        assertFalse(NfTablesScript.tableIsEmpty(TABLE_LISTING));
        assertTrue(NfTablesScript.tableIsEmpty("table ip flannel-ipv4 {\n\tcomment \"rules for flannel-ipv4\"\n}\n"));
        assertTrue(NfTablesScript.tableIsEmpty("table ip flannel-ipv4 {\n}\n"));
        assertFalse(NfTablesScript.tableIsEmpty("table ip flannel-ipv4 {\n\tset peers {\n\t\ttype ipv4_addr\n\t}\n}\n"));
    }
}
