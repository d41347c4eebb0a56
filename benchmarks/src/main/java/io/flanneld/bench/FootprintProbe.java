package io.flanneld.bench;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.flanneld.lease.EtcdClients;
import io.flanneld.lease.EtcdOptions;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * What a start and a resident set cost before the daemon's own code, for benchmarks/run-footprint's "whose is it"
 * rows. Run from the daemon's own jar ({@code java -cp flanneld-java.jar:benchmarks/target/classes}), so that the
 * classes are exactly the daemon's:
 * <ul>
 *   <li>{@code jvm}: prints READY and idles — the JVM alone;</li>
 *   <li>{@code etcd <endpoint> <key>}: builds jetcd's client as the daemon does ({@link EtcdClients#connect}), reads
 *       the key, prints READY and idles — the JVM plus jetcd, gRPC, Netty and Vert.x, up to the first answer.</li>
 * </ul>
 * A last argument {@code --exit} makes it exit after READY instead of idling: the training run of a class-data
 * archive ({@code -XX:ArchiveClassesAtExit}), which is written at a normal exit only.
 * The caller times the process's start to the READY line and reads its resident set while it idles.
 */
public final class FootprintProbe {
    private FootprintProbe() {
    }

    public static void main(String[] args) throws Exception {
        boolean exit = args.length > 0 && args[args.length - 1].equals("--exit");
        if (exit) {
            args = java.util.Arrays.copyOf(args, args.length - 1);
        }
        Client client = null;
        if (args.length == 3 && args[0].equals("etcd")) {
            client = EtcdClients.connect(EtcdOptions.plain(args[1]));
            client.getKVClient().get(ByteSequence.from(args[2], StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
        } else if (!(args.length == 1 && args[0].equals("jvm"))) {
            System.err.println("usage: FootprintProbe (jvm | etcd <endpoint> <key>) [--exit]");
            System.exit(2);
        }
        System.out.println("READY");
        System.out.flush();
        if (exit) {
            if (client != null) {
                client.close();
            }
            System.exit(0);
        }
        Thread.sleep(Long.MAX_VALUE);
        client.close();
    }
}
