package io.flanneld.daemon;

import io.flanneld.backend.Backend;
import io.flanneld.backend.ExternalInterface;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.NetworkConfig;

/** Chooses the data path named by the config's Backend.Type. */
final class Backends {
    private Backends() {
    }

    static Backend create(NetworkConfig config, ExternalInterface iface) {
        String type = config.backend().type();
        return switch (type) {
            case BackendConfig.ALLOC -> new AllocBackend(iface);
            default -> throw new UnsupportedBackendException("Backend.Type \"" + type
                    + "\" has no data path in this build; use \"alloc\"");
        };
    }

    /** The config names a backend this build cannot run. */
    static final class UnsupportedBackendException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UnsupportedBackendException(String message) {
            super(message);
        }
    }
}
