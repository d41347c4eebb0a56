package io.flanneld.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fault report: one line per fault test, rewritten after each one as target/fault-report.json
 * and target/fault-report.md (a Markdown table), so a run that stops half-way still leaves what it
 * measured. Starts empty in every test JVM.
 */
final class FaultReport {
    static final Path JSON = Path.of("target", "fault-report.json");
    static final Path MARKDOWN = Path.of("target", "fault-report.md");
    private static final List<Line> LINES = new ArrayList<>();

    private FaultReport() {
    }

    /**
     * One fault and what it did.
     *
     * @param fault short name of the fault
     * @param done what the test did
     * @param pingsSent pod-to-pod pings sent across the fault (10 per second)
     * @param pingsLost of those, the ones never answered
     * @param recoverySeconds seconds from the end of the fault to the promised state
     * @param recovered what "recovered" means for this fault
     * @param subnetsChanged whether any surviving host's subnet changed
     * @param other further figures, in words
     */
    record Line(String fault, String done, long pingsSent, long pingsLost, double recoverySeconds, String recovered,
                boolean subnetsChanged, String other) {
    }

    static synchronized void add(Line line) {
        LINES.add(line);
        try {
            Files.createDirectories(JSON.toAbsolutePath().getParent());
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(JSON.toFile(), LINES);
            Files.writeString(MARKDOWN, markdown(LINES));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.out.println("fault report: " + line);
    }

    static String markdown(List<Line> lines) {
        StringBuilder sb = new StringBuilder();
        sb.append("| fault | what was done | pings lost / sent | recovery | subnets changed | other |\n");
        sb.append("| --- | --- | ---: | --- | --- | --- |\n");
        for (Line l : lines) {
            sb.append("| ").append(l.fault())
                    .append(" | ").append(l.done())
                    .append(" | ").append(l.pingsLost()).append(" / ").append(l.pingsSent())
                    .append(" | ").append(String.format(java.util.Locale.ROOT, "%.1f s", l.recoverySeconds())).append(" to ").append(l.recovered())
                    .append(" | ").append(l.subnetsChanged() ? "**yes**" : "no")
                    .append(" | ").append(l.other())
                    .append(" |\n");
        }
        return sb.toString();
    }
}
