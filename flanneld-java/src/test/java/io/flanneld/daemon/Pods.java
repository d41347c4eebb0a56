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
