package io.flanneld.daemon;

/**
 * No usable underlay interface could be chosen from the flags and the host's links. The message names what was
 * looked for and what the host has, because the daemon cannot start without an interface and the operator has to
 * fix the flags.
 */
public final class InterfaceSelectionException extends Exception {
    public InterfaceSelectionException(String message) {
        super(message);
    }
}
