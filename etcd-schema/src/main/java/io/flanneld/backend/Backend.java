package io.flanneld.backend;

import io.flanneld.schema.Lease;
import java.util.List;

/**
 * A data path. The daemon drives it through its life: {@link #backendData()} is published in
 * the local lease, {@link #start} receives that lease once it is held, {@link #apply} receives
 * other hosts' lease changes in order, {@link #close} tears down what must not outlive the
 * process. A backend never talks to etcd.
 */
public interface Backend extends AutoCloseable {

    /** The lease's BackendType, e.g. {@code vxlan}. */
    String type();

    /** The BackendData JSON object to publish in the local lease, or {@code null}. */
    String backendData();

    /** The MTU pods must use on this data path, written to subnet.env as FLANNEL_MTU. */
    int mtu();

    /** Sets up the data path for the local lease, with the leases of every other host known so far. */
    void start(Lease local, List<Lease> peers) throws Exception;

    /** Applies a batch of other hosts' lease changes, in order. */
    void apply(List<LeaseEvent> events) throws Exception;

    /** How many other hosts the data path is currently programmed for (0 for a backend that programs nothing). */
    int peerCount();

    @Override
    void close();
}
