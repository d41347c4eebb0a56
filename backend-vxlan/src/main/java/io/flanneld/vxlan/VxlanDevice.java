package io.flanneld.vxlan;

import io.flanneld.net.Link;
import io.flanneld.net.Links;
import io.flanneld.net.MacAddress;
import io.flanneld.net.VxlanAttributes;
import io.flanneld.net.VxlanSpec;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip6;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The VXLAN device {@code flannel.<VNI>} as this host uses it. {@link #ensure} keeps an existing device whose
 * settings match, so its MAC (published in the lease as VtepMAC) and the peers' entries on it survive a daemon
 * restart and pods keep talking meanwhile; a device that does not match is replaced, as flannel does.
 */
public record VxlanDevice(String name, int index, MacAddress mac, int mtu) {
    private static final Logger log = LoggerFactory.getLogger(VxlanDevice.class);

    public VxlanDevice {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(mac, "mac");
    }

    /**
     * The device wanted: {@code ip link add <name> type vxlan id <vni> local <local> dev <underlay> dstport <port>
     * nolearning}, with the given MTU.
     *
     * @param local the IPv4 local address (unused when {@code local6} is given)
     * @param local6 the IPv6 local address of a device with an IPv6 underlay (flannel-v6.&lt;VNI&gt;), else null
     */
    public record Config(String name, int vni, int port, int local, int underlayIndex, int mtu, Ip6 local6) {
        public Config {
            Objects.requireNonNull(name, "name");
        }

        /** A device with an IPv4 underlay. */
        public Config(String name, int vni, int port, int local, int underlayIndex, int mtu) {
            this(name, vni, port, local, underlayIndex, mtu, null);
        }

        /** A device with an IPv6 underlay, local address {@code local6}. */
        public static Config ipv6(String name, int vni, int port, Ip6 local6, int underlayIndex, int mtu) {
            return new Config(name, vni, port, 0, underlayIndex, mtu, Objects.requireNonNull(local6, "local6"));
        }

        VxlanSpec spec() {
            VxlanSpec spec = local6 != null ? VxlanSpec.flannel6(name, vni, local6, underlayIndex, port)
                    : VxlanSpec.flannel(name, vni, local, underlayIndex, port);
            return spec.withMtu(mtu);
        }

        String localText() {
            return local6 != null ? local6.toString() : Ip4.format(local);
        }
    }

    /** The device's name for a VNI, as flannel names it. */
    public static String nameFor(int vni) {
        return "flannel." + vni;
    }

    /** The IPv6 device's name for a VNI, as flannel names it (pkg/backend/vxlan/vxlan.go). */
    public static String nameFor6(int vni) {
        return "flannel-v6." + vni;
    }

    /** Creates the device, or reuses the existing one if it matches {@code want}; sets the MTU either way. */
    public static VxlanDevice ensure(Links links, Config want) {
        return ensure(links, want, null);
    }

    /**
     * Like {@link #ensure(Links, Config)}; a device it has to create gets {@code mac} (the one published in the lease)
     * when given, so that re-creating a deleted device changes nothing peers know.
     */
    public static VxlanDevice ensure(Links links, Config want, MacAddress mac) {
        Optional<Link> existing = links.byName(want.name());
        Link link;
        if (existing.isPresent()) {
            List<String> mismatches = mismatches(existing.get(), want);
            if (mismatches.isEmpty()) {
                link = existing.get();
                log.info("Reusing {} (index {}, MAC {})", want.name(), link.index(),
                        link.mac().map(MacAddress::toString).orElse("none"));
            } else {
                log.warn("{} exists but {}; deleting and re-creating it", want.name(), String.join(", ", mismatches));
                links.delete(existing.get().index());
                link = create(links, want, mac);
            }
        } else {
            link = create(links, want, mac);
        }
        if (link.mtu() != want.mtu()) {
            links.setMtu(link.index(), want.mtu());
        }
        MacAddress have = link.mac().orElseThrow(() -> new IllegalStateException(
                want.name() + " (index " + link.index() + ") has no MAC address"));
        return new VxlanDevice(link.name(), link.index(), have, want.mtu());
    }

    private static Link create(Links links, Config want, MacAddress mac) {
        Link link = links.createVxlan(mac == null ? want.spec() : want.spec().withMac(mac));
        log.info("Created {} (index {}, VNI {}, port {}, local {}, underlay index {}, MAC {})", want.name(),
                link.index(), want.vni(), want.port(), want.localText(), want.underlayIndex(),
                link.mac().map(MacAddress::toString).orElse("none"));
        return link;
    }

    /** How an existing link differs from the wanted device; empty when it can be kept. */
    static List<String> mismatches(Link link, Config want) {
        List<String> out = new ArrayList<>();
        if (!link.isKind("vxlan") || link.vxlan().isEmpty()) {
            out.add("is of kind " + link.kind().orElse("unknown") + ", not vxlan");
            return out;
        }
        VxlanAttributes have = link.vxlan().get();
        if (have.vni() != want.vni()) {
            out.add("has VNI " + have.vni() + " instead of " + want.vni());
        }
        if (have.port() != want.port()) {
            out.add("has port " + have.port() + " instead of " + want.port());
        }
        if (want.local6() != null) {
            if (!have.local6().equals(Optional.of(want.local6()))) {
                out.add("has local address " + have.local6().map(Ip6::toString)
                        .orElse(have.local().isPresent() ? Ip4.format(have.local().getAsInt()) : "none")
                        + " instead of " + want.local6());
            }
        } else if (!have.local().equals(OptionalInt.of(want.local()))) {
            out.add("has local address " + (have.local().isPresent() ? Ip4.format(have.local().getAsInt()) : "none")
                    + " instead of "
                    + Ip4.format(want.local()));
        }
        if (have.underlayIndex() != want.underlayIndex()) {
            out.add("has underlay index " + have.underlayIndex() + " instead of " + want.underlayIndex());
        }
        if (have.learning()) {
            // flannel programs every FDB entry itself; a learning device would also add its own.
            out.add("has learning on");
        }
        return out;
    }
}
