package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flanneld.testkit.Cmd;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.NetnsFabric;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** containerd's path: the daemon writes a CNI config, the real CNI bridge plugin gives pods addresses from it. */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CniIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path CNI_BIN = Path.of("/usr/lib/cni");
    private DaemonCluster cluster;
    private NetnsFabric fabric;
    private EtcdProcess etcd;
    private final List<String> podNamespaces = new ArrayList<>();

    @TempDir
    Path dir;

    @BeforeEach
    void cluster() {
        cluster = DaemonCluster.start();
        fabric = cluster.fabric();
        etcd = cluster.etcd();
        cluster.config(DaemonCluster.networkConfig("vxlan"));
    }

    @AfterEach
    void teardown() {
        cluster.close();
    }

    /** Runs the bridge plugin in the host's namespace for a pod, as a CNI runtime would, and returns its result. */
    private Cmd.Result bridgePlugin(NetnsFabric.Host host, String command, String pod, JsonNode pluginConf) throws Exception {
        Path stdin = dir.resolve(pod + "-" + command + ".json");
        Files.writeString(stdin, pluginConf.toString());
        return host.exec(Duration.ofSeconds(20), "env", "CNI_COMMAND=" + command, "CNI_CONTAINERID=" + pod,
                "CNI_NETNS=/var/run/netns/" + pod, "CNI_IFNAME=eth0", "CNI_PATH=" + CNI_BIN,
                "bash", "-c", "exec " + CNI_BIN.resolve("bridge") + " < " + stdin);
    }

    /** The bridge entry of the conflist, made a stand-alone plugin config, with host-local's state kept in the test's directory. */
    private JsonNode pluginConf(JsonNode conflist, Path ipamDir) {
        ObjectNode bridge = ((ObjectNode) conflist.get("plugins").get(0)).deepCopy();
        bridge.put("cniVersion", conflist.get("cniVersion").asText());
        bridge.put("name", conflist.get("name").asText());
        ((ObjectNode) bridge.get("ipam")).put("dataDir", ipamDir.toString());
        return bridge;
    }

    @Test
    void podsGetAddressesFromTheirNodesLeaseAndReachEachOther() throws Exception {
        List<String> podIps = new ArrayList<>();
        List<Daemons.Running> daemons = new ArrayList<>();
        List<JsonNode> confs = new ArrayList<>();
        for (int i = 1; i <= 2; i++) {
            NetnsFabric.Host host = fabric.addHost("h" + i, "198.18.0." + i + "/16");
            Path netd = dir.resolve("h" + i).resolve("net.d");
            Daemons.Running d = Daemons.start(host, dir.resolve("h" + i), etcd.endpoint(), "--cni-conf-dir", netd.toString());
            d.awaitSubnetFile();
            d.awaitLog("backend vxlan started");
            daemons.add(d);
            Path conflist = netd.resolve("10-flannel.conflist");
            assertTrue(Files.exists(conflist), "the daemon writes " + conflist);
            JsonNode conf = JSON.readTree(Files.readString(conflist));
            String subnet = d.keyName().replace('-', '/');
            JsonNode bridge = conf.get("plugins").get(0);
            assertEquals("bridge", bridge.get("type").asText());
            assertEquals("cni0", bridge.get("bridge").asText());
            assertTrue(bridge.get("isGateway").asBoolean());
            assertTrue(bridge.get("ipMasq").asBoolean(), "the daemon does not masquerade (no --ip-masq), so the bridge does");
            assertEquals(1450, bridge.get("mtu").asInt());
            assertEquals(subnet, bridge.get("ipam").get("ranges").get(0).get(0).get("subnet").asText());
            assertEquals("198.19.0.0/16", bridge.get("ipam").get("routes").get(0).get("dst").asText());
            assertEquals("portmap", conf.get("plugins").get(1).get("type").asText());
            confs.add(conf);

            String pod = cluster.pods().bareNamespace("cp" + i + "-" + fabric.suffix());
            podNamespaces.add(pod);
            Cmd.Result add = bridgePlugin(host, "ADD", pod, pluginConf(conf, dir.resolve("ipam" + i)));
            assertEquals(0, add.exitCode(), "CNI ADD: " + add.stdout() + add.stderr());
            JsonNode result = JSON.readTree(add.stdout());
            String address = result.get("ips").get(0).get("address").asText();
            String ip = address.substring(0, address.indexOf('/'));
            assertTrue(io.flanneld.schema.Ip4Net.parse(subnet).contains(io.flanneld.schema.Ip4.parse(ip)),
                    "pod address " + address + " comes from the node's subnet " + subnet);
            podIps.add(ip);
        }
        for (int i = 0; i < 2; i++) {
            String from = podNamespaces.get(i);
            String to = podIps.get(1 - i);
            Cmd.Result ping = Cmd.run(Duration.ofSeconds(10), "ip", "netns", "exec", from, "ping", "-c", "2", "-W", "1", "-q", to);
            assertTrue(ping.ok(), from + " -> " + to + ": " + ping.stdout() + ping.stderr());
        }

        // DEL releases the address in host-local's store.
        Path ipamStore = dir.resolve("ipam1").resolve("flannel");
        assertTrue(Files.exists(ipamStore.resolve(podIps.get(0))), "host-local recorded the allocation");
        Cmd.Result del = bridgePlugin(fabric.host("h1"), "DEL", podNamespaces.get(0), pluginConf(confs.get(0), dir.resolve("ipam1")));
        assertEquals(0, del.exitCode(), "CNI DEL: " + del.stdout() + del.stderr());
        assertFalse(Files.exists(ipamStore.resolve(podIps.get(0))), "the address is released");

        // A node that loses its subnet to another host removes the config before it exits.
        Daemons.Running h2 = daemons.get(1);
        etcd.etcdctl("put", "/coreos.com/network/subnets/" + h2.keyName(), "{\"PublicIP\":\"198.18.0.77\",\"BackendType\":\"vxlan\"}").check();
        assertEquals(1, h2.awaitExit());
        assertFalse(Files.exists(dir.resolve("h2").resolve("net.d").resolve("10-flannel.conflist")), h2.logText());
    }

    /**
     * A dual-stack cluster: the conflist's two host-local ranges give a pod an IPv4 and an IPv6 address from its node's
     * two subnets (the real bridge plugin's ADD), and pods on two nodes reach each other over both families.
     */
    @Test
    void aCniAddOnADualStackHostGivesThePodBothAddresses() throws Exception {
        cluster.config("{\"Network\":\"198.19.0.0/16\",\"EnableIPv6\":true,\"IPv6Network\":\"2001:2:19::/48\",\"Backend\":{\"Type\":\"vxlan\"}}");
        List<String> v4 = new ArrayList<>();
        List<String> v6 = new ArrayList<>();
        for (int i = 1; i <= 2; i++) {
            NetnsFabric.Host host = fabric.addHost("h" + i, "198.18.0." + i + "/16");
            host.exec("ip", "-6", "addr", "add", "2001:2::" + i + "/64", "dev", host.iface(), "nodad").check();
            host.exec("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", "net.ipv6.conf.default.accept_dad=0").check();
            Path netd = dir.resolve("h" + i).resolve("net.d");
            Daemons.Running d = Daemons.start(host, dir.resolve("h" + i), etcd.endpoint(), "--cni-conf-dir", netd.toString());
            d.awaitSubnetFile();
            d.awaitLog("backend vxlan started");
            String subnet6 = d.subnetEnv().lines().filter(l -> l.startsWith("FLANNEL_IPV6_SUBNET=")).findFirst().orElseThrow()
                    .substring("FLANNEL_IPV6_SUBNET=".length()).replace("::1/", "::/");
            JsonNode conf = JSON.readTree(Files.readString(netd.resolve("10-flannel.conflist")));
            JsonNode ipam = conf.get("plugins").get(0).get("ipam");
            assertEquals(2, ipam.get("ranges").size(), "one range set per family: " + ipam);
            assertEquals(subnet6, ipam.get("ranges").get(1).get(0).get("subnet").asText());
            assertEquals("2001:2:19::/48", ipam.get("routes").get(1).get("dst").asText());

            String pod = cluster.pods().bareNamespace("cd" + i + "-" + fabric.suffix());
            Cmd.run(Duration.ofSeconds(10), "ip", "netns", "exec", pod, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0").check();
            Cmd.Result add = bridgePlugin(host, "ADD", pod, pluginConf(conf, dir.resolve("ipam6-" + i)));
            assertEquals(0, add.exitCode(), "CNI ADD: " + add.stdout() + add.stderr());
            JsonNode ips = JSON.readTree(add.stdout()).get("ips");
            assertEquals(2, ips.size(), "an address of each family: " + add.stdout());
            String a4 = ips.get(0).get("address").asText();
            String a6 = ips.get(1).get("address").asText();
            assertTrue(io.flanneld.schema.Ip4Net.parse(d.keyName().replace('-', '/').replaceAll("&.*", ""))
                    .contains(io.flanneld.schema.Ip4.parse(a4.substring(0, a4.indexOf('/')))), a4 + " in the node's IPv4 subnet");
            assertTrue(io.flanneld.schema.Ip6Net.parse(subnet6).contains(io.flanneld.schema.Ip6.parse(a6.substring(0, a6.indexOf('/')))),
                    a6 + " in the node's IPv6 subnet " + subnet6);
            Cmd.Result shown = Cmd.run(Duration.ofSeconds(10), "ip", "-n", pod, "addr", "show", "eth0");
            assertTrue(shown.stdout().contains(a4) && shown.stdout().contains(a6), shown.stdout());
            podNamespaces.add(pod);
            v4.add(a4.substring(0, a4.indexOf('/')));
            v6.add(a6.substring(0, a6.indexOf('/')));
        }
        for (int i = 0; i < 2; i++) {
            for (String to : List.of(v4.get(1 - i), v6.get(1 - i))) {
                Cmd.Result ping = Cmd.run(Duration.ofSeconds(10), "ip", "netns", "exec", podNamespaces.get(i), "ping", "-c", "2", "-W", "1",
                        "-q", to);
                assertTrue(ping.ok(), podNamespaces.get(i) + " -> " + to + ": " + ping.stdout() + ping.stderr());
            }
        }
    }
}
