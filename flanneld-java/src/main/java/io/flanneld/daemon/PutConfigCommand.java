package io.flanneld.daemon;

import io.flanneld.schema.ConfigCodec;
import io.flanneld.schema.ConfigException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code flanneld-java put-config}: validates a network config with the daemon's own rules and
 * writes it to {@code <prefix>/config}; the DaemonSet's init step, or an operator's safer
 * {@code etcdctl put}.
 */
@Command(name = "put-config", mixinStandardHelpOptions = true,
        description = "Validate a network config JSON file and write it to etcd (same etcd flags as the daemon).")
final class PutConfigCommand implements Callable<Integer> {
    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--file", required = true, paramLabel = "FILE", description = "The config, e.g. {\"Network\":\"10.244.0.0/16\",\"Backend\":{\"Type\":\"vxlan\"}}.")
    Path file;

    @Option(names = "--if-absent", description = "Leave an existing config in etcd untouched.")
    boolean ifAbsent;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String json;
        try {
            json = Files.readString(file);
            ConfigCodec.parse(json);
        } catch (IOException e) {
            err.println("flanneld-java put-config: cannot read " + file + ": " + e.getMessage());
            return 1;
        } catch (ConfigException e) {
            err.println("flanneld-java put-config: " + file + " is not a valid config: " + e.getMessage());
            return 2;
        }
        String config = json.strip();
        return main.withEtcd("put-config", err, registry -> {
            boolean written = registry.putConfig(config, ifAbsent);
            out.println(written ? "wrote " + main.keys().config() : main.keys().config() + " already exists; left as it is");
            out.flush();
            return 0;
        });
    }
}
