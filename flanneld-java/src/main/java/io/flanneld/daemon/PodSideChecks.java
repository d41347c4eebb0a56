package io.flanneld.daemon;

import io.flanneld.lease.SubnetEnv;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * {@code doctor}'s checks of the pod side: the bridges pods hang off, Docker's {@code docker0} and the CNI bridge
 * plugin's {@code cni0}, each with an address inside this node's subnet (and no wider) and an MTU no larger than
 * {@code FLANNEL_MTU}. A docker0 on another subnet is the classic mistake of a Docker started before flannel, which
 * kept its own {@code --bip}. Pure functions of a {@link DoctorSnapshot}.
 */
final class PodSideChecks {
    static final List<String> BRIDGES = List.of("docker0", "cni0");

    private PodSideChecks() {
    }

    static List<Check> all(DoctorSnapshot s, NodeFacts f) {
        List<Check> out = new ArrayList<>();
        Optional<SubnetEnv> env = s.files().subnetEnv();
        List<LinkWithAddresses> bridges = s.kernel().links().stream().filter(l -> BRIDGES.contains(l.link().name())).toList();
        if (bridges.isEmpty()) {
            out.add(Check.warn("pod bridge", "neither docker0 nor cni0 exists: no pod network on this node yet",
                    "start dockerd with the options of flanneld-java mk-docker-opts, or run a pod through the CNI config"));
            return out;
        }
        for (LinkWithAddresses b : bridges) {
            out.add(f.ownSubnet().isEmpty() && f.ownSubnet6().isPresent() ? bridge6(b, f.ownSubnet6().get(), env) : bridge(b, f.ownSubnet(), env));
        }
        return out;
    }

    /** On an IPv6-only node: the bridge's global IPv6 addresses inside the node's IPv6 subnet, and its MTU. */
    static Check bridge6(LinkWithAddresses bridge, io.flanneld.schema.Ip6Net own, Optional<SubnetEnv> env) {
        String name = bridge.link().name();
        List<io.flanneld.net.LinkAddress6> global = bridge.ipv6Addresses().stream()
                .filter(a -> a.scope() == io.flanneld.net.LinkAddress6.SCOPE_UNIVERSE).toList();
        String has = global.isEmpty() ? "no global IPv6 address"
                : global.stream().map(a -> a.address() + "/" + a.prefixLength()).collect(Collectors.joining(", "));
        List<io.flanneld.net.LinkAddress6> outside = global.stream().filter(a -> !own.contains(a.address())).toList();
        if (!outside.isEmpty()) {
            return Check.fail(name, name + " has " + has + ", outside this node's IPv6 subnet " + own
                            + ": left from an earlier subnet of this node, so new pods get addresses no other node routes here",
                    "ip link delete " + name + " (the bridge plugin re-creates it at the next pod), then recreate the pods");
        }
        int mtu = env.map(SubnetEnv::mtu).orElse(0);
        if (mtu > 0 && bridge.link().mtu() > mtu) {
            return Check.fail(name, name + " has MTU " + bridge.link().mtu() + ", above FLANNEL_MTU " + mtu + ": pods send packets the overlay "
                    + "cannot carry, so small pings pass and large transfers stall", "ip link set " + name + " mtu " + mtu
                    + " and the same MTU on the pods' interfaces");
        }
        return Check.ok(name, name + " " + has + ", MTU " + bridge.link().mtu() + (mtu > 0 ? " (FLANNEL_MTU " + mtu + ")" : ""));
    }

    static Check bridge(LinkWithAddresses bridge, Optional<Ip4Net> subnet, Optional<SubnetEnv> env) {
        String name = bridge.link().name();
        boolean docker = name.equals("docker0");
        List<LinkAddress> addresses = bridge.addresses();
        String has = addresses.isEmpty() ? "no IPv4 address" : addresses.stream().map(LinkAddress::toString).collect(Collectors.joining(", "));
        if (subnet.isEmpty()) {
            return Check.warn(name, name + " has " + has + "; this node holds no subnet to compare it with (see lease)", null);
        }
        Ip4Net own = subnet.get();
        String gateway = Ip4.format(own.firstHost()) + "/" + own.prefixLength();
        int mtu = env.map(SubnetEnv::mtu).orElse(0);
        List<LinkAddress> outside = addresses.stream().filter(a -> !own.contains(a.address())).toList();
        if (addresses.isEmpty() || !outside.isEmpty()) {
            String what = name + " has " + has + (addresses.isEmpty() ? "" : ", outside this node's subnet " + own);
            if (docker) {
                return Check.fail(name, what + ": Docker started before flannel and kept its own --bip, so containers get addresses no other "
                                + "node routes here",
                        "restart dockerd with the node's subnet: flanneld-java mk-docker-opts -d /run/docker_opts.env (--bip=" + gateway
                                + (mtu > 0 ? " --mtu=" + mtu : "") + "), used by docker.service (deploy/systemd/docker-flannel.conf) or as "
                                + "\"bip\" in /etc/docker/daemon.json; order docker.service After=flanneld-java.service; then ip link delete docker0 "
                                + "and systemctl restart docker");
            }
            return Check.fail(name, what + ": left from an earlier subnet of this node, so new pods get addresses no other node routes here",
                    "ip link delete " + name + " (the bridge plugin re-creates it with " + gateway + " at the next pod), then recreate the pods");
        }
        Optional<LinkAddress> wide = addresses.stream().filter(a -> a.prefixLength() < own.prefixLength()).findFirst();
        if (wide.isPresent()) {
            return Check.fail(name, name + " has " + wide.get() + ", wider than this node's subnet " + own + ": its route takes other nodes' "
                    + "pod traffic onto this bridge", "ip addr del " + wide.get() + " dev " + name + " && ip addr add " + gateway + " dev " + name);
        }
        if (mtu > 0 && bridge.link().mtu() > mtu) {
            return Check.fail(name, name + " has MTU " + bridge.link().mtu() + ", above FLANNEL_MTU " + mtu + ": pods send packets the overlay "
                            + "cannot carry, so small pings pass and large transfers stall",
                    "ip link set " + name + " mtu " + mtu + " and the same MTU on the pods' interfaces"
                            + (docker ? " (dockerd --mtu=" + mtu + ", as mk-docker-opts writes it)" : " (the CNI config's \"mtu\")"));
        }
        return Check.ok(name, name + " " + has + ", MTU " + bridge.link().mtu() + (mtu > 0 ? " (FLANNEL_MTU " + mtu + ")" : ""));
    }
}
