package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.backend.Backend;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.Lease;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The keeper's bookkeeping, with fake rule sets and a fake data path: what is counted, and that a failure does not stop the rest. */
class NodeKeeperTest {

    /** Rule sets whose ensure() answers from a script: true (repaired), false (whole) or an exception. */
    private static final class ScriptedFilter implements PacketFilter {
        final String what;
        final Deque<Object> answers = new ArrayDeque<>();
        int calls;

        ScriptedFilter(String what, Object... answers) {
            this.what = what;
            this.answers.addAll(List.of(answers));
        }

        @Override
        public String what() {
            return what;
        }

        @Override
        public String where() {
            return "test/" + what;
        }

        @Override
        public boolean ensure() throws PacketFilterException {
            calls++;
            Object a = answers.isEmpty() ? Boolean.FALSE : answers.poll();
            if (a instanceof PacketFilterException e) {
                throw e;
            }
            return (Boolean) a;
        }

        @Override
        public void close() {
        }
    }

    private static final class ScriptedBackend implements Backend {
        final Deque<Object> repairs = new ArrayDeque<>();

        @Override
        public String type() {
            return "test";
        }

        @Override
        public String backendData() {
            return null;
        }

        @Override
        public int mtu() {
            return 1500;
        }

        @Override
        public void start(Lease local, List<Lease> peers) {
        }

        @Override
        public void apply(List<LeaseEvent> events) {
        }

        @Override
        public int peerCount() {
            return 0;
        }

        @SuppressWarnings("unchecked")
        @Override
        public List<String> repair() {
            Object a = repairs.isEmpty() ? List.of() : repairs.poll();
            if (a instanceof RuntimeException e) {
                throw e;
            }
            return (List<String>) a;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void countsEveryRepairAndGoesOnPastAFailure() {
        ScriptedFilter masq = new ScriptedFilter("ip_masq", true, new PacketFilterException("iptables: Resource temporarily unavailable"), false);
        ScriptedFilter forward = new ScriptedFilter("forward_rules", false, true, false);
        ScriptedBackend backend = new ScriptedBackend();
        backend.repairs.add(List.of("route", "route", "arp"));
        backend.repairs.add(new IllegalStateException("netlink: EBUSY"));
        List<String> counted = new ArrayList<>();
        NodeKeeper keeper = new NodeKeeper(List.of(masq, forward), backend, Duration.ofSeconds(5), counted::add);
        try {
            keeper.check();
            assertEquals(List.of("ip_masq", "route", "route", "arp"), counted);
            keeper.check();
            assertEquals(List.of("ip_masq", "route", "route", "arp", "forward_rules"), counted,
                    "a failing rule set and a failing backend do not keep the others from being checked");
            keeper.check();
            assertEquals(5, counted.size(), "nothing more to repair");
            assertEquals(3, masq.calls);
            assertEquals(3, forward.calls);
        } finally {
            keeper.close();
        }
    }
}
