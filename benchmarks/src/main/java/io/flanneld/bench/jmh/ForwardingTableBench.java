package io.flanneld.bench.jmh;

import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.udp.ForwardingTable;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The udp backend's per-packet lookup: {@link ForwardingTable#find} of a destination address among {@code leases}
 * peer subnets (/28s of 198.19.0.0/16, so 4,000 fit), as TunToUdp does for every packet read from flannel0.
 * Destinations cycle through 1,024 addresses inside random peer subnets, so the branch predictor cannot learn one.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class ForwardingTableBench {
    @Param({"10", "1000", "4000"})
    public int leases;

    private ForwardingTable table;
    private final int[] destinations = new int[1024];
    private int next;

    @Setup
    public void setUp() {
        List<Lease> list = new ArrayList<>();
        int base = Ip4Net.parse("198.19.0.0/16").address();
        for (int i = 0; i < leases; i++) {
            Ip4Net subnet = new Ip4Net(base + ((i + 1) << 4), 28);
            int publicIp = Ip4Net.parse("198.18.0.0/16").address() + 1 + i;
            list.add(new Lease(subnet, new LeaseAttrs(publicIp, BackendConfig.UDP, null), 1, 1));
        }
        table = ForwardingTable.of(list);
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < destinations.length; i++) {
            Ip4Net subnet = list.get(random.nextInt(list.size())).subnet();
            destinations[i] = subnet.address() + 1 + random.nextInt(14);
        }
    }

    @Benchmark
    public int find() {
        int d = destinations[next++ & (destinations.length - 1)];
        return table.find(d);
    }
}
