package io.flanneld.daemon;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.hostgw.HostGwBackend;
import io.flanneld.schema.BackendConfig;
import io.flanneld.net.Rtnetlink;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.udp.UdpBackend;
import io.flanneld.udp.UdpOptions;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.flanneld.vxlan.VxlanBackend;

/** Chooses the data path named by the config's Backend.Type. */
final class Backends {
    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);
    private Backends() {
    }

    /**
     * @param netlink this host's rtnetlink connection; the caller closes it after the backend
     */
    static Backend create(NetworkConfig config, ExternalInterface iface, Rtnetlink netlink) {
        String type = config.backend().type();
        if (!BackendConfig.UDP.equals(type) && UdpBackend.removeDevice(netlink)) {
            // The udp backend leaves flannel0 (with its route to the whole Network) for its next start; this host
            // has stopped running it, and a device nobody reads would swallow traffic to unleased addresses.
            LOG.info("removed {}, left by the udp backend: Backend.Type is now {}", UdpBackend.DEVICE, type);
        }
        return switch (type) {
            case BackendConfig.ALLOC -> new AllocBackend(iface);
            case BackendConfig.VXLAN -> VxlanBackend.create(netlink, iface, config);
            case BackendConfig.UDP -> UdpBackend.create(netlink, iface, config, udpOptions(System.getProperties()));
            case BackendConfig.HOST_GW -> HostGwBackend.create(netlink, iface, config);
            default -> throw new UnsupportedBackendException("Backend.Type \"" + type
                    + "\" has no data path in this build; use \"vxlan\", \"udp\", \"host-gw\" or \"alloc\"");
        };
    }

    /**
     * The udp backend's options from the operator's {@code -D} flags ({@code flanneld.udp.tso}, {@code .uso},
     * {@code .coalesce}, {@code .gso}, {@code .gro} {@code =false}; {@code flanneld.udp.rxBatch}, {@code .txBatch});
     * the defaults for those not given.
     */
    static UdpOptions udpOptions(Properties properties) {
        return UdpOptions.fromProperties(properties);
    }

    /** The config names a backend this build cannot run. */
    static final class UnsupportedBackendException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnsupportedBackendException(String message) {
            super(message);
        }
    }
}
