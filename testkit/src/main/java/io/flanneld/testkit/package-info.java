/**
 * Test support: a real etcd ({@link io.flanneld.testkit.EtcdProcess}, {@link io.flanneld.testkit.EtcdCluster}),
 * network-namespace hosts on a shared bridge ({@link io.flanneld.testkit.NetnsFabric}), a real dockerd inside one
 * of those hosts ({@link io.flanneld.testkit.Dockerd}), bounded command runs
 * ({@link io.flanneld.testkit.Cmd}) and bounded waits ({@link io.flanneld.testkit.Wait}).
 *
 * <pre>{@code
 * try (NetnsFabric fabric = NetnsFabric.create()) {
 *     NetnsFabric.Host etcdHost = fabric.addHost("etcd", "198.18.0.100/16");
 *     NetnsFabric.Host h1 = fabric.addHost("h1", "198.18.0.1/16");
 *     EtcdProcess etcd = fabric.own(EtcdProcess.startInNamespace(etcdHost.netns(), etcdHost.ip()));
 *     Process daemon = h1.start(List.of("java", "-jar", jar, "--etcd-endpoints=" + etcd.endpoint()), log);
 *     Wait.until(Duration.ofSeconds(10), "subnet.env on h1", () -> Files.exists(subnetEnv));
 * }   // ends the daemon, the etcd, and deletes every namespace, even if the test failed
 * }</pre>
 *
 * Needs root, iproute2, etcd-server, etcd-client and iputils-ping (for ping checks); {@code Dockerd} also needs
 * docker.io, containerd and busybox-static.
 */
package io.flanneld.testkit;
