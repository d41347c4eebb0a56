package io.flanneld.udp;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of the forwarding counters, for the daemon's metrics. All values count up from the backend's start.
 *
 * @param tunToUdpPackets packets read from flannel0 and sent to a peer (bytes: inner packet sizes)
 * @param udpToTunPackets datagrams received from peers and written to flannel0
 * @param droppedUnknownPeer datagrams from an address that is no lease's PublicIP
 * @param droppedSpoofedSource datagrams from a peer whose inner source address lies outside that peer's subnets
 * @param droppedTtl packets whose TTL reached 0 on the way out
 * @param droppedNoRoute packets to an address no lease holds (each answered with ICMP net unreachable when allowed)
 * @param droppedMalformed reads or datagrams that are not one well-formed IPv4 packet
 * @param ioErrors sends or TUN writes the kernel refused (e.g. a full socket buffer); the packet is lost
 */
public record UdpCounters(long tunToUdpPackets, long tunToUdpBytes, long udpToTunPackets, long udpToTunBytes,
                          long droppedUnknownPeer, long droppedSpoofedSource, long droppedTtl, long droppedNoRoute,
                          long droppedMalformed, long ioErrors) {

    public static final UdpCounters ZERO = new UdpCounters(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** Drops by reason, keyed by the metric label values: unknown_peer, spoofed_source, ttl, no_route, malformed. */
    public Map<String, Long> dropsByReason() {
        Map<String, Long> drops = new LinkedHashMap<>();
        drops.put("unknown_peer", droppedUnknownPeer);
        drops.put("spoofed_source", droppedSpoofedSource);
        drops.put("ttl", droppedTtl);
        drops.put("no_route", droppedNoRoute);
        drops.put("malformed", droppedMalformed);
        return drops;
    }

    public long droppedTotal() {
        return droppedUnknownPeer + droppedSpoofedSource + droppedTtl + droppedNoRoute + droppedMalformed;
    }
}
