package io.flanneld.net;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Hex strings for byte-layout assertions; whitespace and '|' in expected layouts are only for readability. */
final class Hex {
    private Hex() {
    }

    static String of(ByteBuffer buffer) {
        ByteBuffer b = buffer.duplicate();
        StringBuilder s = new StringBuilder();
        while (b.hasRemaining()) {
            s.append(String.format("%02x", b.get() & 0xff));
        }
        return s.toString();
    }

    static String normalize(String layout) {
        return layout.replaceAll("[\\s|]", "").toLowerCase();
    }

    static ByteBuffer parse(String layout) {
        String hex = normalize(layout);
        ByteBuffer b = ByteBuffer.allocate(hex.length() / 2).order(ByteOrder.nativeOrder());
        for (int i = 0; i < hex.length(); i += 2) {
            b.put((byte) Integer.parseInt(hex.substring(i, i + 2), 16));
        }
        return b.flip();
    }
}
