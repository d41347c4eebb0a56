package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.schema.Ip4;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Opens TUN devices in a scratch namespace, configures them through netlink, and passes a packet through one. */
class TunKernelTest {
    private ScratchNamespace ns;

    @BeforeEach
    void createNamespace() {
        ns = ScratchNamespace.create("tun");
    }

    @AfterEach
    void removeNamespace() {
        ns.close();
    }

    @Test
    void opensAndConfiguresFlannel0LikeTheUdpBackend() {
        try (TunDevice tun = TunDevice.openInNamespace(ns.name, TunOptions.named("flannel0"));
             Rtnetlink rtnl = Rtnetlink.openInNamespace(ns.name)) {
            assertEquals("flannel0", tun.name());
            assertTrue(tun.fd() >= 0);
            Link link = rtnl.links().byName("flannel0").orElseThrow();
            assertTrue(link.isKind("tun"), link.toString());
            assertEquals(java.util.Optional.empty(), link.mac());

            rtnl.addresses().add(new LinkAddress(link.index(), Ip4.parse("198.19.1.0"), 16));
            rtnl.links().setMtu(link.index(), 1472);
            rtnl.links().setUp(link.index());

            String shown = ns.ip("addr", "show", "dev", "flannel0");
            assertTrue(shown.contains("mtu 1472"), shown);
            assertTrue(shown.contains("inet 198.19.1.0/16 scope global flannel0"), shown);
            assertTrue(shown.contains("<POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP>"), shown);
            assertTrue(ns.ip("-d", "link", "show", "flannel0").contains("tun type tun pi off vnet_hdr off"));
            assertEquals(java.util.Optional.of(new TunAttributes(TunAttributes.IFF_TUN, false, false, false, false)),
                    rtnl.links().byName("flannel0").orElseThrow().tun());
        }
        assertFalse(ns.ip("link", "show").contains("flannel0"), "closing the fd removes the device");
    }

    @Test
    void persistentDeviceOutlivesItsDescriptorAndIsAttachedToAgain() {
        TunOptions options = TunOptions.named("flannel0").withNonBlocking(true).withVnetHeader(true)
                .withOffload(TunOptions.TUN_F_CSUM | TunOptions.TUN_F_TSO4).withPersistent(true);
        try (Rtnetlink rtnl = Rtnetlink.openInNamespace(ns.name)) {
            int index;
            try (TunDevice tun = TunDevice.openInNamespace(ns.name, options)) {
                Link link = rtnl.links().byName("flannel0").orElseThrow();
                index = link.index();
                assertEquals(java.util.Optional.of(new TunAttributes(TunAttributes.IFF_TUN, false, true, true, false)),
                        link.tun(), link.toString());
                assertTrue(options.matches(link.tun().orElseThrow()));
                assertTrue(options.withPersistent(false).matches(link.tun().orElseThrow()), "an open sets persistence");
                assertFalse(options.withVnetHeader(false).matches(link.tun().orElseThrow()), "vnet header differs");
                assertFalse(options.withMultiQueue(true).matches(link.tun().orElseThrow()), "queue mode differs");
                rtnl.addresses().add(new LinkAddress(index, Ip4.parse("198.19.1.0"), 16));
                rtnl.links().setUp(index);
            }
            String shown = ns.ip("-d", "addr", "show", "dev", "flannel0");
            assertTrue(shown.contains("tun type tun pi off vnet_hdr on persist on"), shown);
            assertTrue(shown.contains("inet 198.19.1.0/16"), "its address stays: " + shown);
            assertTrue(ns.ip("route", "show", "198.19.0.0/16").contains("dev flannel0"), "and its route");

            try (TunDevice again = TunDevice.openInNamespace(ns.name, options)) {
                assertEquals(index, rtnl.links().byName("flannel0").orElseThrow().index(), "the same device");
                assertTrue(ns.ip("addr", "show", "dev", "flannel0").contains("inet 198.19.1.0/16"));
            }
            rtnl.links().delete(index);
            assertFalse(ns.ip("link", "show").contains("flannel0"), "deleted for good");
        }
    }

    @Test
    void packetWrittenToTunIsAnsweredBackThroughIt() {
        try (TunDevice tun = TunDevice.openInNamespace(ns.name, TunOptions.named("flannel0").withNonBlocking(true));
             Rtnetlink rtnl = Rtnetlink.openInNamespace(ns.name)) {
            int index = rtnl.links().byName("flannel0").orElseThrow().index();
            rtnl.addresses().add(new LinkAddress(index, Ip4.parse("198.19.1.0"), 16));
            rtnl.links().setUp(index);

            // An echo request from a "remote pod" 198.19.2.5 to our 198.19.1.0, as the UDP backend would inject it.
            ByteBuffer request = ByteBuffer.allocateDirect(128);
            request.put(IcmpPackets.echoRequest(Ip4.parse("198.19.2.5"), Ip4.parse("198.19.1.0"), 0x1234, 1)).flip();
            assertEquals(request.remaining(), tun.write(request));

            ByteBuffer reply = ByteBuffer.allocateDirect(2048);
            boolean sawReply = false;
            long deadline = System.nanoTime() + 3_000_000_000L;
            for (int packets = 0; packets < 20 && !sawReply && System.nanoTime() < deadline; packets++) {
                if (!tun.awaitReadable(500)) {
                    continue;
                }
                reply.clear();
                int n = tun.read(reply);
                reply.flip();
                sawReply = n > 0 && IcmpPackets.isEchoReply(reply, Ip4.parse("198.19.1.0"), Ip4.parse("198.19.2.5"),
                        0x1234);
            }
            assertTrue(sawReply, "the kernel's echo reply came out of the TUN device");
            // The kernel may still queue a packet of its own on the new device (an IPv6 multicast listener report when it
            // comes up); once those are read, a non-blocking read with nothing queued returns 0 instead of blocking.
            int n = -1;
            for (int i = 0; i < 10 && n != 0; i++) {
                reply.clear();
                n = tun.read(reply);
            }
            assertEquals(0, n, "non-blocking read with nothing queued returns 0");
        }
    }

    @Test
    void kernelPicksNameFromPatternAndMultiQueueWorks() {
        TunOptions options = TunOptions.named("fjt%d").withMultiQueue(true).withVnetHeader(true)
                .withOffload(TunOptions.TUN_F_CSUM);
        try (TunDevice first = TunDevice.openInNamespace(ns.name, options)) {
            assertEquals("fjt0", first.name());
            try (TunDevice secondQueue = TunDevice.openInNamespace(ns.name,
                    TunOptions.named("fjt0").withMultiQueue(true).withVnetHeader(true))) {
                assertEquals("fjt0", secondQueue.name());
                assertTrue(ns.ip("-d", "link", "show", "fjt0").contains("multi_queue"));
            }
        }
    }

    @Test
    void unknownNamespaceFailsWithErrnoAndLeavesThreadWhereItWas() throws Exception {
        String before = Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString();
        ErrnoException e = assertThrows(ErrnoException.class,
                () -> Rtnetlink.openInNamespace("fjnl-does-not-exist-" + System.nanoTime()));
        assertEquals("ENOENT", e.errnoName());
        assertTrue(e.getMessage().contains("/var/run/netns/fjnl-does-not-exist-"), e.getMessage());
        assertEquals(before, Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString());

        try (Rtnetlink inside = Rtnetlink.openInNamespace(ns.name)) {
            assertEquals(before, Files.readSymbolicLink(Path.of("/proc/thread-self/ns/net")).toString());
            assertEquals(1, inside.links().list().size(), "only lo exists in the scratch namespace");
        }
    }
}
