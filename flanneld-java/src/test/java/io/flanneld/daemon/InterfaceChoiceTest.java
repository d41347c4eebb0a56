package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.net.Ipv4;
import io.flanneld.net.Ipv4Prefix;
import io.flanneld.net.Link;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.schema.Ip4;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The interface choice itself, on hand-made snapshots of a host's links (no kernel): which flag wins, which address
 * goes with the interface, and what the errors say.
 */
class InterfaceChoiceTest {
    private static final LinkWithAddresses LO = link(1, "lo", 65536, "127.0.0.1/8");
    private static final LinkWithAddresses ETH0 = link(2, "eth0", 1500, "198.18.0.1/16");
    private static final LinkWithAddresses ETH1 = link(3, "eth1", 9000, "169.254.7.7/16", "198.18.200.1/24");
    private static final LinkWithAddresses BARE = link(4, "bare0", 1500);
    private static final List<LinkWithAddresses> HOST = List.of(LO, ETH0, ETH1, BARE);

    private static LinkWithAddresses link(int index, String name, int mtu, String... addresses) {
        return new LinkWithAddresses(new Link(index, name, Link.IFF_UP, mtu, Optional.empty(), Optional.empty(),
                Optional.empty()), Arrays.stream(addresses).map(Ipv4Prefix::parse).toList());
    }

    private static ExternalInterface byIface(String... ifaces) throws InterfaceSelectionException {
        return InterfaceSelector.select(HOST, Optional.empty(), List.of(ifaces), null);
    }

    private static ExternalInterface chosen(LinkWithAddresses link, String address) {
        int a = Ip4.parse(address);
        return new ExternalInterface(link.link().name(), link.link().index(), a, a, link.link().mtu());
    }

    @Test
    void ifaceNamedWithoutUsableAddressIsSkippedLikeFlanneld() throws Exception {
        assertEquals(chosen(ETH0, "198.18.0.1"), byIface("bare0", "eth0"));
        assertEquals(chosen(ETH0, "198.18.0.1"), byIface("lo", "eth0"), "127.0.0.1 is not an address flanneld uses");

        var e = assertThrows(InterfaceSelectionException.class, () -> byIface("bare0", "lo"));
        assertEquals("--iface bare0 has no IPv4 address; --iface lo has no IPv4 address", e.getMessage());
    }

    @Test
    void interfaceChosenByNameUsesItsFirstGlobalAddressBeforeLinkLocalOnes() throws Exception {
        assertEquals(chosen(ETH1, "198.18.200.1"), byIface("eth1"));
        assertEquals(chosen(ETH1, "169.254.7.7"), byIface("169.254.7.7"), "an address given is used as given");
        assertEquals(chosen(LO, "127.0.0.1"), byIface("127.0.0.1"));
    }

    @Test
    void usableAddressesAreUnicastWithLinkLocalLast() {
        LinkWithAddresses odd = link(9, "odd", 1500, "169.254.1.1/16", "0.0.0.0/32", "127.0.0.2/8", "224.0.0.1/32",
                "239.255.255.255/32", "255.255.255.255/32", "240.0.0.1/4", "198.18.9.9/24", "223.255.255.254/8");
        assertEquals(List.of(Ipv4.parse("240.0.0.1"), Ipv4.parse("198.18.9.9"), Ipv4.parse("223.255.255.254"),
                Ipv4.parse("169.254.1.1")), InterfaceSelector.usableAddresses(odd));
    }
}
