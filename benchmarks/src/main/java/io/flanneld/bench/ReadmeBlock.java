package io.flanneld.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A block of a README that each {@code benchmarks/run} rewrites, kept between two marker lines. The first marked
 * block is replaced and the rest of the file is left as it was; a file without both markers gets the block inserted
 * before the {@code insertBefore} heading, or appended when that heading is absent too.
 *
 * @param insertBefore a heading line (e.g. "## Layout") before which a missing block goes, or null to append it
 */
record ReadmeBlock(String begin, String end, String insertBefore) {
    /** "Latest run" of benchmarks/README.md. */
    static final ReadmeBlock LATEST_RUN = new ReadmeBlock("<!-- latest-run:begin -->", "<!-- latest-run:end -->", "## VXLAN backend");
    /** "Performance" of the top-level README.md. */
    static final ReadmeBlock PERFORMANCE = new ReadmeBlock("<!-- performance:begin -->", "<!-- performance:end -->", "## Layout");

    ReadmeBlock {
        Objects.requireNonNull(begin, "begin");
        Objects.requireNonNull(end, "end");
    }

    /** Rewrites {@code file} with {@code block} as its marked block: see {@link #apply}. */
    void rewrite(Path file, String block) throws IOException {
        Files.writeString(file, apply(Files.readString(file), block));
    }

    /** {@code text} with {@code block} (stripped) between the markers, in place of what was there. */
    String apply(String text, String block) {
        String replacement = begin + "\n" + block.strip() + "\n" + end;
        if (text.contains(begin) && text.contains(end)) {
            return Pattern.compile(Pattern.quote(begin) + ".*?" + Pattern.quote(end), Pattern.DOTALL).matcher(text)
                    .replaceFirst(Matcher.quoteReplacement(replacement));
        }
        if (insertBefore != null && text.contains("\n" + insertBefore)) {
            int at = text.indexOf("\n" + insertBefore) + 1;
            return text.substring(0, at) + replacement + "\n\n" + text.substring(at);
        }
        return text.stripTrailing() + "\n\n" + replacement + "\n";
    }
}
