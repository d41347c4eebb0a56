package io.flanneld.daemon;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flanneld.lease.EtcdAccessException;
import io.flanneld.lease.EtcdUnavailableException;
import io.flanneld.lease.LeaseSnapshot;
import io.flanneld.lease.SubnetRegistry;
import io.flanneld.schema.Lease;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code flanneld-java leases}: the cluster's leases as an operator wants to read them, or as JSON. */
@Command(name = "leases", mixinStandardHelpOptions = true,
        description = "List the cluster's subnet leases (same etcd flags as the daemon).")
final class LeasesCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @ParentCommand
    Main main;

    @Spec
    CommandSpec spec;

    @Option(names = "--json", description = "Print a JSON array instead of a table.")
    boolean json;

    /** One row: what etcd holds for a subnet, with its time to expiry. */
    record Row(Lease lease, String vtepMac, Optional<Long> expiresInSeconds) {
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        return main.withEtcd("leases", err, registry -> {
            List<Row> rows = rows(registry);
            out.print(json ? toJson(rows) : table(rows));
            out.flush();
            return 0;
        });
    }

    static List<Row> rows(SubnetRegistry registry) throws EtcdUnavailableException, EtcdAccessException {
        LeaseSnapshot snapshot = registry.listLeases();
        List<Row> rows = new ArrayList<>();
        for (Lease lease : snapshot.leases().stream().sorted(Comparator.comparing(Lease::subnet)).toList()) {
            Optional<Long> ttl = lease.isReservation() ? Optional.empty() : registry.timeToLive(lease.etcdLeaseId());
            rows.add(new Row(lease, vtepMac(lease.attrs().backendData()), ttl));
        }
        return rows;
    }

    static String vtepMac(String backendData) {
        if (backendData == null) {
            return "";
        }
        try {
            JsonNode mac = JSON.readTree(backendData).get("VtepMAC");
            return mac == null ? "" : mac.asText();
        } catch (Exception e) {
            return "?";
        }
    }

    static String table(List<Row> rows) {
        StringBuilder sb = new StringBuilder(String.format("%-18s  %-15s  %-7s  %-17s  %-12s  %s%n",
                "SUBNET", "PUBLIC IP", "BACKEND", "VTEP MAC", "EXPIRES IN", "RESERVATION"));
        for (Row r : rows) {
            sb.append(String.format("%-18s  %-15s  %-7s  %-17s  %-12s  %s%n", r.lease().subnet(), r.lease().attrs().publicIpText(),
                    r.lease().attrs().backend(), r.vtepMac().isEmpty() ? "-" : r.vtepMac(),
                    r.lease().isReservation() ? "never" : r.expiresInSeconds().map(LeasesCommand::human).orElse("expired"),
                    r.lease().isReservation() ? "yes" : "no"));
        }
        return sb.toString();
    }

    static String human(long seconds) {
        Duration d = Duration.ofSeconds(seconds);
        return d.toHours() > 0 ? d.toHours() + "h" + d.toMinutesPart() + "m" : d.toMinutes() > 0 ? d.toMinutes() + "m" + d.toSecondsPart() + "s" : seconds + "s";
    }

    static String toJson(List<Row> rows) {
        ArrayNode array = JSON.createArrayNode();
        for (Row r : rows) {
            ObjectNode o = array.addObject();
            o.put("Subnet", r.lease().subnet().toString());
            o.put("PublicIP", r.lease().attrs().publicIpText());
            o.put("BackendType", r.lease().attrs().backendType());
            if (!r.vtepMac().isEmpty()) {
                o.put("VtepMAC", r.vtepMac());
            }
            o.put("Reservation", r.lease().isReservation());
            if (r.expiresInSeconds().isPresent()) {
                o.put("ExpiresInSeconds", r.expiresInSeconds().get());
            }
            o.put("EtcdLease", Long.toHexString(r.lease().etcdLeaseId()));
        }
        return array.toPrettyString() + System.lineSeparator();
    }
}
