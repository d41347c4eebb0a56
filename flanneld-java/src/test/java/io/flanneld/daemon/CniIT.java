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
}
