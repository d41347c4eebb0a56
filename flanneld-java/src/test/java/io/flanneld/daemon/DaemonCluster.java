package io.flanneld.daemon;

import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.NetnsFabric;

/**
 * What every end-to-end daemon test stands on: a fabric of namespace hosts, etcd on its own host
 * at 198.18.0.100, and the pods the test attaches; all of it removed on close, even after a failure.
 */
final class DaemonCluster implements AutoCloseable {
    static final String PREFIX = "/coreos.com/network";

    private final NetnsFabric fabric;
    private final EtcdProcess etcd;
    private final Pods pods = new Pods();

    private DaemonCluster(NetnsFabric fabric, EtcdProcess etcd) {
        this.fabric = fabric;
        this.etcd = etcd;
    }

    static DaemonCluster start() {
        return start(null);
    }

    /** With {@code tls} non-null, etcd serves https with that PKI's server certificate and requires client certificates. */
    static DaemonCluster start(io.flanneld.testkit.TestPki tls) {
        NetnsFabric fabric = NetnsFabric.create();
        try {
            NetnsFabric.Host etcdHost = fabric.addHost("etcd", "198.18.0.100/16");
            EtcdProcess.Builder etcd = EtcdProcess.builder().netns(etcdHost.netns(), etcdHost.ip());
            if (tls != null) {
                etcd.tls(tls);
            }
            return new DaemonCluster(fabric, fabric.own(etcd.start()));
        } catch (RuntimeException e) {
            fabric.close();
            throw e;
        }
    }

    /** The overlay config the tests use, for a backend type. */
    static String networkConfig(String backendType) {
        return "{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"" + backendType + "\"}}";
    }

    NetnsFabric fabric() {
        return fabric;
    }

    EtcdProcess etcd() {
        return etcd;
    }

    Pods pods() {
        return pods;
    }

    void config(String json) {
        etcd.etcdctl("put", PREFIX + "/config", json).check();
    }

    /** The value of a lease key such as 198.19.7.0-24, empty when there is none. */
    String leaseValue(String keyName) {
        return etcd.etcdctl("get", PREFIX + "/subnets/" + keyName, "--print-value-only").check().stdout().strip();
    }

    @Override
    public void close() {
        try {
            pods.close();
        } finally {
            fabric.close();
        }
    }
}
