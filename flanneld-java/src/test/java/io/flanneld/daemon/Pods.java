package io.flanneld.daemon;

import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.NetnsFabric;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * "Pods" for end-to-end tests: a namespace per pod plugged into a bridge on its host that holds
 * the first address of the host's FLANNEL_SUBNET, as Docker does with --bip. Removes its
 * namespaces on close.
 */
final class Pods implements AutoCloseable {
    private static final Duration T = Duration.ofSeconds(10);
    private final List<String> namespaces = new ArrayList<>();

    /** A pod on {@code host} using {@code daemon}'s subnet.env; returns the pod's namespace and address. */
    record Pod(String netns, String ip) {
        Cmd.Result ping(String dst, int count) {
            return Cmd.run(Duration.ofSeconds(count + 5L), "ip", "netns", "exec", netns, "ping", "-c", Integer.toString(count),
                    "-i", "0.2", "-W", "1", "-q", dst);
        }
    }

    Pod attach(NetnsFabric.Host host, Daemons.Running daemon) {
        String env = daemon.subnetEnv();
        String mtu = env.lines().filter(l -> l.startsWith("FLANNEL_MTU=")).findFirst().orElseThrow().substring(12);
        return attach(host, daemon.subnet(), mtu);
    }

    /**
     * A pod on {@code host} addressed from {@code subnet} (FLANNEL_SUBNET's form, e.g. 198.19.7.1/24), for a host whose
     * subnet does not come from one of this project's daemons (a node standing in for flannel's own).
     */
    Pod attach(NetnsFabric.Host host, String subnet, String mtu) {
        String gw = subnet.substring(0, subnet.indexOf('/'));
        String ip = gw.substring(0, gw.lastIndexOf('.')) + ".2";
        String len = subnet.substring(subnet.indexOf('/') + 1);
        String ns = "p" + host.name() + "-" + host.fabric().suffix();
        host.exec("sysctl", "-qw", "net.ipv4.ip_forward=1").check();
        host.exec("ip", "link", "add", "cni0", "type", "bridge").check();
        host.exec("ip", "addr", "add", subnet, "dev", "cni0").check();
        host.exec("ip", "link", "set", "cni0", "mtu", mtu, "up").check();
        Cmd.run(T, "ip", "netns", "add", ns).check();
        namespaces.add(ns);
        host.exec("ip", "link", "add", "vpod", "mtu", mtu, "type", "veth", "peer", "name", "eth0", "netns", ns).check();
        host.exec("ip", "link", "set", "vpod", "master", "cni0", "up").check();
        Cmd.run(T, "ip", "-n", ns, "link", "set", "lo", "up").check();
        Cmd.run(T, "ip", "-n", ns, "link", "set", "eth0", "mtu", mtu, "up").check();
        Cmd.run(T, "ip", "-n", ns, "addr", "add", ip + "/" + len, "dev", "eth0").check();
        Cmd.run(T, "ip", "-n", ns, "route", "add", "default", "via", gw).check();
        return new Pod(ns, ip);
    }

    /**
     * A pod on {@code host} with an address of each family {@code daemon}'s subnet.env names: the bridge cni0 holds the
     * first address of FLANNEL_SUBNET and of FLANNEL_IPV6_SUBNET, the pod the second of each, with default routes of
     * both families through cni0. {@link Pod#ip()} is the IPv4 address (null on an IPv6-only host), {@code ip6} the
     * IPv6 one.
     */
    DualPod attachDualStack(NetnsFabric.Host host, Daemons.Running daemon) {
        return attachDualStack(host, daemon.subnetEnv());
    }

    /** {@link #attachDualStack(NetnsFabric.Host, Daemons.Running)} from a subnet.env's text (a node not run by a daemon here). */
    DualPod attachDualStack(NetnsFabric.Host host, String env) {
        String mtu = variable(env, "FLANNEL_MTU");
        String subnet = variable(env, "FLANNEL_SUBNET");
        String subnet6 = variable(env, "FLANNEL_IPV6_SUBNET");
        String ns = "p" + host.name() + "-" + host.fabric().suffix();
        // No duplicate address detection on the links made here (as for the addresses: nodad), so that the pod's and the
        // bridge's IPv6 addresses, link-local ones included, answer at once rather than a second or two later.
        host.exec("sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0").check();
        host.exec("ip", "link", "add", "cni0", "type", "bridge").check();
        host.exec("ip", "link", "set", "cni0", "mtu", mtu, "up").check();
        Cmd.run(T, "ip", "netns", "add", ns).check();
        namespaces.add(ns);
        Cmd.run(T, "ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0").check();
        host.exec("ip", "link", "add", "vpod", "mtu", mtu, "type", "veth", "peer", "name", "eth0", "netns", ns).check();
        host.exec("ip", "link", "set", "vpod", "master", "cni0", "up").check();
        Cmd.run(T, "ip", "-n", ns, "link", "set", "lo", "up").check();
        Cmd.run(T, "ip", "-n", ns, "link", "set", "eth0", "mtu", mtu, "up").check();
        String ip = null;
        if (subnet != null) {
            String gw = subnet.substring(0, subnet.indexOf('/'));
            ip = gw.substring(0, gw.lastIndexOf('.')) + ".2";
            host.exec("sysctl", "-qw", "net.ipv4.ip_forward=1").check();
            host.exec("ip", "addr", "add", subnet, "dev", "cni0").check();
            Cmd.run(T, "ip", "-n", ns, "addr", "add", ip + subnet.substring(subnet.indexOf('/')), "dev", "eth0").check();
            Cmd.run(T, "ip", "-n", ns, "route", "add", "default", "via", gw).check();
        }
        String gw6 = subnet6.substring(0, subnet6.indexOf('/'));
        String ip6 = gw6.substring(0, gw6.length() - 1) + "2";
        host.exec("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1").check();
        host.exec("ip", "-6", "addr", "add", subnet6, "dev", "cni0", "nodad").check();
        Cmd.run(T, "ip", "-n", ns, "-6", "addr", "add", ip6 + subnet6.substring(subnet6.indexOf('/')), "dev", "eth0", "nodad").check();
        Cmd.run(T, "ip", "-n", ns, "-6", "route", "add", "default", "via", gw6).check();
        return new DualPod(ns, ip, ip6);
    }

    private static String variable(String env, String name) {
        return env.lines().filter(l -> l.startsWith(name + "=")).findFirst().map(l -> l.substring(name.length() + 1)).orElse(null);
    }

    /** A pod with an IPv4 address (null on an IPv6-only host) and an IPv6 one. */
    record DualPod(String netns, String ip, String ip6) {
        Cmd.Result ping(String dst, int count) {
            return new Pod(netns, ip).ping(dst, count);
        }
    }

    /** Every pod pings every other one, over IPv4 (where both have an IPv4 address) and over IPv6. */
    static void assertAllReachEachOtherOverBothFamilies(java.util.Map<String, DualPod> all) {
        for (var from : all.entrySet()) {
            for (var to : all.entrySet()) {
                if (from.getKey().equals(to.getKey())) {
                    continue;
                }
                List<String> targets = new ArrayList<>();
                if (from.getValue().ip() != null && to.getValue().ip() != null) {
                    targets.add(to.getValue().ip());
                }
                targets.add(to.getValue().ip6());
                for (String target : targets) {
                    Cmd.Result r = from.getValue().ping(target, 2);
                    org.junit.jupiter.api.Assertions.assertTrue(r.ok(),
                            from.getKey() + " -> " + to.getKey() + " (" + target + "): " + r.stdout() + r.stderr());
                }
            }
        }
    }

    /** A pod namespace with nothing in it yet, for a CNI plugin to set up; removed on close. */
    String bareNamespace(String name) {
        Cmd.run(T, "ip", "netns", "add", name).check();
        namespaces.add(name);
        return name;
    }

    /** Every pod pings every other one. */
    static void assertAllReachEachOther(java.util.Map<String, Pod> all) {
        for (var from : all.entrySet()) {
            for (var to : all.entrySet()) {
                if (!from.getKey().equals(to.getKey())) {
                    Cmd.Result r = from.getValue().ping(to.getValue().ip(), 2);
                    org.junit.jupiter.api.Assertions.assertTrue(r.ok(),
                            from.getKey() + " -> " + to.getKey() + " (" + to.getValue().ip() + "): " + r.stdout() + r.stderr());
                }
            }
        }
    }

    @Override
    public void close() {
        for (String ns : namespaces) {
            Cmd.run(T, "ip", "netns", "del", ns);
        }
        namespaces.clear();
    }
}
