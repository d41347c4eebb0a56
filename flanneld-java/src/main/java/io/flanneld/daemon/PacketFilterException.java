package io.flanneld.daemon;

import java.util.List;

/**
 * A packet-filter program (iptables, nft) failed, ran past its time limit or could not be run; carries the command
 * line and what it wrote to stderr, and names both in the message.
 */
public class PacketFilterException extends Exception {
    private static final long serialVersionUID = 1L;

    private final List<String> command;
    private final int exitCode;
    private final String stderr;

    /** A command that exited with {@code exitCode} (-1: killed after its time limit), having written {@code stderr}. */
    protected PacketFilterException(String tool, List<String> command, int exitCode, String stderr) {
        super(tool + " command failed (" + (exitCode < 0 ? "timed out" : "exit " + exitCode) + "): "
                + String.join(" ", command) + (stderr.isBlank() ? "" : ": " + stderr.strip()));
        this.command = List.copyOf(command);
        this.exitCode = exitCode;
        this.stderr = stderr;
    }

    /** A command that could not be run or read ({@code problem}: "cannot start", "interrupted", …). */
    protected PacketFilterException(String tool, List<String> command, String problem, Throwable cause) {
        super(tool + " command failed (" + problem + "): " + String.join(" ", command), cause);
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

    /** What the program wrote to stderr (for an nft script: the failing line and a caret under the part it refused). */
    public String stderr() {
        return stderr;
    }
}
