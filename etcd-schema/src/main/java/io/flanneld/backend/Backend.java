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

    /**
     * The BackendV6Data JSON object to publish in the local lease for the IPv6 half of the data path (e.g. the IPv6
     * VXLAN device's VtepMAC), or {@code null} when there is none.
     */
    default String backendV6Data() {
        return null;
    }

    /**
     * Whether this data path carries IPv6 as well: leases' IPv6 subnets, reached through their PublicIPv6. The daemon
     * runs a config's IPv6 half only with a backend that does.
     */
    default boolean carriesIpv6() {
        return false;
    }

    /** The MTU pods must use on this data path, written to subnet.env as FLANNEL_MTU. */
    int mtu();

    /**
     * Sets up the data path for the local lease, with the leases of every other host known so far.
     *
     * @throws PeersNotProgrammedException when the data path runs but some peers were refused by the kernel (not
     *                                     fatal: {@link #repair} retries them)
     * @throws Exception when the data path itself cannot be set up (the device cannot be created): fatal
     */
    void start(Lease local, List<Lease> peers) throws Exception;

    /**
     * Applies a batch of other hosts' lease changes, in order.
     *
     * @throws PeersNotProgrammedException when some peers were refused ({@link #repair} retries them)
     */
    void apply(List<LeaseEvent> events) throws Exception;

    /**
     * Compares the kernel state this data path owns with what it should be and puts back whatever someone else
     * removed or changed since it was programmed (a deleted device, a flushed route, a replaced neighbour entry, an
     * address taken off the device), and retries the peers the kernel refused before. Called by the daemon every
     * {@code --iptables-resync} seconds after {@link #start}; costs a few netlink dumps and no writes when nothing is
     * wrong. Logs one INFO line per repair, naming what it put back.
     *
     * @return one label per thing put back, from {@code device}, {@code address}, {@code link_up}, {@code route},
     *         {@code arp}, {@code fdb} (repeated per peer); empty when everything was in place
     */
    default List<String> repair() {
        return List.of();
    }

    /**
     * The interface index of the device this data path owns ({@code flannel.<VNI>}, {@code flannel0}), whose kernel
     * notifications make the daemon check at once instead of at the next period; 0 when it owns none.
     */
    default int deviceIndex() {
        return 0;
    }

    /**
     * Whether {@code ifindex} is a device this data path owns, so that a kernel notification about it may mean its
     * state changed: {@link #deviceIndex()}, and a data path with a device per address family (vxlan's {@code
     * flannel.<VNI>} and {@code flannel-v6.<VNI>}) says yes for each. Never for 0 (a notification that names no device).
     */
    default boolean ownsDevice(int ifindex) {
        return ifindex != 0 && ifindex == deviceIndex();
    }

    /**
     * Whether this data path programs neighbour (ARP) entries on {@link #deviceIndex()}, so that a neighbour
     * notification there may mean its state changed. A backend whose device is a busy shared interface and that keeps
     * no neighbour entries on it says false, so the interface's ordinary ARP churn causes no checks.
     */
    default boolean programsNeighbours() {
        return true;
    }

    /** How many other hosts the data path is currently programmed for (0 for a backend that programs nothing). */
    int peerCount();

    @Override
    void close();
}
