package io.flanneld.daemon;

import java.util.List;

/** An nft command failed or ran past its time limit; see {@link PacketFilterException}. */
public final class NfTablesException extends PacketFilterException {
    private static final long serialVersionUID = 1L;

    public NfTablesException(List<String> command, int exitCode, String stderr) {
        super("nft", command, exitCode, stderr);
    }

    public NfTablesException(List<String> command, String problem, Throwable cause) {
        super("nft", command, problem, cause);
    }
}
