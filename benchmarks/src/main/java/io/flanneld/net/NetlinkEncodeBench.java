package io.flanneld.net;

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
 * Encoding the three requests the vxlan backend sends per peer (an ARP entry, an FDB entry, a route), with
 * linux-net's codecs into a reused direct buffer, as {@link NetlinkSocket} does. This class lives in linux-net's
 * package because the codecs are package-private there (they are not API); nothing is sent to the kernel.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class NetlinkEncodeBench {
    private MessageWriter writer;
    private Neighbour neighbour;
    private FdbEntry fdb;
    private Route route;

    @Setup
    public void setUp() {
        writer = new MessageWriter(ByteBuffer.allocateDirect(8192));
        MacAddress mac = MacAddress.parse("02:00:00:01:02:03");
        neighbour = Neighbour.permanent(7, Ip4.parse("198.19.3.0"), mac);
        fdb = FdbEntry.permanent(7, mac, Ip4.parse("198.18.1.3"));
        route = Route.onlinkVia(Ip4Net.parse("198.19.3.0/24"), Ip4.parse("198.19.3.0"), 7);
    }

    @Benchmark
    public ByteBuffer newNeigh() {
        return NeighbourCodec.replaceNeighbour(writer, neighbour);
    }

    @Benchmark
    public ByteBuffer newNeighFdb() {
        return NeighbourCodec.writeFdb(writer, fdb, NeighbourCodec.FdbMode.REPLACE);
    }

    @Benchmark
    public ByteBuffer newRoute() {
        return RouteCodec.add(writer, route, true);
    }
}
