package io.flanneld.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/** The Markdown of a run, from the document {@link RunMerge} made: the tables, the README's blocks. */
final class RunMarkdown {
    /** Where {@link #tables} links the plots, until {@link #linkPlots} says where they are. */
    private static final String PLOT_LINK = "](PLOTDIR/";

    private RunMarkdown() {
    }

    /** {@code table} with its plot links pointing into {@code dir} ("" when the plots sit beside the Markdown). */
    static String linkPlots(String table, String dir) {
        return table.replace(PLOT_LINK, "](" + dir);
    }

    /** The "Latest run" block of benchmarks/README.md: where the run's files are, its tables, how to read them. */
    static String latestRun(String table, String stamp) {
        return "## Latest run\n\n" + "Made by `benchmarks/run` on " + stamp + " (`results/" + stamp + ".json`, `results/"
                + stamp + ".md`).\n\n" + linkPlots(table, "results/") + "\n" + HOW_TO_READ;
    }

    /**
     * The tables of a run (machine, data plane, control plane at scale, hot paths), the plots linked as
     * {@code PLOTDIR/<stamp>-….png}: see {@link #linkPlots}.
     */
    static String tables(JsonNode r) {
        StringBuilder b = new StringBuilder();
        JsonNode m = r.get("machine");
        b.append(String.format("Machine: %d cores (%s), %.1f GB, kernel %s, Java %s; load average %s at the start, %s at the end "
                        + "(the machine is shared with other builds and tests while this runs). Whole run before this report: %.0f s.%n%n",
                m.get("nproc").asInt(), m.get("cpu").asText(), m.get("mem_total_gb").asDouble(), m.get("kernel").asText(),
                m.get("java").asText(), m.get("loadavg_at_start").asText(), m.get("loadavg_at_end").asText(),
                r.get("elapsed_s_before_report").asDouble()));

        JsonNode d = r.get("data_plane");
        JsonNode gbps = d.path("gbps");
        b.append("### Data plane\n\n");
        b.append("| path (TCP, iperf3, 1 stream) | Gbit/s | measured by |\n| --- | ---: | --- |\n");
        RunMerge.PATH_LABELS.forEach((key, label) -> {
            if (gbps.has(key)) {
                b.append(String.format("| %s%s | %.2f | %s |%n", label, key.startsWith("veth") ? ", namespace to namespace"
                        : ", pod to pod", gbps.get(key).asDouble(), d.path("measured_in").path(key).asText()));
            }
        });
        JsonNode ratios = d.path("ratios");
        b.append("\n");
        if (ratios.has("ours_vxlan_over_kernel_vxlan")) {
            b.append(String.format("- **ours VXLAN / kernel VXLAN (hand-configured), pod to pod: %.3f** (same run; target ≥ 0.95)%n",
                    ratios.get("ours_vxlan_over_kernel_vxlan").asDouble()));
            b.append(String.format("- kernel VXLAN / bare veth (VTEP to VTEP, same run): %.3f%n", ratios.get("kernel_vxlan_over_veth").asDouble()));
        }
        if (ratios.has("ours_udp_over_kernel_vxlan")) {
            b.append(String.format("- **ours UDP / kernel VXLAN, pod to pod: %.3f** (same udp-throughput run: kernel VXLAN %.2f, "
                            + "veth %.2f Gbit/s there)%n", ratios.get("ours_udp_over_kernel_vxlan").asDouble(),
                    d.path("udp_run_kernel_vxlan_pod_to_pod_gbps").asDouble(), d.path("udp_run_veth_gbps").asDouble()));
        }
        if (ratios.has("ours_hostgw_over_host_to_host")) {
            b.append(String.format("- **ours host-gw, pod to pod / host to host over the bare veth: %.3f** (same hostgw-throughput run: "
                            + "host to host %.2f Gbit/s there; target ≥ 0.95); ours / pods routed by hand with the same routes: %.3f; "
                            + "ours host-gw / kernel VXLAN pod to pod in that run (%.2f Gbit/s): %.3f%n",
                    ratios.get("ours_hostgw_over_host_to_host").asDouble(), d.path("hostgw_run_host_to_host_gbps").asDouble(),
                    ratios.path("ours_hostgw_over_hand_routed").asDouble(), d.path("hostgw_run_kernel_vxlan_pod_to_pod_gbps").asDouble(),
                    ratios.path("ours_hostgw_over_kernel_vxlan").asDouble()));
        }
        if (d.has("vxlan_params") || d.has("udp_params") || d.has("hostgw_params")) {
            b.append(String.format("- settings: vxlan-throughput %s, %s alternating reps; udp-throughput %s, %s reps; "
                            + "hostgw-throughput %s, %s alternating reps%n",
                    d.path("vxlan_params").path("iperf3").asText("?"), d.path("vxlan_params").path("reps_pod_rows").asText("?"),
                    d.path("udp_params").path("iperf3").asText("?"), d.path("udp_params").path("reps_pod_rows").asText("?"),
                    d.path("hostgw_params").path("iperf3").asText("?"), d.path("hostgw_params").path("reps").asText("?")));
        }
        b.append("\n![throughput per data path](PLOTDIR/").append(r.get("utc").asText()).append("-throughput.png)\n\n");

        b.append("### Control plane at scale (alloc backend, N nodes started at once)\n\n");
        b.append("| etcd | N | all leased, s | lease p50 / p99 per node, s | new lease to all N watchers, p50 / p99 ms "
                + "| etcd requests per node | watch streams | duplicates | watchers behind | resyncs / reconnects "
                + "| heap per node, KB | RSS per node, KB | verdict |\n");
        b.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n");
        JsonNode runs = r.get("scale");
        if (runs != null) {
            for (JsonNode s : runs) {
                String etcd = s.get("etcd_members").asInt() == 1 ? "1 member" : s.get("etcd_members").asInt() + " members";
                if (s.has("error")) {
                    b.append(String.format("| %s | %,d | error: %s | | | | | | | | | | **failed** |%n", etcd, s.get("nodes").asInt(),
                            s.get("error").asText().replace("|", "/")));
                    continue;
                }
                JsonNode lp = s.get("lease_ms_per_node");
                JsonNode pp = s.get("propagation_ms");
                JsonNode mem = s.get("memory");
                b.append(String.format("| %s | %,d | %.1f | %.1f / %.1f | %s | %.1f | %d | %d | %d | %d / %d | %.0f | %.0f | %s |%n",
                        etcd, s.get("nodes").asInt(), s.get("all_leased_ms").asDouble() / 1000,
                        lp.get("p50").asDouble() / 1000, lp.get("p99").asDouble() / 1000,
                        pp.get("n").asInt() == 0 ? "not measured" : String.format("%.0f / %.0f", pp.get("p50").asDouble(), pp.get("p99").asDouble()),
                        s.get("etcd_requests_per_node_start").asDouble(), s.get("watch_streams_opened").asInt(),
                        s.get("duplicates").get("total").asInt(), s.get("watchers_behind_at_end").asInt(),
                        s.get("watcher_resyncs").asInt(), s.get("watcher_reconnects").asInt(),
                        mem.get("heap_kb_per_node").asDouble(), mem.get("rss_kb_per_node").asDouble(), verdict(s)));
            }
        }
        JsonNode sp = r.get("scale_params");
        if (sp != null) {
            b.append(String.format("%nNetwork %s with SubnetLen %d (alloc backend), %d new leases for the propagation figure, "
                            + "etcd request timeout %d s per node (the daemon's is 5 s; benchmarks/README.md says why); jetcd "
                            + "clients: %s; watch threads shared by all nodes: %s; unmeasured warm-up round: %s nodes; GC: %s.%n",
                    sp.get("network").asText(), sp.get("subnet_len").asInt(), sp.get("new_leases").asInt(),
                    sp.path("request_timeout_s").asInt(), clientsNote(runs), sp.path("watch_threads").asText("?"),
                    sp.path("warm_up_nodes").asText("?"), sp.path("gc").asText("?")));
        }
        b.append("\n![lease wall time against N](PLOTDIR/").append(r.get("utc").asText()).append("-lease-time.png)\n\n");

        if (r.has("footprint")) {
            b.append(footprint(r.get("footprint")));
        }

        b.append("### Hot paths (JMH, ns/op, average time, ± the 99.9 % confidence half-width)\n\n");
        b.append("| benchmark | parameters | ns/op | ± |\n| --- | --- | ---: | ---: |\n");
        for (JsonNode j : r.get("jmh")) {
            b.append(String.format("| %s | %s | %.2f | %.2f |%n", j.get("benchmark").asText(), j.get("params").asText(),
                    j.get("score").asDouble(), j.get("error").asDouble()));
        }
        return b.toString();
    }

    /** The footprint rows of run-footprint's JSON: start, memory, stop, and the udp backend's restart. */
    static String footprint(JsonNode f) {
        StringBuilder b = new StringBuilder("### Footprint (`run-footprint`, vxlan backend, median of ")
                .append(f.path("params").path("starts").asInt()).append(" starts)\n\n");
        b.append("| JVM set-up | start → subnet.env | start → backend running | settled RSS | threads | stop |\n");
        b.append("| --- | ---: | ---: | ---: | ---: | ---: |\n");
        f.path("rows").fields().forEachRemaining(e -> {
            JsonNode x = e.getValue();
            b.append(String.format("| %s | %.0f ms (%.1f × `java -version`) | %.0f ms | %.1f MB | %d | %.0f ms |%n", e.getKey(),
                    x.path("subnet_env_ms").asDouble(), x.path("subnet_env_x_bare_jvm").asDouble(), x.path("running_ms").asDouble(),
                    x.path("settled_rss_mb").asDouble(), x.path("threads").asInt(), x.path("stop_ms").asDouble()));
        });
        f.path("udp").fields().forEachRemaining(e -> b.append(String.format(
                "%n- udp backend (%s): %.2f Gbit/s pod to pod, RSS at most %.1f MB while forwarding; a restart lost %.0f ms of "
                        + "pod-to-pod pings (median)%n", e.getKey(), e.getValue().path("forwarding_gbps").asDouble(),
                e.getValue().path("rss_forwarding_peak_max_mb").asDouble(), e.getValue().path("restart_gap_ms").asDouble())));
        return b.append("\n").toString();
    }

    private static String clientsNote(JsonNode runs) {
        List<String> parts = new ArrayList<>();
        if (runs != null) {
            for (JsonNode s : runs) {
                if (s.has("jetcd_clients")) {
                    parts.add(String.format("%,d nodes on %,d (%d per client)", s.get("nodes").asInt(), s.get("jetcd_clients").asInt(),
                            s.get("nodes_per_jetcd_client").asInt()));
                }
            }
        }
        return parts.stream().distinct().reduce((x, y) -> x + ", " + y).orElse("?");
    }

    /** The targets: 1,000 nodes leased in < 10 s with p99 propagation < 1 s; at any N no duplicate, no watcher behind. */
    private static String verdict(JsonNode s) {
        boolean clean = s.path("ok").asBoolean(false);
        if (!clean) {
            return "**failed** (duplicates, a watcher behind or a late lease)";
        }
        if (s.get("nodes").asInt() <= 1000) {
            boolean fast = s.get("all_leased_ms").asDouble() < 10_000;
            boolean prop = s.get("propagation_ms").get("p99").asDouble() < 1000;
            return (fast ? "< 10 s met" : "**< 10 s missed**") + "; " + (prop ? "p99 < 1 s met" : "**p99 < 1 s missed**")
                    + "; clean";
        }
        return "no duplicate, no watcher behind: met";
    }

    /** The "Performance" block of the top-level README: the headline figures of the run. */
    static String performance(JsonNode r, String stamp) {
        StringBuilder b = new StringBuilder("## Performance\n\n");
        b.append("`benchmarks/run` (as root) measures everything in one go in under 15 minutes: the data paths, the control "
                + "plane at 1,000 and 4,000 nodes against one etcd and a 3-member cluster, and JMH micro-benchmarks of the hot paths; "
                + "it writes `benchmarks/results/<UTC>.json`, a Markdown table and two plots, and updates "
                + "[benchmarks/README.md](benchmarks/README.md), which says how to read them. Latest run (" + stamp + ", "
                + r.get("machine").get("nproc").asInt() + " shared cores, load average " + r.get("machine").get("loadavg_at_end").asText()
                + " at the end):\n\n");
        JsonNode d = r.get("data_plane");
        JsonNode g = d.path("gbps");
        JsonNode ratios = d.path("ratios");
        if (g.has("ours_vxlan_pod_to_pod")) {
            b.append(String.format("- vxlan backend, pod to pod: %.2f Gbit/s, **%.2f × the hand-configured kernel VXLAN** of the same run%n",
                    g.get("ours_vxlan_pod_to_pod").asDouble(), ratios.path("ours_vxlan_over_kernel_vxlan").asDouble()));
        }
        if (g.has("ours_udp_pod_to_pod")) {
            b.append(String.format("- udp backend, pod to pod: %.2f Gbit/s, **%.3f × kernel VXLAN** of the same run%n",
                    g.get("ours_udp_pod_to_pod").asDouble(), ratios.path("ours_udp_over_kernel_vxlan").asDouble()));
        }
        if (g.has("ours_hostgw_pod_to_pod")) {
            b.append(String.format("- host-gw backend, pod to pod: %.2f Gbit/s, **%.2f × host to host over the bare veth** of the same run "
                            + "(%.2f × pods routed by hand, %.2f × kernel VXLAN)%n", g.get("ours_hostgw_pod_to_pod").asDouble(),
                    ratios.path("ours_hostgw_over_host_to_host").asDouble(), ratios.path("ours_hostgw_over_hand_routed").asDouble(),
                    ratios.path("ours_hostgw_over_kernel_vxlan").asDouble()));
        }
        JsonNode runs = r.get("scale");
        if (runs != null) {
            for (JsonNode s : runs) {
                if (s.has("error")) {
                    b.append(String.format("- %,d nodes, %d etcd member(s): failed (%s)%n", s.get("nodes").asInt(),
                            s.get("etcd_members").asInt(), s.get("error").asText()));
                    continue;
                }
                JsonNode p = s.get("propagation_ms");
                b.append(String.format("- %,d nodes started at once, %s: all leased in **%.1f s**, %s, %.1f etcd requests per node, "
                                + "%d duplicates, %,d watchers behind%s%n",
                        s.get("nodes").asInt(), s.get("etcd_members").asInt() == 1 ? "one etcd" : s.get("etcd_members").asInt() + "-member etcd",
                        s.get("all_leased_ms").asDouble() / 1000,
                        p.get("n").asInt() == 0 ? "propagation not measured (the watchers never showed every node)"
                                : String.format("a new lease reached all watchers in p50 %.0f ms / p99 %.0f ms", p.get("p50").asDouble(),
                                p.get("p99").asDouble()),
                        s.get("etcd_requests_per_node_start").asDouble(), s.get("duplicates").get("total").asInt(),
                        s.get("watchers_behind_at_end").asInt(), s.path("ok").asBoolean(false) ? "" : ": **failed**"));
            }
        }
        JsonNode fp = r.path("footprint").path("rows");
        // The row of the launcher the systemd unit runs: its static archive (jdk17-cds), in runs before it the archive
        // written at exit (jdk17-appcds).
        JsonNode deployed = fp.has("jdk17-cds") ? fp.get("jdk17-cds") : fp.get("jdk17-appcds");
        if (deployed != null) {
            b.append(String.format("- footprint (vxlan, as the systemd unit runs it, class-data archive): subnet.env %.0f ms after the "
                            + "process starts, %.1f MB resident when settled, %d threads%n", deployed.path("subnet_env_ms").asDouble(),
                    deployed.path("settled_rss_mb").asDouble(), deployed.path("threads").asInt()));
        }
        r.path("footprint").path("udp").fields().forEachRemaining(e -> b.append(String.format(
                "- udp backend restart: %.0f ms of pod-to-pod traffic lost (%s)%n", e.getValue().path("restart_gap_ms").asDouble(), e.getKey())));
        b.append("\nA failed run is explained under \"Findings at scale\" in [benchmarks/README.md](benchmarks/README.md).\n");
        b.append("\n![throughput per data path](benchmarks/results/" + stamp + "-throughput.png)\n");
        b.append("![lease wall time against N](benchmarks/results/" + stamp + "-lease-time.png)\n");
        return b.toString();
    }

    private static final String HOW_TO_READ = """
            How to read it:
            - **Data plane**: the bars are iperf3 TCP (one stream) Gbit/s of each path, pod to pod for the overlays; bare veth \
            and kernel VXLAN and ours VXLAN come from the same `vxlan-throughput` run, ours UDP from the `udp-throughput` run \
            right after it (which measured its own kernel VXLAN row: its ratio is the one to quote), ours host-gw from the \
            `hostgw-throughput` run after that (which measured host to host over the bare veth joining its two hosts, pods \
            routed by hand and kernel VXLAN over the same kind of link itself). Absolute Gbit/s move by a factor of 2 between runs on this shared machine; the \
            ratios, each measured within one script's run, much less.
            - **Control plane**: N simulated nodes in one JVM, each a real `LeaseManager` + `LeaseWatcher` wired as the daemon \
            wires the `alloc` backend, released at once against a fresh etcd. *all leased* is the wall time from the release to \
            the last node holding its lease; *lease p50 / p99* the per-node times. *New lease to all N watchers*: after every \
            watcher showed all N − 1 other nodes, new leases were created one at a time, each timed from just before its \
            create transaction until the last of the N watchers had delivered it to its backend. *etcd requests per node* \
            counts every request a node's `SubnetRegistry` sent while starting (reading the config, listing, granting, \
            creating, retries); each node also holds one watch stream (*watch streams* counts them, plus any re-opened). \
            *Duplicates* sums overlapping subnets in etcd, PublicIPs holding more than one key, subnets returned to two \
            nodes, leases etcd does not hold as a node was told, and how far etcd's key count is from N + K; *watchers behind* counts watchers that did not end with \
            all N − 1 + K peers. Memory: this JVM's heap after a full GC and its resident set, minus the same before the \
            nodes started, over N; all N nodes share one JVM, so JVM and library overhead is paid once, not per node \
            (a real daemon is a whole JVM: see the UDP backend's memory figures). etcd runs in its own processes and is \
            not included. The whole simulation shares the 2 cores with etcd itself, so this is a pessimistic figure for \
            etcd on a machine of its own.
            - **Hot paths**: JMH average time per operation, 1 fork, short iterations (see `benchmarks/run`): enough to \
            compare orders of magnitude and catch regressions, not for 5 % differences.
            """;
}
