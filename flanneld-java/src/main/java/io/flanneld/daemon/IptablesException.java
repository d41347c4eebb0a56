package io.flanneld.daemon;

import java.util.List;

/** An iptables command failed or ran past its time limit; see {@link PacketFilterException}. */
public final class IptablesException extends PacketFilterException {
    private static final long serialVersionUID = 1L;

    public IptablesException(List<String> command, int exitCode, String stderr) {
        super("iptables", command, exitCode, stderr);
    }

    public IptablesException(List<String> command, String problem, Throwable cause) {
        super("iptables", command, problem, cause);
    }
}
