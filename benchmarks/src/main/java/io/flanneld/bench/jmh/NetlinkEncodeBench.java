package io.flanneld.bench.jmh;

import io.flanneld.net.FdbEntry;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Neighbour;
import io.flanneld.net.NetlinkRequests;
import io.flanneld.net.Route;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Encoding the three requests the vxlan backend sends per peer (an ARP entry, an FDB entry, a route) with
 * linux-net's codecs, through {@link NetlinkRequests}, into a reused direct buffer as the netlink socket does;
 * nothing is sent to the kernel.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class NetlinkEncodeBench {
    private NetlinkRequests requests;
    private Neighbour neighbour;
    private FdbEntry fdb;
    private Route route;

    @Setup
    public void setUp() {
        requests = new NetlinkRequests(8192);
        MacAddress mac = MacAddress.parse("02:00:00:01:02:03");
        neighbour = Neighbour.permanent(7, Ip4.parse("198.19.3.0"), mac);
        fdb = FdbEntry.permanent(7, mac, Ip4.parse("198.18.1.3"));
        route = Route.onlinkVia(Ip4Net.parse("198.19.3.0/24"), Ip4.parse("198.19.3.0"), 7);
    }

    @Benchmark
    public ByteBuffer newNeigh() {
        return requests.replaceNeighbour(neighbour);
    }

    @Benchmark
    public ByteBuffer newNeighFdb() {
        return requests.replaceFdb(fdb);
    }

    @Benchmark
    public ByteBuffer newRoute() {
        return requests.addRoute(route, true);
    }
}
