package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.function.Function;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.statistics.Statistics;

/**
 * Whatever the kernel (or anything that can write to our netlink socket) sends, splitting a datagram and decoding each
 * message gives a value, an empty "not ours", or a {@link MalformedMessageException} saying what is wrong; an error
 * acknowledgement gives a {@link NetlinkException}. Never another exception: that would be an unchecked read.
 * Inputs: random bytes, and valid kernel replies with bytes overwritten, cut short or padded.
 */
class NetlinkPropertiesTest {
    private static final List<String> REPLIES = List.of(CodecDecodingTest.VXLAN_LINK,
            "2d000000 1000 0000 00000000 00000000 00 00 fe01 09000000 91100000 00000000 0d00 0300 666c616e6e656c3000",
            "3c000000 1800 0200 00000000 00000000 02 18 00 00 fe 03 00 01 04000000"
                    + "0800 0f00 fe000000 0800 0100 c6130200 0800 0500 c6130200 0800 0400 05000000",
            "30000000 1c00 0200 00000000 00000000 07 00 0000 05000000 8000 02 00 0a00 0200 8e1f00aabbcc 0000 0800 0100 c6120002",
            "30000000 1c00 0200 00000000 00000000 02 00 0000 05000000 8000 00 01 0800 0100 c6130200 0a00 0200 8e1f00aabbcc 0000",
            "28000000 1400 0200 00000000 00000000 02 20 80 00 05000000 0800 0100 c6130100 0800 0200 c6130100",
            "38000000 0200 0003 09000000 00000000 edffffff 3c000000 1800 0506 09000000 00000000"
                    + "1400 0100 4e6f2073756368206465766963652100",
            "14000000 0300 0200 07000000 00000000 00000000");
    private static final List<Function<NetlinkMessage, ?>> DECODERS = List.of(LinkCodec::decode, RouteCodec::decode,
            NeighbourCodec::decodeFdb, NeighbourCodec::decodeNeighbour, AddressCodec::decode);

    private static byte[] bytes(String hex) {
        ByteBuffer b = Hex.parse(hex);
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Provide
    Arbitrary<byte[]> mutatedReplies() {
        Arbitrary<byte[]> reply = Arbitraries.of(REPLIES).map(NetlinkPropertiesTest::bytes);
        Arbitrary<List<Integer>> writes = Arbitraries.integers().between(0, Integer.MAX_VALUE).list().ofMinSize(1).ofMaxSize(4);
        Arbitrary<Integer> resize = Arbitraries.oneOf(Arbitraries.just(0), Arbitraries.integers().between(-40, 16));
        Arbitrary<Boolean> twice = Arbitraries.of(false, true);
        return Combinators.combine(reply, writes, resize, twice).as((r, w, size, both) -> {
            byte[] b = both ? concat(r, r) : r.clone();
            for (int x : w) {
                b[x % b.length] = (byte) (x >>> 16);
            }
            return java.util.Arrays.copyOf(b, Math.max(0, b.length + size));
        });
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Property(tries = 5000)
    void mutatedRepliesDecodeOrAreRejectedClearly(@ForAll("mutatedReplies") byte[] datagram) {
        Statistics.collect(decodeAll(datagram));
    }

    @Property(tries = 3000)
    void randomBytesDecodeOrAreRejectedClearly(@ForAll @Size(max = 300) byte[] datagram) {
        decodeAll(datagram);
    }

    /** "split rejected", or how many messages were decoded; a MalformedMessageException must say what is wrong. */
    private static String decodeAll(byte[] datagram) {
        List<NetlinkMessage> messages;
        try {
            messages = NetlinkMessage.split(ByteBuffer.wrap(datagram).order(ByteOrder.nativeOrder()));
        } catch (MalformedMessageException e) {
            assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
            return "split rejected";
        }
        int decoded = 0;
        for (NetlinkMessage m : messages) {
            for (Function<NetlinkMessage, ?> decoder : DECODERS) {
                try {
                    Object value = decoder.apply(m);
                    decoded += value instanceof java.util.Optional<?> o && o.isEmpty() ? 0 : 1;
                } catch (MalformedMessageException e) {
                    assertTrue(e.getMessage() != null && !e.getMessage().isBlank());
                }
            }
            try {
                NetlinkSocket.throwIfError(m, () -> "request");
            } catch (NetlinkException | MalformedMessageException expected) {
                // an error acknowledgement, or a broken one said so
            }
        }
        return decoded > 0 ? "some decoded" : "none decoded";
    }
}
