package io.flanneld.daemon;

import io.flanneld.testkit.Cmd;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A ping from a pod's namespace running for as long as a fault lasts, 10 per second, counted per
 * sequence number: a packet is lost when no reply with its icmp_seq ever came. The very last one
 * sent may still be on its way when the run is stopped, so it is not counted either way.
 */
final class PingRun implements AutoCloseable {
    private static final Pattern REPLY = Pattern.compile("icmp_seq=(\\d+) ");
    private static final Pattern TRANSMITTED = Pattern.compile("(\\d+) packets transmitted");

    private final Process process;
    private final Path output;
    private final String what;

    /** The figures of one run: pings sent (the last one excluded) and lost. */
    record Result(long sent, long lost, String summary) {
    }

    private PingRun(Process process, Path output, String what) {
        this.process = process;
        this.output = output;
        this.what = what;
    }

    static PingRun start(String netns, String dst, Path output) {
        try {
            Files.createDirectories(output.toAbsolutePath().getParent());
            Process p = new ProcessBuilder("ip", "netns", "exec", netns, "ping", "-n", "-i", "0.1", "-W", "1", dst)
                    .redirectErrorStream(true).redirectOutput(output.toFile()).start();
            return new PingRun(p, output, netns + " -> " + dst);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** SIGINT (ping then prints its summary), and the count. */
    Result stop() throws InterruptedException {
        // `ip netns exec` execs ping, so this pid is ping's own.
        Cmd.run(Duration.ofSeconds(5), "kill", "-INT", Long.toString(process.pid()));
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new AssertionError("ping " + what + " did not stop on SIGINT");
        }
        String out;
        try {
            out = Files.readString(output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Matcher t = TRANSMITTED.matcher(out);
        if (!t.find()) {
            throw new AssertionError("no summary from ping " + what + ":\n" + out);
        }
        long transmitted = Long.parseLong(t.group(1));
        Set<Long> answered = new HashSet<>();
        Matcher r = REPLY.matcher(out);
        while (r.find()) {
            answered.add(Long.parseLong(r.group(1)));
        }
        long sent = Math.max(0, transmitted - 1);
        long lost = 0;
        for (long seq = 1; seq <= sent; seq++) {
            if (!answered.contains(seq)) {
                lost++;
            }
        }
        String summary = out.lines().filter(l -> l.contains("packets transmitted")).findFirst().orElse("");
        return new Result(sent, lost, summary);
    }

    @Override
    public void close() {
        if (process.isAlive()) {
            process.destroyForcibly();
        }
    }
}
