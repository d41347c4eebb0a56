package io.flanneld.daemon;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One line of {@code flanneld-java doctor}'s answer: what was checked, how it stands, what was seen (the evidence,
 * in the summary and, for a list such as a diff, one detail per entry) and, for a {@code warn} or a {@code FAIL}, the
 * command that fixes it.
 *
 * @param name    what was checked: {@code daemon}, {@code forward rules}, {@code data path}, …
 * @param summary the finding with its evidence, one sentence
 * @param details one entry per item of a list (a missing route, a stale ARP entry, a peer's probe)
 * @param fix     what to run or change
 */
record Check(String name, Status status, String summary, List<String> details, Optional<String> fix) {
    enum Status {
        OK("ok"), WARN("warn"), FAIL("FAIL");

        final String label;

        Status(String label) {
            this.label = label;
        }
    }

    Check {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(summary, "summary");
        details = List.copyOf(details);
        Objects.requireNonNull(fix, "fix");
    }

    static Check ok(String name, String summary) {
        return new Check(name, Status.OK, summary, List.of(), Optional.empty());
    }

    static Check warn(String name, String summary, String fix) {
        return new Check(name, Status.WARN, summary, List.of(), Optional.ofNullable(fix));
    }

    static Check fail(String name, String summary, String fix) {
        return new Check(name, Status.FAIL, summary, List.of(), Optional.ofNullable(fix));
    }

    Check withDetails(List<String> more) {
        return new Check(name, status, summary, more, fix);
    }

    boolean failed() {
        return status == Status.FAIL;
    }
}
