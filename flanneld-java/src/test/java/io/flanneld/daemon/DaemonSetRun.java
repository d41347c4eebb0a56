package io.flanneld.daemon;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How {@link ImageIT} runs the DaemonSet's two containers (deploy/kubernetes/flanneld-java.yml) with docker on one
 * namespace host: the {@code docker} arguments, written out as the test uses them. {@code DaemonSetRunTest} derives
 * the same arguments from the manifest and compares, so the manifest cannot drift from what the test proved.
 *
 * <p>The mapping from the pod spec: {@code hostNetwork} is {@code --network host} under the host's own dockerd;
 * capabilities are {@code --cap-add}; every {@code hostPath} volume is the same path under the node's root directory
 * (the namespace hosts share the machine's file system, so each gets its own {@code /run/flannel},
 * {@code /etc/cni/net.d} and {@code /run/xtables.lock}), except a {@code CharDevice}, which is the machine's device
 * itself ({@code /dev/net/tun}); the Secret volume is a directory holding its items with its {@code defaultMode};
 * the ConfigMap volume a directory holding {@code net-conf.json}; {@code secretKeyRef} to the endpoints is the test's
 * etcd endpoint, {@code fieldRef: status.hostIP} the host's underlay address; the memory limit is {@code --memory}; an
 * init container's {@code command} is {@code --entrypoint} and the words after the image.
 */
final class DaemonSetRun {
    /** The image the manifest names, as deploy/image/build tags it. */
    static final String IMAGE = "flanneld-java:0.1.0";
    /** The Secret's defaultMode, given to the files of the etcd TLS directory. */
    static final String SECRET_FILE_MODE = "r--------";
    /** The liveness and readiness probe: GET http://127.0.0.1:10270/healthz in the host's network. */
    static final String PROBE_HOST = "127.0.0.1";
    static final int PROBE_PORT = 10270;
    static final String PROBE_PATH = "/healthz";
    /** Kubernetes' default terminationGracePeriodSeconds, for {@code docker stop -t}. */
    static final int STOP_GRACE_SECONDS = 30;

    private DaemonSetRun() {
    }

    /**
     * One node as the test lays it out.
     *
     * @param root          the node's root directory: hostPath volumes are the same paths under it
     * @param hostIp        the node's address ({@code status.hostIP})
     * @param etcdEndpoints the Secret's {@code endpoints}
     * @param etcdTls       the Secret volume: ca.crt, client.crt, client.key
     * @param netConf       the ConfigMap volume: net-conf.json
     */
    record Node(Path root, String hostIp, String etcdEndpoints, Path etcdTls, Path netConf) {
        Path hostPath(String path) {
            return root.resolve(path.substring(1));
        }
    }

    /** {@code docker run} arguments of the init container {@code write-net-conf}: writes the config if absent, exits. */
    static List<String> initContainer(Node n, String name) {
        List<String> a = new ArrayList<>(List.of("run", "--name", name, "--network", "host"));
        etcdEnv(a, n);
        a.addAll(List.of(
                "-v", n.netConf() + ":/etc/kube-flannel:ro",
                "-v", n.etcdTls() + ":/etc/flanneld-java/etcd:ro",
                "--entrypoint", "/opt/flanneld-java/bin/java",
                IMAGE,
                "-jar", "/opt/flanneld-java/flanneld-java.jar", "put-config", "--if-absent",
                "--file", "/etc/kube-flannel/net-conf.json"));
        return a;
    }

    /** {@code docker run -d} arguments of the daemon's container {@code flanneld-java}. */
    static List<String> container(Node n, String name) {
        List<String> a = new ArrayList<>(List.of("run", "-d", "--name", name, "--network", "host",
                "--cap-add", "NET_ADMIN", "--cap-add", "NET_RAW", "--memory", "256m"));
        etcdEnv(a, n);
        a.addAll(List.of(
                "-e", "FLANNELD_PUBLIC_IP=" + n.hostIp(),
                "-v", n.hostPath("/run/flannel") + ":/run/flannel",
                "-v", n.hostPath("/etc/cni/net.d") + ":/etc/cni/net.d",
                "-v", n.etcdTls() + ":/etc/flanneld-java/etcd:ro",
                "-v", "/dev/net/tun:/dev/net/tun",
                "-v", n.hostPath("/run/xtables.lock") + ":/run/xtables.lock",
                IMAGE,
                "--ip-masq", "--healthz-ip=0.0.0.0", "--healthz-port=10270",
                "--subnet-file=/run/flannel/subnet.env", "--cni-conf-dir=/etc/cni/net.d"));
        return a;
    }

    private static void etcdEnv(List<String> a, Node n) {
        a.addAll(List.of(
                "-e", "FLANNELD_ETCD_ENDPOINTS=" + n.etcdEndpoints(),
                "-e", "FLANNELD_ETCD_CAFILE=/etc/flanneld-java/etcd/ca.crt",
                "-e", "FLANNELD_ETCD_CERTFILE=/etc/flanneld-java/etcd/client.crt",
                "-e", "FLANNELD_ETCD_KEYFILE=/etc/flanneld-java/etcd/client.key"));
    }
}
