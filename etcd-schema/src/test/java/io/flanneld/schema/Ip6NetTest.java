package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link Ip6} and {@link Ip6Net}: parsing, Go's spelling, containment; the tests may use the JDK's parser as a reference. */
class Ip6NetTest {

    /** What Go's net.IP.String() prints for each address (RFC 5952; an IPv4-mapped address as its dotted quad). */
    @ParameterizedTest
    @CsvSource({
        "2001:0db8:0000:0000:0000:0000:0000:0001, 2001:db8::1",
        "2001:DB8::1, 2001:db8::1",
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
        "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "0:0:0:0:0:0:0:0, ::",
        "::1, ::1",
        "1::, 1::",
        "1:0:0:0:0:0:0:0, 1::",
        "2001:2:19:1::, 2001:2:19:1::",
        "2001:2:19:1:0:0:0:0, 2001:2:19:1::",
        "::ffff:198.18.0.1, 198.18.0.1",
        "198.18.0.1, 198.18.0.1",
        "::198.18.0.1, ::c612:1",
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff, ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        "1:0:1:0:1:0:1:0, 1:0:1:0:1:0:1:0",
    })
    void formatsAsGoPrints(String text, String go) {
        assertEquals(go, Ip6.parse(text).toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2:3:4:5:6:7:8",
        "12345::", "g::", "1:2:3:4:5:6:7:", ":1:2:3:4:5:6:7", "::1.2.3", "1:2:3:4:5:6:7:1.2.3.4", "1.2.3.4::", "fe80::1%eth0",
        "[::1]", "::1/64", " ::1", "::1 ", "localhost", "1.2.3.256", "::١"})
    void refusesWhatIsNoAddress(String text) {
        assertThrows(IllegalArgumentException.class, () -> Ip6.parse(text), text);
    }

    @Test
    void networks() {
        Ip6Net n = Ip6Net.parse("2001:2:19:1::/64");
        assertEquals("2001:2:19:1::/64", n.toString());
        assertEquals("2001:2:19:1::-64", n.keyForm());
        assertEquals(Ip6.parse("2001:2:19:1::1"), n.firstHost());
        assertEquals(Ip6.parse("2001:2:19:1:ffff:ffff:ffff:ffff"), n.lastAddress());
        assertEquals(BigInteger.ONE.shiftLeft(64), n.size());
        assertTrue(Ip6Net.parse("2001:2:19::/48").contains(n));
        assertFalse(n.contains(Ip6Net.parse("2001:2:19::/48")));
        assertTrue(n.overlaps(Ip6Net.parse("2001:2:19::/48")));
        assertFalse(n.overlaps(Ip6Net.parse("2001:2:19:2::/64")));
        assertEquals("::/0", Ip6Net.parse("::/0").toString());
        assertTrue(Ip6Net.parse("::/0").contains(Ip6.parse("ffff::1")));
        assertEquals(Ip6Net.parse("2001:2:19::/48"), Ip6Net.parse("2001:2:19::5/48", true), "host bits masked, as ParseCIDR does");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Ip6Net.parse("2001:2:19::5/48"));
        assertTrue(e.getMessage().contains("2001:2:19::/48"), e.getMessage());
        assertTrue(Ip6Net.parse("2001:2:19:1::/64").compareTo(Ip6Net.parse("2001:2:19:2::/64")) < 0);
        assertTrue(Ip6Net.parse("8000::/1").compareTo(Ip6Net.parse("7fff::/16")) > 0, "unsigned order");
        assertEquals(Ip6Net.parse("2001:2:19:0:8000::/65"), Ip6Net.containing(Ip6.parse("2001:2:19:0:8000::7"), 65));
    }

    @ParameterizedTest
    @ValueSource(strings = {"2001:2:19::", "2001:2:19::/129", "2001:2:19::/", "2001:2:19::/-1", "2001:2:19::/0048", "198.19.0.0/16",
        "/48", "2001:2:19::/4a"})
    void refusesWhatIsNoNetwork(String text) {
        assertThrows(IllegalArgumentException.class, () -> Ip6Net.parse(text, true), text);
    }

    @Test
    void arithmetic() {
        assertEquals(Ip6.parse("::1:0:0:0:0"), Ip6.parse("::ffff:ffff:ffff:ffff").plus(1), "carry into the upper half");
        assertEquals(Ip6.parse("::ffff:ffff:ffff:ffff"), Ip6.parse("::1:0:0:0:0").plus(-1), "borrow from the upper half");
        assertEquals(Ip6.ZERO, Ip6.parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").plus(1));
        Ip6 a = Ip6.parse("2001:2:19:1::7");
        assertEquals(a, Ip6.fromBigInteger(a.toBigInteger()));
        assertEquals(new BigInteger("20010002001900010000000000000007", 16), a.toBigInteger());
        assertEquals(a, Ip6.fromBytes(a.toBytes()));
    }

    // ---- properties ----

    @Provide
    Arbitrary<Ip6> addresses() {
        // Zero-rich groups, so that runs of zeros of every length and position are common.
        Arbitrary<Integer> group = Arbitraries.oneOf(Arbitraries.just(0), Arbitraries.just(0), Arbitraries.integers().between(0, 0xffff),
                Arbitraries.of(1, 0xffff, 0x19));
        return group.list().ofSize(8).map(g -> {
            long hi = 0;
            long lo = 0;
            for (int i = 0; i < 4; i++) {
                hi = (hi << 16) | g.get(i);
                lo = (lo << 16) | g.get(i + 4);
            }
            return new Ip6(hi, lo);
        });
    }

    @Property(tries = 3000)
    void parseOfFormatIsTheAddress(@ForAll("addresses") Ip6 address) {
        assertEquals(address, Ip6.parse(address.toString()));
    }

    @Property(tries = 3000)
    void formatIsCanonical(@ForAll("addresses") Ip6 address) {
        assertEquals(reference(address), address.toString());
    }

    @Property(tries = 3000)
    void parseAgreesWithTheJdk(@ForAll("addresses") Ip6 address) throws Exception {
        // Every spelling: the full one, with leading zeros, upper case.
        List<String> spellings = new ArrayList<>();
        StringBuilder full = new StringBuilder();
        StringBuilder padded = new StringBuilder();
        for (int g = 0; g < 8; g++) {
            full.append(g == 0 ? "" : ":").append(Integer.toHexString(address.group(g)));
            padded.append(g == 0 ? "" : ":").append(String.format("%04X", address.group(g)));
        }
        spellings.add(full.toString());
        spellings.add(padded.toString());
        spellings.add(address.toString());
        for (String s : spellings) {
            byte[] jdk = InetAddress.getByName(s).getAddress();
            if (jdk.length == 4) {
                // The JDK folds ::ffff:a.b.c.d into an IPv4 address.
                assertTrue(address.isIpv4Mapped(), s);
                assertEquals(Ip4.fromBytes(jdk), (int) address.lo(), s);
            } else {
                assertArrayEquals(jdk, Ip6.parse(s).toBytes(), s);
            }
            assertEquals(address, Ip6.parse(s), s);
        }
    }

    /** RFC 5952 by string search: the first longest run of two or more ":0" groups becomes "::". */
    static String reference(Ip6 address) {
        if (address.hi() == 0 && (address.lo() >>> 32) == 0xffff) {
            return Ip4.format((int) address.lo());
        }
        StringBuilder full = new StringBuilder(":");
        for (int g = 0; g < 8; g++) {
            full.append(Integer.toHexString(address.group(g))).append(':');
        }
        String s = full.toString();
        for (int run = 8; run >= 2; run--) {
            String zeros = ":" + "0:".repeat(run);
            int at = s.indexOf(zeros);
            if (at >= 0) {
                s = s.substring(0, at) + "::" + s.substring(at + zeros.length());
                break;
            }
        }
        if (s.startsWith(":") && !s.startsWith("::")) {
            s = s.substring(1);
        }
        if (s.endsWith(":") && !s.endsWith("::")) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    @Provide
    Arbitrary<Ip6Net> smallNets() {
        // Networks in ::/120 with long prefixes: every address they may hold can be listed.
        return Combinators.combine(Arbitraries.integers().between(0, 255), Arbitraries.integers().between(120, 128))
                .as((a, len) -> Ip6Net.containing(new Ip6(0, a), len));
    }

    @Property(tries = 2000)
    void containmentAndOverlapAgreeWithTheAddressSets(@ForAll("smallNets") Ip6Net a, @ForAll("smallNets") Ip6Net b,
                                                       @ForAll @IntRange(min = 0, max = 255) int ip) {
        assertEquals(members(a).contains((long) ip), a.contains(new Ip6(0, ip)));
        assertEquals(members(a).containsAll(members(b)), a.contains(b), a + " contains " + b);
        boolean intersect = members(a).stream().anyMatch(members(b)::contains);
        assertEquals(intersect, a.overlaps(b), a + " overlaps " + b);
        assertEquals(members(a).get(0) + 1, a.firstHost().lo());
        assertEquals((long) members(a).get(members(a).size() - 1), a.lastAddress().lo());
    }

    private static List<Long> members(Ip6Net n) {
        List<Long> out = new ArrayList<>();
        for (long v = n.lo(); v <= n.lastAddress().lo(); v++) {
            out.add(v);
        }
        return out;
    }

    @Property(tries = 1000)
    void netParseOfFormatIsTheNet(@ForAll("addresses") Ip6 address, @ForAll @IntRange(min = 0, max = 128) int length) {
        Ip6Net n = Ip6Net.containing(address, length);
        if (!n.address().isIpv4Mapped()) {
            assertEquals(n, Ip6Net.parse(n.toString()));
        }
        assertTrue(n.contains(address));
    }
}
