package io.flanneld.schema;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Values someone else wrote to etcd, close to valid: real configs, leases and subnet key names with characters
 * deleted, inserted or replaced, and field values swapped for any other JSON value. Each parse gives a value that
 * keeps the type's invariants, or the module's own named exception with a message; nothing else escapes. (Purely
 * random strings, in {@link MalformedInputPropertiesTest}, rarely get past the JSON syntax check; these do.)
 */
class MutatedInputPropertiesTest {
    private static final List<String> CONFIGS = List.of(
            "{\"Network\":\"10.244.0.0/16\",\"SubnetLen\":24,\"SubnetMin\":\"10.244.10.0\",\"SubnetMax\":\"10.244.99.0\",\"Backend\":{\"Type\":\"vxlan\",\"VNI\":1,\"Port\":8472,\"DirectRouting\":true}}",
            "{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"udp\",\"Port\":8285}}",
            "{\"Network\":\"198.19.0.0/28\",\"SubnetLen\":30,\"Backend\":{\"Type\":\"alloc\"}}");
    private static final List<String> LEASES = List.of(
            "{\"PublicIP\":\"198.18.0.2\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VNI\":1,\"VtepMAC\":\"8e:1f:00:aa:bb:cc\"}}",
            "{\"PublicIP\":\"198.18.0.3\",\"BackendType\":\"udp\"}",
            "{\"PublicIP\":\"192.0.2.9\"}");
    private static final List<String> KEY_NAMES = List.of("198.19.7.0-24", "10.244.0.0-16", "0.0.0.0-0", "255.255.255.252-30");
    /** Replacements that stress the decoders: wrong types, out-of-range numbers, empty and odd strings, nesting. */
    private static final List<String> VALUES = List.of("null", "true", "0", "-1", "33", "4294967296", "1e400", "1.5", "\"\"",
            "\"10.244.0.0/33\"", "\"300.1.1.1\"", "\"198.19.0.0/16\"", "\"vxlan\"", "[]", "{}", "[1,2]", "{\"Type\":null}",
            "\"\\u0000\"", "\"8e:1f:00:aa:bb\"", "99999999999999999999");
    private static final String SPECIAL = "{}[]\":,.-/0123456789e\\ \u0000\u00e9";

    @Provide
    Arbitrary<String> mutatedConfigs() {
        return mutations(Arbitraries.of(CONFIGS));
    }

    @Provide
    Arbitrary<String> mutatedLeases() {
        return mutations(Arbitraries.of(LEASES));
    }

    @Provide
    Arbitrary<String> mutatedKeyNames() {
        return mutations(Arbitraries.of(KEY_NAMES));
    }

    /** A valid sample, then one to three edits: delete, insert or replace a character, or swap a value for another. */
    private static Arbitrary<String> mutations(Arbitrary<String> samples) {
        Arbitrary<Integer> position = Arbitraries.integers().between(0, Integer.MAX_VALUE);
        Arbitrary<Character> special = Arbitraries.of(SPECIAL.chars().mapToObj(c -> (char) c).toList());
        Arbitrary<Integer> kind = Arbitraries.integers().between(0, 3);
        Arbitrary<String> value = Arbitraries.of(VALUES);
        Arbitrary<Edit> edit = Combinators.combine(kind, position, special, value).as(Edit::new);
        return Combinators.combine(samples, edit.list().ofMinSize(1).ofMaxSize(3)).as((s, edits) -> {
            String out = s;
            for (Edit e : edits) {
                out = e.apply(out);
            }
            return out;
        });
    }

    record Edit(int kind, int position, char c, String value) {
        String apply(String s) {
            if (s.isEmpty()) {
                return String.valueOf(c);
            }
            int at = position % s.length();
            return switch (kind) {
                case 0 -> s.substring(0, at) + s.substring(at + 1);
                case 1 -> s.substring(0, at) + c + s.substring(at);
                case 2 -> s.substring(0, at) + c + s.substring(at + 1);
                default -> replaceValue(s, at);
            };
        }

        /** Replaces the JSON value after the n-th colon (n chosen by position) with {@link #value}. */
        private String replaceValue(String s, int at) {
            int colon = s.indexOf(':', at);
            if (colon < 0) {
                colon = s.indexOf(':');
            }
            if (colon < 0) {
                return s;
            }
            int end = colon + 1;
            int depth = 0;
            boolean inString = false;
            while (end < s.length()) {
                char ch = s.charAt(end);
                if (inString) {
                    inString = ch != '"' || s.charAt(end - 1) == '\\';
                } else if (ch == '"') {
                    inString = true;
                } else if (ch == '{' || ch == '[') {
                    depth++;
                } else if (ch == '}' || ch == ']') {
                    if (depth == 0) {
                        break;
                    }
                    depth--;
                } else if (ch == ',' && depth == 0) {
                    break;
                }
                end++;
            }
            return s.substring(0, colon + 1) + value + s.substring(end);
        }
    }

    @Property(tries = 3000)
    void mutatedConfigsParseToAValidConfigOrANamedError(@ForAll("mutatedConfigs") String json) {
        try {
            NetworkConfig config = ConfigCodec.parse(json);
            assertTrue(config.subnetLen() >= config.network().prefixLength() && config.subnetLen() <= 30, json);
            assertTrue(config.subnetMin() <= config.subnetMax(), json);
            assertTrue(config.subnetCount() >= 1, json);
            Statistics.collect("valid");
        } catch (ConfigException e) {
            assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "an error says what is wrong");
            Statistics.collect("rejected");
        }
        bothOutcomesCommon();
    }

    @Property(tries = 3000)
    void mutatedLeasesParseToAttributesOrANamedError(@ForAll("mutatedLeases") String json) {
        try {
            LeaseAttrs attrs = LeaseCodec.parse(json);
            // What is read is what would be written back: the value round-trips through the codec.
            assertEquals(attrs, LeaseCodec.parse(LeaseCodec.toJson(attrs)), json);
            Statistics.collect("valid");
        } catch (MalformedLeaseException e) {
            assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "an error says what is wrong");
            Statistics.collect("rejected");
        }
        bothOutcomesCommon();
    }

    @Property(tries = 3000)
    void mutatedSubnetKeysParseToTheirOwnNameOrNothing(@ForAll("mutatedKeyNames") String name) {
        Optional<Ip4Net> subnet = EtcdKeys.defaults().parseSubnetKey(EtcdKeys.DEFAULT_PREFIX + "/subnets/" + name);
        // A key is only taken for a subnet if it is exactly that subnet's canonical name.
        subnet.ifPresent(s -> assertEquals(name, EtcdKeys.subnetName(s)));
        Statistics.collect(subnet.isPresent() ? "subnet" : "not a subnet key");
    }

    /** The mutations must keep both outcomes common, or the property proves less than it says. */
    private static void bothOutcomesCommon() {
        Statistics.coverage(c -> {
            c.check("valid").percentage(p -> p > 5);
            c.check("rejected").percentage(p -> p > 5);
        });
    }
}
