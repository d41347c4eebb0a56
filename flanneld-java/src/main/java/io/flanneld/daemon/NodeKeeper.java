package io.flanneld.daemon;

import io.flanneld.backend.Backend;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps what the daemon set up on the node in place while it runs, because others change it: a firewall reload or
 * an admin flushes the iptables chains, someone runs {@code ip route flush dev flannel.1} or deletes the device,
 * Docker sets the FORWARD policy to DROP. Every {@code --iptables-resync} seconds (flannel's period for its iptables
 * rules, 5 by default) it runs {@link PacketFilter#ensure()} on every rule set and {@link Backend#repair()} on the
 * data path, and sooner when the kernel reports a change to the data path's device, its routes or neighbours
 * ({@link #onKernelChange}); each thing put back is one INFO line (from the part that put it back) and one count in
 * {@code flannel_repairs_total{what}}. A check that fails is logged, once per distinct failure, and tried again at the
 * next one. One thread; checks never overlap.
 */
final class NodeKeeper implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("flanneld");

    private final List<PacketFilter> filters;
    private final Backend backend;
    private final Duration period;
    private final Consumer<String> repaired;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "node-keeper");
        t.setDaemon(true);
        return t;
    });
    private final java.util.concurrent.atomic.AtomicBoolean pending = new java.util.concurrent.atomic.AtomicBoolean();
    private String lastFailure;

    /** @param repaired told the label of each repair, for the metric */
    NodeKeeper(List<PacketFilter> filters, Backend backend, Duration period, Consumer<String> repaired) {
        this.filters = List.copyOf(filters);
        this.backend = backend;
        this.period = period;
        this.repaired = repaired;
    }

    /** Checks at once (which installs rule sets not installed yet), then every period. */
    void start() {
        timer.scheduleWithFixedDelay(this::check, 0, period.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * A kernel notification: a change to the data path's device, its addresses, its routes or (for a data path that
     * programs them) its neighbours, or notifications lost to a full buffer, makes the keeper check within {@link
     * #DEBOUNCE}, once for a burst of them.
     */
    void onKernelChange(io.flanneld.net.KernelChange change) {
        if (change == io.flanneld.net.KernelChange.OVERRUN) {
            checkSoon();
        } else if (backend.ownsDevice(change.ifindex())
                && (change.kind() != io.flanneld.net.KernelChange.Kind.NEIGHBOUR || backend.programsNeighbours())) {
            checkSoon();
        }
    }

    /** How long a burst of notifications is gathered before the one check it causes. */
    static final Duration DEBOUNCE = Duration.ofMillis(100);

    /** Checks once, shortly, on the keeper's thread; further calls until then change nothing. */
    void checkSoon() {
        if (pending.compareAndSet(false, true)) {
            try {
                timer.schedule(() -> {
                    pending.set(false);
                    check();
                }, DEBOUNCE.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException closing) {
                pending.set(false);
            }
        }
    }

    /** One check of everything; package-private for tests. */
    void check() {
        StringBuilder failures = new StringBuilder();
        for (PacketFilter f : filters) {
            try {
                if (f.ensure()) {
                    LOG.info("repaired {}: put back missing rules in {}", f.what(), f.where());
                    repaired.accept(f.what());
                }
            } catch (PacketFilterException | RuntimeException e) {
                failures.append(f.what()).append(": ").append(e.getMessage()).append("; ");
            }
        }
        try {
            for (String what : backend.repair()) {
                repaired.accept(what);
            }
        } catch (RuntimeException e) {
            failures.append("backend ").append(backend.type()).append(": ").append(e.getMessage()).append("; ");
        }
        String now = failures.length() == 0 ? null : failures.substring(0, failures.length() - 2);
        if (now != null && !now.equals(lastFailure)) {
            LOG.warn("could not repair the node's state ({}); trying again in {} s", now, period.toSeconds());
        } else if (now == null && lastFailure != null) {
            LOG.info("the node's state is whole again");
        }
        lastFailure = now;
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
