package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** {@link NetlinkRequests} yields the very bytes the socket's codecs write for the same request. */
class NetlinkRequestsTest {
    private final NetlinkRequests requests = new NetlinkRequests(8192);
    private final MessageWriter w = MessageWriter.allocate(8192);
    private final MacAddress mac = MacAddress.parse("02:00:00:01:02:03");

    @Test
    void neighbourFdbAndRouteAreTheCodecsBytes() {
        Neighbour neighbour = Neighbour.permanent(7, Ip4.parse("198.19.3.0"), mac);
        assertEquals(Hex.of(NeighbourCodec.replaceNeighbour(w, neighbour)), Hex.of(requests.replaceNeighbour(neighbour)));
        FdbEntry fdb = FdbEntry.permanent(7, mac, Ip4.parse("198.18.1.3"));
        assertEquals(Hex.of(NeighbourCodec.writeFdb(w, fdb, NeighbourCodec.FdbMode.REPLACE)),
                Hex.of(requests.replaceFdb(fdb)));
        Route route = Route.onlinkVia(Ip4Net.parse("198.19.3.0/24"), Ip4.parse("198.19.3.0"), 7);
        assertEquals(Hex.of(RouteCodec.add(w, route, true)), Hex.of(requests.addRoute(route, true)));
        assertEquals(Hex.of(RouteCodec.add(w, route, false)), Hex.of(requests.addRoute(route, false)));
    }

    @Test
    void eachRequestIsAWholeMessageInADirectBuffer() {
        ByteBuffer b = requests.addRoute(Route.onlinkVia(Ip4Net.parse("198.19.3.0/24"), Ip4.parse("198.19.3.0"), 7), true);
        assertEquals(true, b.isDirect());
        assertEquals(b.remaining(), b.order(java.nio.ByteOrder.nativeOrder()).getInt(b.position()));
    }
}
