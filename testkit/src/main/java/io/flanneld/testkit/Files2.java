package io.flanneld.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/** Small file helpers shared by the kit. */
final class Files2 {
    private Files2() {
    }

    /** Deletes {@code dir} and everything under it except the entries named in {@code keep} at its top level. */
    static void deleteTree(Path dir, String... keep) {
        if (!Files.exists(dir)) {
            return;
        }
        List<Path> all = new ArrayList<>();
        try (Stream<Path> s = Files.walk(dir)) {
            s.forEach(all::add);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
        all.sort(Comparator.reverseOrder());
        for (Path p : all) {
            if (keep.length > 0 && (p.equals(dir) || isKept(dir, p, keep))) {
                continue;
            }
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete " + p, e);
            }
        }
    }

    private static boolean isKept(Path dir, Path p, String[] keep) {
        for (String k : keep) {
            if (p.startsWith(dir.resolve(k))) {
                return true;
            }
        }
        return false;
    }

    /** The text of {@code file} from byte {@code offset} on, or "" if it does not exist. */
    static String readFrom(Path file, long offset) {
        try {
            if (!Files.exists(file)) {
                return "";
            }
            byte[] b = Files.readAllBytes(file);
            int from = (int) Math.min(Math.max(offset, 0), b.length);
            return new String(b, from, b.length - from, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /** The last {@code lines} lines of {@code text}. */
    static String tailLines(String text, int lines) {
        String[] all = text.split("\n", -1);
        int from = Math.max(0, all.length - lines);
        return String.join("\n", java.util.Arrays.copyOfRange(all, from, all.length));
    }

    static long size(Path file) {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }

    static void append(Path file, String text) throws IOException {
        Files.writeString(file, text, StandardCharsets.UTF_8,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    }
}
