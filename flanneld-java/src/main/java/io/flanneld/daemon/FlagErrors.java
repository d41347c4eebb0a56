package io.flanneld.daemon;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/**
 * Reports a bad command line without echoing secrets. picocli's own messages quote the words
 * it could not match, so a mistyped {@code --etcd-pasword hunter2} would print the password to a
 * terminal, a journal or a pod log; this handler names unknown flags but never the words after them,
 * and masks every known password value in whatever else it prints.
 */
final class FlagErrors implements CommandLine.IParameterExceptionHandler {
    static final String MASK = "****";
    private static final String PASSWORD_FLAG = "--etcd-password";
    private static final String PASSWORD_ENV = "FLANNELD_ETCD_PASSWORD";

    private final Map<String, String> env;

    FlagErrors(Map<String, String> env) {
        this.env = env;
    }

    @Override
    public int handleParseException(CommandLine.ParameterException ex, String[] args) {
        ex.getCommandLine().getErr().println("flanneld-java: " + message(ex, args));
        ex.getCommandLine().getErr().println("Run with --help for the list of flags.");
        return 2;
    }

    String message(CommandLine.ParameterException ex, String[] args) {
        String text;
        if (ex instanceof CommandLine.UnmatchedArgumentException unmatched) {
            List<String> flags = new ArrayList<>();
            int values = 0;
            for (String word : unmatched.getUnmatched()) {
                if (word.startsWith("-")) {
                    int eq = word.indexOf('=');
                    flags.add(eq > 0 ? word.substring(0, eq) + "=" + MASK : word);
                } else {
                    values++;
                }
            }
            text = flags.isEmpty()
                    ? "unexpected argument(s) (" + values + " word(s), not shown)"
                    : "unknown flag(s) " + String.join(", ", flags)
                            + (values > 0 ? " (and " + values + " word(s) after them, not shown)" : "")
                            + suggestion(ex.getCommandLine(), flags);
        } else {
            text = ex.getMessage();
        }
        return mask(text, secrets(args));
    }

    /**
     * picocli's own suggestions are every flag sharing a prefix ("--etcd-" gives seven); a typo is
     * better served by the flags one or two edits away.
     */
    private static String suggestion(CommandLine cli, List<String> flags) {
        if (flags.size() != 1) {
            return "";
        }
        String typed = flags.get(0).replace("=" + MASK, "");
        List<String> close = new ArrayList<>();
        for (CommandLine.Model.OptionSpec option : cli.getCommandSpec().options()) {
            for (String name : option.names()) {
                if (name.startsWith("--") && editDistance(typed, name) <= 2) {
                    close.add(name);
                }
            }
        }
        return close.isEmpty() ? "" : "; did you mean " + String.join(" or ", close) + "?";
    }

    static int editDistance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitute = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(substitute, Math.min(prev[j], cur[j - 1]) + 1);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private List<String> secrets(String[] args) {
        List<String> found = new ArrayList<>();
        String fromEnv = env.get(PASSWORD_ENV);
        if (fromEnv != null && !fromEnv.isEmpty()) {
            found.add(fromEnv);
        }
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String name = a.startsWith("--") ? a : "-" + a;
            if (name.equals(PASSWORD_FLAG) && i + 1 < args.length) {
                found.add(args[i + 1]);
            } else if (name.startsWith(PASSWORD_FLAG + "=")) {
                found.add(name.substring(PASSWORD_FLAG.length() + 1));
            }
        }
        found.removeIf(String::isEmpty);
        return found;
    }

    private static String mask(String text, List<String> secrets) {
        String out = text;
        for (String s : secrets) {
            out = out.replace(s, MASK);
        }
        return out;
    }
}
