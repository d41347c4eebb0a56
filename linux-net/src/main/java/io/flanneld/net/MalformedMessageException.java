package io.flanneld.net;

/**
 * A netlink message from the kernel could not be parsed: a length field pointing past the data, an attribute shorter
 * than its type requires, a missing mandatory field. Raised instead of an index error so the report says which
 * structure was bad.
 */
public final class MalformedMessageException extends RuntimeException {
    public MalformedMessageException(String message) {
        super(message);
    }
}
