package io.flanneld.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A multi-member etcd cluster on loopback for fault tests: each member its own process, ports and data dir, all
 * started together with one {@code --initial-cluster}. Members can be killed and restarted individually;
 * {@link #close()} stops all of them and deletes their data dirs.
 */
public final class EtcdCluster implements AutoCloseable {
    private static final int START_ATTEMPTS = 3;
    private static final Duration START_TIMEOUT = Duration.ofSeconds(20);
    private static final Pattern MEMBER_ID = Pattern.compile("\"member_id\":(\\d+)");
    private static final Pattern LEADER = Pattern.compile("\"leader\":(\\d+)");

    private final List<EtcdProcess> members;
    private boolean closed;

    private EtcdCluster(List<EtcdProcess> members) {
        this.members = List.copyOf(members);
    }

    /** Starts {@code size} members on 127.0.0.1 and returns once every one of them is healthy. */
    public static EtcdCluster start(int size) {
        return start(size, new String[0]);
    }

    /** Like {@link #start(int)}, each member getting {@code extraArgs} as well. */
    public static EtcdCluster start(int size, String... extraArgs) {
        if (size < 1 || size > 7) {
            throw new IllegalArgumentException("cluster size must be 1..7: " + size);
        }
        IllegalStateException last = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            int[] ports = Ports.free(2 * size);
            String token = "tk-" + EtcdProcess.randomHex(8);
            StringBuilder initial = new StringBuilder();
            for (int i = 0; i < size; i++) {
                if (i > 0) {
                    initial.append(',');
                }
                initial.append(memberName(i)).append('=').append(EtcdProcess.url("127.0.0.1", ports[2 * i + 1]));
            }
            List<EtcdProcess> ms = new ArrayList<>();
            try {
                for (int i = 0; i < size; i++) {
                    ms.add(EtcdProcess.builder()
                            .name(memberName(i))
                            .clientPort(ports[2 * i])
                            .peerPort(ports[2 * i + 1])
                            .extraArgs(extraArgs)
                            .startTimeout(START_TIMEOUT)
                            .initialCluster(initial.toString(), token)
                            .create());
                }
                for (EtcdProcess m : ms) {
                    m.launch();
                }
                long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
                for (EtcdProcess m : ms) {
                    m.awaitReady(deadline);
                }
                return new EtcdCluster(ms);
            } catch (EtcdProcess.StartFailure f) {
                ms.forEach(EtcdProcess::close);
                last = f;
                if (!f.portClash) {
                    throw f;
                }
            } catch (RuntimeException | Error t) {
                ms.forEach(EtcdProcess::close);
                throw t;
            }
        }
        throw last;
    }

    private static String memberName(int i) {
        return "m" + i;
    }

    /** Number of members. */
    public int size() {
        return members.size();
    }

    /** Member {@code i} (0-based). */
    public EtcdProcess member(int i) {
        return members.get(i);
    }

    /** Every member's client URL, in member order. */
    public List<String> endpoints() {
        return members.stream().map(EtcdProcess::endpoint).toList();
    }

    /** The client URLs of the members whose process is running. */
    public List<String> liveEndpoints() {
        return members.stream().filter(EtcdProcess::isAlive).map(EtcdProcess::endpoint).toList();
    }

    /** Every member's client URL joined with commas, as {@code --etcd-endpoints} takes them. */
    public String endpointsCsv() {
        return String.join(",", endpoints());
    }

    /**
     * The index of the current leader, asked of the running members with {@code etcdctl endpoint status -w json};
     * waits (at most 10 s) while there is none, e.g. during an election.
     *
     * @throws AssertionError if no running member reports itself leader in time
     */
    public int leaderIndex() {
        return Wait.forValue(Duration.ofSeconds(10), Duration.ofMillis(100), "an etcd leader", () -> {
            for (int i = 0; i < members.size(); i++) {
                EtcdProcess m = members.get(i);
                if (!m.isAlive()) {
                    continue;
                }
                Cmd.Result r = m.etcdctl("endpoint", "status", "-w", "json", "--command-timeout=2s");
                if (!r.ok()) {
                    continue;
                }
                Matcher id = MEMBER_ID.matcher(r.stdout());
                Matcher leader = LEADER.matcher(r.stdout());
                if (id.find() && leader.find() && id.group(1).equals(leader.group(1))) {
                    return i;
                }
            }
            return null;
        });
    }

    /** SIGKILL member {@code i}. */
    public void kill(int i) {
        member(i).kill();
    }

    /** Stop member {@code i} gracefully (SIGTERM, bounded wait, SIGKILL). */
    public void stop(int i) {
        member(i).stop();
    }

    /**
     * Restarts the given members on their data dirs and ports, launching all of them before waiting for any, so a
     * cluster that lost quorum can be brought back at once; returns once each is healthy.
     */
    public void restart(int... indices) {
        for (int i : indices) {
            member(i).stop();
        }
        for (int i : indices) {
            member(i).launch();
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        for (int i : indices) {
            member(i).awaitReady(deadline);
        }
    }

    /** Runs {@code etcdctl} (API v3) against the running members' endpoints. */
    public Cmd.Result etcdctl(String... args) {
        List<String> live = liveEndpoints();
        if (live.isEmpty()) {
            throw new IllegalStateException("no member of " + this + " is running");
        }
        return EtcdProcess.etcdctl(null, live, args);
    }

    /** Kills every member (their data goes anyway) and deletes their data dirs. Idempotent; never throws. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (EtcdProcess m : members) {
            try {
                m.kill();
            } catch (Throwable t) {
                System.err.println("testkit: killing " + m + " failed: " + t);
            }
        }
        for (EtcdProcess m : members) {
            m.close();
        }
    }

    @Override
    public String toString() {
        return "etcd-cluster" + endpoints();
    }
}
