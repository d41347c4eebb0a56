package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.backend.Backend;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.net.KernelChange;
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
        final java.util.concurrent.atomic.AtomicInteger repairCalls = new java.util.concurrent.atomic.AtomicInteger();
        int device;
        boolean neighbours = true;

        @Override
        public int deviceIndex() {
            return device;
        }

        @Override
        public boolean programsNeighbours() {
            return neighbours;
        }

        /** A second device (vxlan's flannel-v6.&lt;VNI&gt;), 0 for none. */
        int device6;

        @Override
        public boolean ownsDevice(int ifindex) {
            return ifindex != 0 && (ifindex == device || ifindex == device6);
        }

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
            repairCalls.incrementAndGet();
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
        ScriptedFilter masq = new ScriptedFilter("ip_masq", true, new IptablesException(List.of("iptables", "-S"), 4, "iptables: Resource temporarily unavailable"), false);
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

    /** Waits (bounded) for the keeper's thread to have run {@code calls} checks, then a little longer for any extra one. */
    private static int checksAfter(ScriptedBackend backend, int calls) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (backend.repairCalls.get() < calls && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Thread.sleep(NodeKeeper.DEBOUNCE.toMillis() * 3);
        return backend.repairCalls.get();
    }

    @Test
    void neighbourNotificationsOnTheDeviceCauseACheckOnlyForADataPathThatProgramsNeighbours() throws Exception {
        // host-gw: its device is the external interface, where ARP entries come and go all the time.
        ScriptedBackend routesOnly = new ScriptedBackend();
        routesOnly.device = 7;
        routesOnly.neighbours = false;
        NodeKeeper keeper = new NodeKeeper(List.of(), routesOnly, Duration.ofMinutes(10), what -> { });
        try {
            keeper.onKernelChange(new KernelChange(KernelChange.Kind.NEIGHBOUR, false, 7));
            assertEquals(0, checksAfter(routesOnly, 0), "ARP churn on the interface is no reason to check");
            keeper.onKernelChange(new KernelChange(KernelChange.Kind.ROUTE, true, 7));
            assertEquals(1, checksAfter(routesOnly, 1), "a route gone from the interface is");
            keeper.onKernelChange(new KernelChange(KernelChange.Kind.ROUTE, true, 8));
            assertEquals(1, checksAfter(routesOnly, 1), "another device's route is not");
        } finally {
            keeper.close();
        }

        // vxlan: its ARP entries on flannel.1 are its own state.
        ScriptedBackend withNeighbours = new ScriptedBackend();
        withNeighbours.device = 7;
        NodeKeeper vxlanKeeper = new NodeKeeper(List.of(), withNeighbours, Duration.ofMinutes(10), what -> { });
        try {
            vxlanKeeper.onKernelChange(new KernelChange(KernelChange.Kind.NEIGHBOUR, true, 7));
            assertEquals(1, checksAfter(withNeighbours, 1));
        } finally {
            vxlanKeeper.close();
        }

        // Dual-stack vxlan: flannel-v6.1 is its device as much as flannel.1.
        ScriptedBackend dual = new ScriptedBackend();
        dual.device = 7;
        dual.device6 = 9;
        NodeKeeper dualKeeper = new NodeKeeper(List.of(), dual, Duration.ofMinutes(10), what -> { });
        try {
            dualKeeper.onKernelChange(new KernelChange(KernelChange.Kind.ROUTE, true, 9));
            assertEquals(1, checksAfter(dual, 1), "an IPv6 route gone from the second device");
            dualKeeper.onKernelChange(new KernelChange(KernelChange.Kind.ROUTE, true, 0));
            assertEquals(1, checksAfter(dual, 1), "a route that names no device is no reason to check");
        } finally {
            dualKeeper.close();
        }
    }
}
