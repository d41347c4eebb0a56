package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.Link;
import io.flanneld.net.Rtnetlink;
import io.flanneld.net.TunDevice;
import io.flanneld.net.TunOptions;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.testkit.NetnsFabric;
import io.flanneld.udp.UdpBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The udp backend leaves flannel0 for its next start; a host whose Backend.Type is now another removes it when it
 * creates that backend (in a namespace host, with the persistent device a stopped udp backend leaves).
 */
class BackendsKernelTest {
    private NetnsFabric fabric;
    private NetnsFabric.Host host;
    private Rtnetlink nl;
    private ExternalInterface iface;

    @BeforeEach
    void createHost() {
        fabric = NetnsFabric.create();
        host = fabric.addHost("b1", "198.18.0.1/16");
        nl = fabric.own(Rtnetlink.openInNamespace(host.netns()));
        Link eth0 = nl.links().byName(host.iface()).orElseThrow();
        int address = Ip4.parse(host.ip());
        iface = new ExternalInterface(eth0.name(), eth0.index(), address, address, eth0.mtu());
    }

    @AfterEach
    void removeHost() {
        fabric.close();
    }

    private static NetworkConfig config(String type) {
        return new NetworkConfig(Ip4Net.parse("198.19.0.0/16"), 24, Ip4.parse("198.19.1.0"), Ip4.parse("198.19.255.0"),
                BackendConfig.ofType(type));
    }

    private void leaveFlannel0() {
        TunDevice.openInNamespace(host.netns(), TunOptions.named(UdpBackend.DEVICE).withPersistent(true)).close();
        assertTrue(nl.links().byName(UdpBackend.DEVICE).isPresent());
    }

    @Test
    void anotherBackendTypeRemovesTheFlannel0AUdpBackendLeft() throws Exception {
        leaveFlannel0();
        try (Backend alloc = Backends.create(config(BackendConfig.ALLOC), iface, nl)) {
            assertEquals(BackendConfig.ALLOC, alloc.type());
        }
        assertTrue(nl.links().byName(UdpBackend.DEVICE).isEmpty(), "flannel0 removed");
    }

    @Test
    void theUdpBackendKeepsIt() throws Exception {
        leaveFlannel0();
        int index = nl.links().byName(UdpBackend.DEVICE).orElseThrow().index();
        try (Backend udp = Backends.create(config(BackendConfig.UDP), iface, nl)) {
            assertEquals(index, nl.links().byName(UdpBackend.DEVICE).orElseThrow().index(), "left for start to attach");
        }
        UdpBackend.removeDevice(nl);
    }
}
