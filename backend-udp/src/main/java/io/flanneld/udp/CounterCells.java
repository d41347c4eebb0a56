package io.flanneld.udp;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The counters of one forwarding direction. Exactly one thread writes them (the loop that owns the direction), so an
 * increment is a plain read plus a release store: no locked instruction on the hot path, no allocation, and a reader
 * on another thread (the metrics scrape) sees every completed increment.
 */
final class CounterCells {
    static final int PACKETS = 0;
    static final int BYTES = 1;
    static final int UNKNOWN_PEER = 2;
    static final int SPOOFED_SOURCE = 3;
    static final int TTL = 4;
    static final int NO_ROUTE = 5;
    static final int MALFORMED = 6;
    static final int IO_ERRORS = 7;
    private static final int COUNT = 8;

    private final AtomicLongArray cells = new AtomicLongArray(COUNT);

    void add(int cell, long delta) {
        cells.setRelease(cell, cells.getPlain(cell) + delta);
    }

    void increment(int cell) {
        add(cell, 1);
    }

    long get(int cell) {
        return cells.getAcquire(cell);
    }

    static UdpCounters snapshot(CounterCells tunToUdp, CounterCells udpToTun) {
        return new UdpCounters(tunToUdp.get(PACKETS), tunToUdp.get(BYTES), udpToTun.get(PACKETS), udpToTun.get(BYTES),
                tunToUdp.get(UNKNOWN_PEER) + udpToTun.get(UNKNOWN_PEER),
                tunToUdp.get(SPOOFED_SOURCE) + udpToTun.get(SPOOFED_SOURCE),
                tunToUdp.get(TTL) + udpToTun.get(TTL),
                tunToUdp.get(NO_ROUTE) + udpToTun.get(NO_ROUTE),
                tunToUdp.get(MALFORMED) + udpToTun.get(MALFORMED),
                tunToUdp.get(IO_ERRORS) + udpToTun.get(IO_ERRORS));
    }
}
