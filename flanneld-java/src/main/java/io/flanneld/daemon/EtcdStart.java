package io.flanneld.daemon;

import io.etcd.jetcd.Client;
import io.flanneld.lease.EtcdAccessException;
import io.flanneld.lease.EtcdClients;
import io.flanneld.lease.LeaseManager;
import io.flanneld.lease.LeaseSession;
import io.flanneld.lease.RequestCounter;
import io.flanneld.lease.SubnetRegistry;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.NetworkConfig;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The etcd half of a start, on a thread of its own. Building jetcd's client (gRPC, Netty and Vert.x set up and their
 * classes loaded) and waiting for the Network config take most of a start and need nothing from the node, so they run
 * while the daemon sets up the node's half (metrics, health server, interface, netlink); {@link #await} joins them.
 */
final class EtcdStart implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("flanneld");

    /** What the etcd half made: the client, the lease session over it, and the config read through it. */
    record Ready(LeaseManager leases, LeaseSession session, NetworkConfig config) {
    }

    private final DaemonOptions options;
    private final Future<RequestCounter> requests;
    private final CompletableFuture<Ready> ready = new CompletableFuture<>();
    private final Thread thread;
    private volatile Client client;
    private volatile LeaseSession session;

    private EtcdStart(DaemonOptions options, Future<RequestCounter> requests) {
        this.options = options;
        this.requests = requests;
        this.thread = new Thread(this::run, "etcd-start");
        thread.setDaemon(true);
    }

    /**
     * Starts connecting. {@code requests} is the metrics' request counter, which the daemon builds meanwhile: the
     * registry waits for it, so that every request, the first included, is counted.
     */
    static EtcdStart begin(DaemonOptions options, Future<RequestCounter> requests) {
        EtcdStart start = new EtcdStart(options, requests);
        start.thread.start();
        return start;
    }

    private void run() {
        try {
            Client c = EtcdClients.connect(options.etcd());
            client = c;
            LOG.info("using {} with prefix {}", options.etcd(), options.etcdPrefix());
            SubnetRegistry registry = new SubnetRegistry(c, new EtcdKeys(options.etcdPrefix()), Duration.ofSeconds(5),
                    requests.get(), options.etcd());
            LeaseManager leases = new LeaseManager(registry, options.lease(), options.etcd().endpointList());
            LeaseSession s = new LeaseSession(leases, options.etcd().endpointList(), null);
            session = s;
            ready.complete(new Ready(leases, s, s.awaitConfig()));
        } catch (InterruptedException e) {
            ready.completeExceptionally(e);
        } catch (ExecutionException e) {
            ready.completeExceptionally(e.getCause());
        } catch (Exception | Error e) {
            ready.completeExceptionally(e);
        }
    }

    /**
     * Waits for the etcd half.
     *
     * @throws EtcdAccessException  etcd refused this node (a bad certificate, password or role): fatal
     * @throws InterruptedException the daemon is stopping
     */
    Ready await() throws EtcdAccessException, InterruptedException {
        try {
            return ready.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof EtcdAccessException access) {
                throw access;
            }
            if (cause instanceof InterruptedException) {
                throw new InterruptedException("stopped while waiting for etcd");
            }
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            if (cause instanceof Error error) {
                throw error;
            }
            throw new IllegalStateException(cause);
        }
    }

    /** Ends the etcd half if it still runs, then closes the session and the client. */
    @Override
    public void close() throws InterruptedException {
        thread.interrupt();
        thread.join(TimeUnit.SECONDS.toMillis(10));
        LeaseSession s = session;
        if (s != null) {
            s.close();
        }
        Client c = client;
        if (c != null) {
            c.close();
        }
    }
}
