package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A network namespace made for one test with `ip netns add fjnl-<random>`, removed by {@link #close()}. Test code may
 * use `ip`/`bridge` to prepare and to check; the module under test may not. Every command has a time limit.
 */
final class ScratchNamespace implements AutoCloseable {
    private static final long COMMAND_TIMEOUT_SECONDS = 10;

    final String name;

    private ScratchNamespace(String name) {
        this.name = name;
    }

    static ScratchNamespace create(String role) {
        String suffix = Long.toString(ThreadLocalRandom.current().nextLong(1L << 40), 36);
        String name = "fjnl-" + role + "-" + suffix;
        run("ip", "netns", "add", name);
        ScratchNamespace ns = new ScratchNamespace(name);
        ns.ip("link", "set", "lo", "up");
        return ns;
    }

    /** Runs `ip -n NAME args...` and returns its stdout; fails the test if it fails. */
    String ip(String... args) {
        List<String> command = new ArrayList<>(List.of("ip", "-n", name));
        command.addAll(List.of(args));
        return run(command.toArray(new String[0]));
    }

    String bridge(String... args) {
        List<String> command = new ArrayList<>(List.of("bridge", "-n", name));
        command.addAll(List.of(args));
        return run(command.toArray(new String[0]));
    }

    /** Runs a command inside the namespace (`ip netns exec`), returning its exit code. */
    int exec(String... args) {
        List<String> command = new ArrayList<>(List.of("ip", "netns", "exec", name));
        command.addAll(List.of(args));
        return runForExitCode(command.toArray(new String[0]));
    }

    static String run(String... command) {
        Result r = execute(command);
        if (r.exitCode != 0) {
            fail(String.join(" ", command) + " exited " + r.exitCode + ": " + r.output);
        }
        return r.output;
    }

    static int runForExitCode(String... command) {
        return execute(command).exitCode;
    }

    private record Result(int exitCode, String output) {
    }

    private static Result execute(String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            if (!p.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                throw new AssertionError(String.join(" ", command) + " did not finish in " + COMMAND_TIMEOUT_SECONDS
                        + " s");
            }
            return new Result(p.exitValue(), readAll(p.getInputStream()));
        } catch (IOException e) {
            throw new AssertionError("could not run " + String.join(" ", command), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + String.join(" ", command), e);
        }
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        // Deleting the namespace also destroys every device in it (and the veth peers of those devices).
        runForExitCode("ip", "netns", "del", name);
    }
}
