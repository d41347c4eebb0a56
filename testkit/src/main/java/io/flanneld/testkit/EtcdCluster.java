package io.flanneld.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A multi-member etcd cluster for fault tests: each member its own process, ports and data dir, all started
 * together with one {@code --initial-cluster}; on loopback ({@link #start(int)}) or one member per namespace host
 * ({@link #startOn(List, String...)}). Members can be killed and restarted individually;
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
        checkSize(size);
        IllegalStateException last = null;
        for (int attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
            int[] ports = Ports.free(2 * size);
            List<Placement> places = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                places.add(new Placement(null, "127.0.0.1", ports[2 * i], ports[2 * i + 1]));
            }
            try {
                return launchAll(places, extraArgs);
            } catch (EtcdProcess.StartFailure f) {
                last = f;
                if (!f.portClash) {
                    throw f;
                }
            }
        }
        throw last;
    }

    /**
     * One member on each of {@code hosts} (namespace hosts of a {@link NetnsFabric}), listening on the host's
     * underlay address, ports 2379 (client) and 2380 (peer), so that every other host of the fabric reaches the
     * cluster as a real one would be reached: one address per member. Returns once every member is healthy. The
     * caller still owns the fabric; close the cluster before it (or hand it to {@link NetnsFabric#own}).
     */
    public static EtcdCluster startOn(List<NetnsFabric.Host> hosts, String... extraArgs) {
        checkSize(hosts.size());
        List<Placement> places = hosts.stream().map(h -> new Placement(h.netns(), h.ip(), 2379, 2380)).toList();
        return launchAll(places, extraArgs);
    }

    private static void checkSize(int size) {
        if (size < 1 || size > 7) {
            throw new IllegalArgumentException("cluster size must be 1..7: " + size);
        }
    }

    /** Where one member runs: a namespace (null for the root one), its address and ports. */
    private record Placement(String netns, String ip, int clientPort, int peerPort) {
    }

    private static EtcdCluster launchAll(List<Placement> places, String... extraArgs) {
        String token = "tk-" + EtcdProcess.randomHex(8);
        StringBuilder initial = new StringBuilder();
        for (int i = 0; i < places.size(); i++) {
            if (i > 0) {
                initial.append(',');
            }
            initial.append(memberName(i)).append('=').append(EtcdProcess.url(places.get(i).ip(), places.get(i).peerPort()));
        }
        List<EtcdProcess> ms = new ArrayList<>();
        try {
            for (int i = 0; i < places.size(); i++) {
                Placement p = places.get(i);
                EtcdProcess.Builder b = EtcdProcess.builder().name(memberName(i));
                if (p.netns() != null) {
                    b.netns(p.netns(), p.ip());
                }
                ms.add(b.clientPort(p.clientPort())
                        .peerPort(p.peerPort())
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
        } catch (RuntimeException | Error t) {
            ms.forEach(EtcdProcess::close);
            throw t;
        }
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

    /** Runs {@code etcdctl} (API v3) against the running members' endpoints (inside a running member's namespace). */
    public Cmd.Result etcdctl(String... args) {
        List<String> live = liveEndpoints();
        if (live.isEmpty()) {
            throw new IllegalStateException("no member of " + this + " is running");
        }
        String netns = members.stream().filter(EtcdProcess::isAlive).findFirst().map(EtcdProcess::netns).orElse(null);
        return EtcdProcess.etcdctl(netns, live, args);
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
