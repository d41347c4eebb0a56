package io.flanneld.daemon;

import java.util.List;

/** An iptables command failed or ran past its time limit; carries the command line and what it wrote to stderr. */
public final class IptablesException extends PacketFilterException {
    private final List<String> command;
    private final int exitCode;
    private final String stderr;

    public IptablesException(List<String> command, int exitCode, String stderr) {
        super("iptables command failed (" + (exitCode < 0 ? "timed out" : "exit " + exitCode) + "): "
                + String.join(" ", command) + (stderr.isBlank() ? "" : ": " + stderr.strip()));
        this.command = List.copyOf(command);
        this.exitCode = exitCode;
        this.stderr = stderr;
    }

    public IptablesException(List<String> command, String problem, Throwable cause) {
        super("iptables command failed (" + problem + "): " + String.join(" ", command), cause);
        this.command = List.copyOf(command);
        this.exitCode = -1;
        this.stderr = "";
    }

    /** The full command line, prefix included. */
    public List<String> command() {
        return command;
    }

    /** The exit code, or -1 if the command timed out or could not be run. */
    public int exitCode() {
        return exitCode;
    }

    public String stderr() {
        return stderr;
    }
}
