package io.flanneld.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/** Runs every check of {@code doctor} on a snapshot, in the order an operator reads them, and prints the answer. */
final class DoctorReport {
    private static final ObjectMapper JSON = new ObjectMapper();

    private DoctorReport() {
    }

    /** The daemon, forwarding, the data path, the pod side, then the probe: each a pure function of {@code s}. */
    static List<Check> checks(DoctorSnapshot s) {
        NodeFacts f = NodeFacts.of(s);
        List<Check> out = new ArrayList<>(DaemonChecks.all(s, f));
        out.addAll(ForwardingChecks.all(s, f));
        out.addAll(DataPathChecks.all(s, f));
        out.addAll(PodSideChecks.all(s, f));
        DataPathChecks.probe(s, f).ifPresent(out::add);
        return out;
    }

    /** 0 when nothing failed, 1 otherwise. */
    static int exitCode(List<Check> checks) {
        return checks.stream().anyMatch(Check::failed) ? 1 : 0;
    }

    /** One line per check ({@code ok}, {@code warn}, {@code FAIL}), its details indented below it, then the count. */
    static String text(List<Check> checks) {
        StringBuilder s = new StringBuilder();
        for (Check c : checks) {
            s.append(String.format("%-4s %s: %s", c.status().label, c.name(), c.summary()));
            c.fix().ifPresent(fix -> s.append("; fix: ").append(fix));
            s.append('\n');
            for (String d : c.details()) {
                s.append("       ").append(d).append('\n');
            }
        }
        s.append(String.format("doctor: %d ok, %d warn, %d FAIL%n", count(checks, Check.Status.OK), count(checks, Check.Status.WARN),
                count(checks, Check.Status.FAIL)));
        return s.toString();
    }

    /** {@code {"ok":…,"checks":[{"name","status","summary","details","fix"}]}}, status being ok, warn or FAIL. */
    static String json(List<Check> checks) {
        ObjectNode root = JSON.createObjectNode();
        root.put("ok", exitCode(checks) == 0);
        ArrayNode array = root.putArray("checks");
        for (Check c : checks) {
            ObjectNode o = array.addObject();
            o.put("name", c.name());
            o.put("status", c.status().label);
            o.put("summary", c.summary());
            ArrayNode details = o.putArray("details");
            c.details().forEach(details::add);
            c.fix().ifPresent(fix -> o.put("fix", fix));
        }
        return root.toPrettyString() + System.lineSeparator();
    }

    private static long count(List<Check> checks, Check.Status status) {
        return checks.stream().filter(c -> c.status() == status).count();
    }
}
