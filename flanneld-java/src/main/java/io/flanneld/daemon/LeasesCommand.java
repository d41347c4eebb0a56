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
        // IPv4-holding leases by IPv4 subnet, then IPv6-only ones by IPv6 subnet.
        Comparator<Lease> order = Comparator.comparing(Lease::subnet, Comparator.nullsLast(Comparator.naturalOrder()))
                .thenComparing(Lease::ipv6Subnet, Comparator.nullsLast(Comparator.naturalOrder()));
        for (Lease lease : snapshot.allLeases().sorted(order).toList()) {
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

    /**
     * The table; with any IPv6 lease in the cluster, two more columns (IPV6 SUBNET, PUBLIC IPV6) after PUBLIC IP, and
     * "-" for a family a lease does not hold.
     */
    static String table(List<Row> rows) {
        boolean v6 = rows.stream().anyMatch(r -> r.lease().ipv6Subnet() != null);
        String v6Header = v6 ? String.format("%-24s  %-24s  ", "IPV6 SUBNET", "PUBLIC IPV6") : "";
        StringBuilder sb = new StringBuilder(String.format("%-18s  %-15s  %s%-7s  %-17s  %-12s  %s%n",
                "SUBNET", "PUBLIC IP", v6Header, "BACKEND", "VTEP MAC", "EXPIRES IN", "RESERVATION"));
        for (Row r : rows) {
            Lease l = r.lease();
            String v6Cells = v6 ? String.format("%-24s  %-24s  ", l.ipv6Subnet() == null ? "-" : l.ipv6Subnet(),
                    l.attrs().publicIpv6() == null ? "-" : l.attrs().publicIpv6()) : "";
            sb.append(String.format("%-18s  %-15s  %s%-7s  %-17s  %-12s  %s%n", l.subnet() == null ? "-" : l.subnet(),
                    l.attrs().publicIpText(), v6Cells,
                    l.attrs().backend(), r.vtepMac().isEmpty() ? "-" : r.vtepMac(),
                    l.isReservation() ? "never" : r.expiresInSeconds().map(LeasesCommand::human).orElse("expired"),
                    l.isReservation() ? "yes" : "no"));
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
            if (r.lease().subnet() != null) {
                o.put("Subnet", r.lease().subnet().toString());
            }
            o.put("PublicIP", r.lease().attrs().publicIpText());
            if (r.lease().ipv6Subnet() != null) {
                o.put("IPv6Subnet", r.lease().ipv6Subnet().toString());
            }
            if (r.lease().attrs().publicIpv6() != null) {
                o.put("PublicIPv6", r.lease().attrs().publicIpv6().toString());
            }
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
