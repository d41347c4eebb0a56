package io.flanneld.testkit;

import java.util.List;

/**
 * Run in a child JVM by {@link ShutdownHookTest}: starts an etcd and a fabric with a tracked process, prints what it
 * made, then waits to be terminated without closing anything.
 */
public final class ShutdownHookProbe {
    private ShutdownHookProbe() {
    }

    public static void main(String[] args) throws Exception {
        EtcdProcess etcd = EtcdProcess.start();
        NetnsFabric fabric = NetnsFabric.create();
        NetnsFabric.Host h = fabric.addHost("h1", "198.18.0.1/16");
        Process p = h.start(List.of("sleep", "300"), null);
        System.out.println("READY " + etcd.pid() + " " + p.pid() + " " + etcd.dataDir() + " "
                + String.join(" ", fabric.namespaces()));
        System.out.flush();
        Thread.sleep(60_000);
        System.exit(3);
    }
}
