package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Kernel notifications: decoded from hand-made datagrams, and received from a scratch namespace's kernel. */
class KernelChangesTest {

    /** nlmsghdr (len, type, flags, seq, pid) + payload, padded to 4 bytes. */
    private static void message(ByteBuffer out, int type, byte[] payload) {
        int length = 16 + payload.length;
        out.putInt(length).putShort((short) type).putShort((short) 0).putInt(0).putInt(0).put(payload);
        while (out.position() % 4 != 0) {
            out.put((byte) 0);
        }
    }

    private static byte[] struct(int size, int ifindex) {
        return ByteBuffer.allocate(size).order(ByteOrder.nativeOrder()).putInt(4, ifindex).array();
    }

    @Test
    void decodesTheInterfaceOfEachKindAndSkipsOthers() {
        ByteBuffer d = ByteBuffer.allocate(512).order(ByteOrder.nativeOrder());
        message(d, NetlinkConstants.RTM_DELLINK, struct(16, 7));
        message(d, NetlinkConstants.RTM_NEWNEIGH, struct(12, 7));
        message(d, NetlinkConstants.RTM_NEWADDR, struct(8, 3));
        // rtmsg (12 bytes) then RTA_OIF = 9: nla_len 8, nla_type 4, u32 9.
        ByteBuffer route = ByteBuffer.allocate(20).order(ByteOrder.nativeOrder());
        route.position(12);
        route.putShort((short) 8).putShort((short) NetlinkConstants.RTA_OIF).putInt(9);
        message(d, NetlinkConstants.RTM_DELROUTE, route.array());
        message(d, NetlinkConstants.RTM_NEWROUTE, new byte[12]);
        message(d, 99, new byte[4]);
        message(d, NetlinkConstants.RTM_NEWLINK, new byte[3]);
        d.flip();
        assertEquals(List.of(
                new KernelChange(KernelChange.Kind.LINK, true, 7),
                new KernelChange(KernelChange.Kind.NEIGHBOUR, false, 7),
                new KernelChange(KernelChange.Kind.ADDRESS, false, 3),
                new KernelChange(KernelChange.Kind.ROUTE, true, 9),
                new KernelChange(KernelChange.Kind.ROUTE, false, 0)), KernelChange.decode(d),
                "unknown types and a truncated link message are skipped");
    }

    @Test
    void hearsRouteNeighbourAndLinkChangesInTheNamespaceItWasStartedIn() throws Exception {
        try (ScratchNamespace ns = ScratchNamespace.create("chg")) {
            ns.ip("link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1");
            ns.ip("link", "set", "dummy0", "up");
            ns.ip("link", "set", "dummy1", "up");
            ns.ip("addr", "add", "198.19.1.0/32", "dev", "dummy0");
            int index;
            try (Rtnetlink nl = Rtnetlink.openInNamespace(ns.name)) {
                index = nl.links().byName("dummy0").orElseThrow().index();
            }
            BlockingQueue<KernelChange> seen = new LinkedBlockingQueue<>();
            try (KernelChanges changes = NetworkNamespaces.callIn(ns.name, () -> KernelChanges.start(seen::add))) {
                ns.ip("route", "add", "198.19.2.0/24", "dev", "dummy0");
                ns.ip("route", "flush", "dev", "dummy0");
                ns.ip("neigh", "replace", "198.19.1.9", "lladdr", "02:00:00:00:00:99", "dev", "dummy0", "nud", "permanent");
                ns.ip("link", "del", "dummy0");
                assertTrue(awaitChange(seen, new KernelChange(KernelChange.Kind.ROUTE, true, index)), "the flush");
                assertTrue(awaitChange(seen, new KernelChange(KernelChange.Kind.NEIGHBOUR, false, index)), "the neighbour");
                assertTrue(awaitChange(seen, new KernelChange(KernelChange.Kind.LINK, true, index)), "the deletion");
            }
        }
    }

    @Test
    void hearsIpv6AddressAndRouteChanges() throws Exception {
        try (ScratchNamespace ns = ScratchNamespace.create("chg6")) {
            ns.ip("link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1");
            ns.ip("link", "set", "dummy0", "up");
            ns.ip("link", "set", "dummy1", "up");
            ns.ip("-6", "addr", "add", "2001:2:19:1::/128", "dev", "dummy0", "nodad");
            ns.ip("-6", "route", "add", "2001:2:19:2::/64", "dev", "dummy0");
            int index;
            try (Rtnetlink nl = Rtnetlink.openInNamespace(ns.name)) {
                index = nl.links().byName("dummy0").orElseThrow().index();
            }
            BlockingQueue<KernelChange> seen = new LinkedBlockingQueue<>();
            try (KernelChanges changes = NetworkNamespaces.callIn(ns.name, () -> KernelChanges.start(seen::add))) {
                // Removals only: the kernel adds link-local addresses and routes of its own after a link comes up.
                ns.ip("-6", "route", "del", "2001:2:19:2::/64", "dev", "dummy0");
                assertTrue(awaitChange(seen, new KernelChange(KernelChange.Kind.ROUTE, true, index)), "the IPv6 route's removal");
                ns.ip("-6", "addr", "del", "2001:2:19:1::/128", "dev", "dummy0");
                assertTrue(awaitChange(seen, new KernelChange(KernelChange.Kind.ADDRESS, true, index)), "the IPv6 address's removal");
            }
        }
    }

    @Test
    void closeWakesTheListeningThreadAtOnce() throws Exception {
        try (ScratchNamespace ns = ScratchNamespace.create("chgc")) {
            BlockingQueue<KernelChange> seen = new LinkedBlockingQueue<>();
            KernelChanges changes = NetworkNamespaces.callIn(ns.name, () -> KernelChanges.start(seen::add));
            // One change heard: the thread is in its loop; a moment later it waits in poll again.
            ns.ip("link", "add", "w0", "type", "veth", "peer", "name", "w1");
            assertTrue(seen.poll(5, TimeUnit.SECONDS) != null, "a change heard");
            Thread.sleep(200);
            assertTrue(changes.listening());
            // The socket has no receive timeout: only the close's wake-up ends that wait.
            changes.close();
            assertFalse(changes.listening(), "the thread ended with close()");
            changes.close(); // a second close does nothing
        }
    }

    private static boolean awaitChange(BlockingQueue<KernelChange> seen, KernelChange want) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() < end) {
            KernelChange c = seen.poll(100, TimeUnit.MILLISECONDS);
            if (want.equals(c)) {
                return true;
            }
        }
        return false;
    }
}
