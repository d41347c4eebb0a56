package io.flanneld.daemon;

import java.util.List;

/** An nft command failed or ran past its time limit; carries the command line and what it wrote to stderr. */
public final class NfTablesException extends PacketFilterException {
    private static final long serialVersionUID = 1L;

    private final List<String> command;
    private final int exitCode;
    private final String stderr;

    public NfTablesException(List<String> command, int exitCode, String stderr) {
        super("nft command failed (" + (exitCode < 0 ? "timed out" : "exit " + exitCode) + "): "
                + String.join(" ", command) + (stderr.isBlank() ? "" : ": " + stderr.strip()));
        this.command = List.copyOf(command);
        this.exitCode = exitCode;
        this.stderr = stderr;
    }

    public NfTablesException(List<String> command, String problem, Throwable cause) {
        super("nft command failed (" + problem + "): " + String.join(" ", command), cause);
        this.command = List.copyOf(command);
        this.exitCode = -1;
        this.stderr = "";
    }

    /** The full command line, prefix included ({@code ... nft -f -} when a script went in on stdin). */
    public List<String> command() {
        return command;
    }

    /** The exit code, or -1 if the command timed out or could not be run. */
    public int exitCode() {
        return exitCode;
    }

    /** What nft wrote to stderr: for a script, the failing line and a caret under the part it refused. */
    public String stderr() {
        return stderr;
    }
}
