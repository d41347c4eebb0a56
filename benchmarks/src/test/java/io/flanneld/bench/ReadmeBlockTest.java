package io.flanneld.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README block rewriting: exactly the marked block changes; a missing block is inserted or appended. */
class ReadmeBlockTest {
    private final ReadmeBlock block = new ReadmeBlock("<!-- b -->", "<!-- e -->", "## Next");

    @Test
    void replacesOnlyTheFirstMarkedBlock() {
        String text = "# t\n\nbefore\n<!-- b -->\nold\nlines\n<!-- e -->\nafter\n<!-- b -->\nsecond\n<!-- e -->\n";
        assertEquals("# t\n\nbefore\n<!-- b -->\nnew\n<!-- e -->\nafter\n<!-- b -->\nsecond\n<!-- e -->\n",
                block.apply(text, "\n\nnew\n\n"));
    }

    @Test
    void blockTextIsTakenLiterally() {
        assertEquals("<!-- b -->\ncosts $1 \\ $2\n<!-- e -->", block.apply("<!-- b -->\n<!-- e -->", "costs $1 \\ $2"));
    }

    @Test
    void missingBlockGoesBeforeTheHeading() {
        assertEquals("# t\n\nintro\n<!-- b -->\nnew\n<!-- e -->\n\n## Next\n\nrest\n",
                block.apply("# t\n\nintro\n## Next\n\nrest\n", "new"));
    }

    @Test
    void missingBlockAndHeadingAppendsTheBlock() {
        assertEquals("# t\n\nintro\n\n<!-- b -->\nnew\n<!-- e -->\n", block.apply("# t\n\nintro\n\n\n", "new"));
        assertEquals("x\n## Next\n\n<!-- b -->\nnew\n<!-- e -->\n",
                new ReadmeBlock("<!-- b -->", "<!-- e -->", null).apply("x\n## Next\n", "new"));
    }

    @Test
    void rewriteIsIdempotentOnAFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("README.md");
        Files.writeString(file, "# t\n\n## Next\n");
        block.rewrite(file, "one");
        String once = Files.readString(file);
        block.rewrite(file, "one");
        assertEquals(once, Files.readString(file));
        block.rewrite(file, "two");
        assertEquals(once.replace("one", "two"), Files.readString(file));
    }
}
