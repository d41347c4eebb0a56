package io.flanneld.schema;

/**
 * A network config that flannel would refuse. The message names the field and the offending
 * value so that an operator can fix the key in etcd without reading code.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;
    private final String field;

    public ConfigException(String field, String message) {
        super(field.isEmpty() ? message : field + ": " + message);
        this.field = field;
    }

    /** The JSON field at fault, e.g. {@code SubnetLen} or {@code Backend.Type}; empty for the document itself. */
    public String field() {
        return field;
    }
}
