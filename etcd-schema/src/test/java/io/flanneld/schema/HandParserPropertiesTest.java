package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * {@link Ip4#parse} and {@link EtcdKeys#parseSubnetName} are hand loops because every listed or watched lease goes
 * through them. They must accept and reject exactly what the plain definitions below do (split and check every part;
 * a regular expression plus "formats back to the same text"), on inputs made of the characters that matter.
 */
class HandParserPropertiesTest {
    private static final Pattern SUBNET_NAME = Pattern.compile("(\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3})-(\\d{1,2})");

    @Property(tries = 5000)
    void ip4ParseAgreesWithTheDefinition(@ForAll("addressLike") String text) {
        String expected = outcome(() -> definitionIp4(text));
        String actual = outcome(() -> Ip4.parse(text));
        Statistics.collect(expected.startsWith("error") ? "rejected" : "accepted");
        // Both outcomes must be exercised often, or agreement would prove little.
        Statistics.coverage(c -> {
            c.check("accepted").percentage(p -> p > 10);
            c.check("rejected").percentage(p -> p > 10);
        });
        assertEquals(expected, actual, text);
    }

    @Property(tries = 5000)
    void subnetNameParsingAgreesWithTheDefinition(@ForAll("subnetNameLike") String name) {
        Optional<Ip4Net> expected = definitionSubnetName(name);
        Statistics.collect(expected.isPresent() ? "accepted" : "rejected");
        Statistics.coverage(c -> {
            c.check("accepted").percentage(p -> p > 10);
            c.check("rejected").percentage(p -> p > 10);
        });
        assertEquals(expected, EtcdKeys.parseSubnetName(name), name);
    }

    @Provide
    Arbitrary<String> addressLike() {
        Arbitrary<String> octet = Arbitraries.oneOf(Arbitraries.integers().between(0, 300).map(String::valueOf),
                Arbitraries.strings().withChars("0123456789.- a").ofMaxLength(4));
        Arbitrary<String> quad = Combinators.combine(octet, octet, octet, octet).as((a, b, c, d) -> a + "." + b + "." + c + "." + d);
        return Arbitraries.oneOf(Arbitraries.integers().map(Ip4::format), quad,
                Arbitraries.strings().withChars("0123456789.").ofMaxLength(18));
    }

    @Provide
    Arbitrary<String> subnetNameLike() {
        Arbitrary<String> octet = Arbitraries.oneOf(Arbitraries.integers().between(0, 300).map(String::valueOf),
                Arbitraries.of("0", "00", "01", "007", "255", "256", ""),
                Arbitraries.strings().withChars("0123456789.-").ofMaxLength(4));
        Arbitrary<String> length = Arbitraries.oneOf(Arbitraries.integers().between(0, 40).map(String::valueOf),
                Arbitraries.of("024", "08", "", "-1", "24-", "2a"));
        Arbitrary<String> name = Combinators.combine(octet, octet, octet, octet, length)
                .as((a, b, c, d, l) -> a + "." + b + "." + c + "." + d + "-" + l);
        Arbitrary<String> aligned = Combinators.combine(Arbitraries.integers(), Arbitraries.integers().between(0, 32))
                .as((address, len) -> Ip4.format(address & Ip4.mask(len)) + "-" + len);
        return Arbitraries.oneOf(name, aligned, Arbitraries.strings().withChars("0123456789.-").ofMaxLength(20));
    }

    private static int definitionIp4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: \"" + text + "\"");
        }
        int value = 0;
        for (String part : parts) {
            if (part.isEmpty() || part.length() > 3 || !part.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IllegalArgumentException("not an IPv4 address: \"" + text + "\"");
            }
            int octet = Integer.parseInt(part);
            if (octet > 255) {
                throw new IllegalArgumentException("not an IPv4 address: \"" + text + "\" (octet " + octet + " > 255)");
            }
            value = (value << 8) | octet;
        }
        return value;
    }

    private static Optional<Ip4Net> definitionSubnetName(String name) {
        Matcher m = SUBNET_NAME.matcher(name);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            Ip4Net subnet = new Ip4Net(definitionIp4(m.group(1)), Integer.parseInt(m.group(2)));
            return name.equals(EtcdKeys.subnetName(subnet)) ? Optional.of(subnet) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static String outcome(java.util.function.IntSupplier parse) {
        try {
            return "value " + parse.getAsInt();
        } catch (IllegalArgumentException e) {
            return "error " + e.getMessage();
        }
    }
}
