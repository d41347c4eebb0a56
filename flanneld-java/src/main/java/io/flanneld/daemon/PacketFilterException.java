package io.flanneld.daemon;

/** A packet-filter program (iptables, nft) failed; the message names the command and what it said. */
public class PacketFilterException extends Exception {
    private static final long serialVersionUID = 1L;

    public PacketFilterException(String message) {
        super(message);
    }

    public PacketFilterException(String message, Throwable cause) {
        super(message, cause);
    }
}
