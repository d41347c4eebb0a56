package io.flanneld.lease;

/**
 * Other hosts created the key of every subnet this host chose, many times in a row: not an etcd outage (etcd answered
 * every time) and not exhaustion (free subnets were listed), so neither waiting for etcd nor the exhaustion message
 * fits. The message names the range and the prefix; the daemon stops with it.
 */
public final class SubnetContentionException extends Exception {
    private static final long serialVersionUID = 1L;

    public SubnetContentionException(String message) {
        super(message);
    }
}
