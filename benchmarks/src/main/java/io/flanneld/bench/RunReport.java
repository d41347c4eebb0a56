package io.flanneld.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The last step of {@code benchmarks/run}: merges the JSON of one run's parts (vxlan-throughput, udp-throughput,
 * hostgw-throughput, LeaseScaleBench, JMH) into {@code results/<stamp>.json}, writes the Markdown table {@code results/<stamp>.md}, draws
 * {@code results/<stamp>-throughput.png} and {@code results/<stamp>-lease-time.png} with XChart, and rewrites the
 * "Latest run" block of benchmarks/README.md and the "Performance" block of the top-level README.md.
 *
 * <p>Arguments: {@code key=value} pairs: stamp, results (directory), vxlan, udp, hostgw, scale, jmh (files; a missing part is
 * reported as missing; scale may list several, comma-separated), readme, top_readme, elapsed_s (the run's time so far),
 * load_start (load average at the start), load_end (at the end; read when the report is made if absent).
 */
public final class RunReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String LATEST_BEGIN = "<!-- latest-run:begin -->";
    private static final String LATEST_END = "<!-- latest-run:end -->";
    private static final String PERF_BEGIN = "<!-- performance:begin -->";
    private static final String PERF_END = "<!-- performance:end -->";

    private RunReport() {
    }

    public static void main(String[] args) throws Exception {
        Locale.setDefault(Locale.ROOT);
        Map<String, String> a = new LinkedHashMap<>();
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq < 0) {
                throw new IllegalArgumentException("RunReport: argument '" + arg + "' is not key=value");
            }
            a.put(arg.substring(0, eq), arg.substring(eq + 1));
        }
        String stamp = require(a, "stamp");
        Path results = Path.of(require(a, "results"));
        JsonNode vxlan = read(a.get("vxlan"));
        JsonNode udp = read(a.get("udp"));
        JsonNode hostgw = read(a.get("hostgw"));
        JsonNode scale = readScale(a.get("scale"));
        JsonNode jmh = read(a.get("jmh"));

        ObjectNode merged = JSON.createObjectNode();
        merged.put("benchmark", "all");
        merged.put("utc", stamp);
        merged.set("machine", machine(a.getOrDefault("load_start", "?"), a.get("load_end")));
        merged.put("elapsed_s_before_report", Double.parseDouble(a.getOrDefault("elapsed_s", "0")));
        ObjectNode sources = merged.putObject("sources");
        for (String part : List.of("vxlan", "udp", "hostgw", "scale", "jmh")) {
            ArrayNode names = sources.putArray(part);
            for (String f : a.getOrDefault(part, "").split(",")) {
                if (!f.isBlank() && Files.isRegularFile(Path.of(f.trim()))) {
                    names.add(Path.of(f.trim()).getFileName().toString());
                }
            }
        }
        merged.set("data_plane", dataPlane(vxlan, udp, hostgw));
        merged.set("scale", scale == null ? null : scale.get("runs"));
        if (scale != null) {
            merged.set("scale_params", scale.get("params"));
        }
        merged.set("jmh", jmh(jmh));

        Files.createDirectories(results);
        Path jsonFile = results.resolve(stamp + ".json");
        JSON.writeValue(jsonFile.toFile(), merged);
        String throughputPng = stamp + "-throughput.png";
        String leasePng = stamp + "-lease-time.png";
        throughputChart(merged.get("data_plane"), results.resolve(throughputPng));
        leaseChart(merged.get("scale"), results.resolve(leasePng));

        String table = markdown(merged);
        // The plots sit beside the .md file in results/.
        Files.writeString(results.resolve(stamp + ".md"), "# Benchmarks, run " + stamp + "\n\n" + table.replace("](PLOTDIR/", "]("));
        if (a.containsKey("readme")) {
            Path readme = Path.of(a.get("readme"));
            String block = "## Latest run\n\n" + "Made by `benchmarks/run` on " + stamp + " (`results/" + stamp + ".json`, `results/"
                    + stamp + ".md`).\n\n" + table.replace("](PLOTDIR/", "](results/") + "\n" + HOW_TO_READ;
            rewrite(readme, LATEST_BEGIN, LATEST_END, block, "## VXLAN backend");
        }
        if (a.containsKey("top_readme")) {
            rewrite(Path.of(a.get("top_readme")), PERF_BEGIN, PERF_END, performance(merged, stamp), "## Layout");
        }
        System.out.println(table.replace("](PLOTDIR/", "](" + results + "/"));
        System.out.println("wrote " + jsonFile + ", " + stamp + ".md, " + throughputPng + ", " + leasePng);
    }

    // ---- merging ----

    /** @param loadEnd the load average at the end of the run, or null to read it now */
    private static ObjectNode machine(String loadStart, String loadEnd) throws IOException {
        ObjectNode m = JSON.createObjectNode();
        m.put("nproc", Runtime.getRuntime().availableProcessors());
        String cpu = "?";
        for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
            if (line.startsWith("model name")) {
                cpu = line.substring(line.indexOf(':') + 1).trim();
                break;
            }
        }
        m.put("cpu", cpu);
        m.put("kernel", System.getProperty("os.version"));
        m.put("java", System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
        m.put("mem_total_gb", Math.round(memTotalKb() / 1048576.0 * 10) / 10.0);
        m.put("loadavg_at_start", loadStart);
        String[] load = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
        m.put("loadavg_at_end", loadEnd != null ? loadEnd : load[0] + " " + load[1] + " " + load[2]);
        return m;
    }

    private static long memTotalKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return 0;
    }

    /** The data paths, each from the script that measured it, and the ratios each script measured in its run. */
    private static ObjectNode dataPlane(JsonNode vxlan, JsonNode udp, JsonNode hostgw) {
        ObjectNode d = JSON.createObjectNode();
        ObjectNode gbps = d.putObject("gbps");
        ObjectNode from = d.putObject("measured_in");
        ObjectNode ratios = d.putObject("ratios");
        if (vxlan != null) {
            JsonNode t = vxlan.get("throughput_gbps");
            put(gbps, from, "veth", t.get("veth"), "vxlan-throughput");
            put(gbps, from, "kernel_vxlan_pod_to_pod", t.get("hand_configured_pod_to_pod"), "vxlan-throughput");
            put(gbps, from, "ours_vxlan_pod_to_pod", t.get("ours_pod_to_pod"), "vxlan-throughput");
            put(gbps, from, "kernel_vxlan_vtep_to_vtep", t.get("vxlan_over_veth_vtep_to_vtep"), "vxlan-throughput");
            ratios.set("ours_vxlan_over_kernel_vxlan", vxlan.get("ratio_ours_over_hand"));
            ratios.set("kernel_vxlan_over_veth", vxlan.get("ratio_vxlan_over_veth"));
            d.set("vxlan_params", vxlan.get("params"));
        }
        if (udp != null) {
            JsonNode t = udp.get("throughput_gbps");
            put(gbps, from, "ours_udp_pod_to_pod", t.get("ours_udp_pod_to_pod"), "udp-throughput");
            d.put("udp_run_veth_gbps", t.path("veth").asDouble());
            d.put("udp_run_kernel_vxlan_pod_to_pod_gbps", t.path("kernel_vxlan_pod_to_pod").asDouble());
            ratios.set("ours_udp_over_kernel_vxlan", udp.get("ratio_ours_over_kernel_vxlan"));
            d.set("udp_params", udp.get("params"));
        }
        if (hostgw != null) {
            JsonNode t = hostgw.get("throughput_gbps");
            put(gbps, from, "ours_hostgw_pod_to_pod", t.get("ours_hostgw_pod_to_pod"), "hostgw-throughput");
            d.put("hostgw_run_host_to_host_gbps", t.path("host_to_host_bare_veth").asDouble());
            d.put("hostgw_run_hand_routed_pod_to_pod_gbps", t.path("hand_routed_pod_to_pod").asDouble());
            d.put("hostgw_run_kernel_vxlan_pod_to_pod_gbps", t.path("kernel_vxlan_pod_to_pod").asDouble());
            ratios.set("ours_hostgw_over_host_to_host", hostgw.get("ratio_ours_over_host_to_host"));
            ratios.set("ours_hostgw_over_hand_routed", hostgw.get("ratio_ours_over_hand_routed"));
            ratios.set("ours_hostgw_over_kernel_vxlan", hostgw.get("ratio_ours_over_kernel_vxlan"));
            d.set("hostgw_params", hostgw.get("params"));
        }
        return d;
    }

    private static void put(ObjectNode gbps, ObjectNode from, String key, JsonNode value, String script) {
        if (value != null && value.isNumber()) {
            gbps.set(key, value);
            from.put(key, script);
        }
    }

    /** JMH's JSON reduced to name, parameters, score ± error, unit. */
    private static ArrayNode jmh(JsonNode jmh) {
        ArrayNode out = JSON.createArrayNode();
        if (jmh == null) {
            return out;
        }
        for (JsonNode b : jmh) {
            ObjectNode row = out.addObject();
            String name = b.get("benchmark").asText();
            row.put("benchmark", name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1));
            StringBuilder params = new StringBuilder();
            b.path("params").fields().forEachRemaining(e -> params.append(params.length() == 0 ? "" : ", ")
                    .append(e.getKey()).append('=').append(e.getValue().asText()));
            row.put("params", params.toString());
            JsonNode m = b.get("primaryMetric");
            row.put("score", round(m.get("score").asDouble(), 2));
            row.put("error", m.get("scoreError").isNumber() ? round(m.get("scoreError").asDouble(), 2) : 0);
            row.put("unit", m.get("scoreUnit").asText());
        }
        return out;
    }

    // ---- charts ----

    private static final Map<String, String> PATH_LABELS = new LinkedHashMap<>();

    static {
        PATH_LABELS.put("veth", "bare veth");
        PATH_LABELS.put("ours_hostgw_pod_to_pod", "ours host-gw");
        PATH_LABELS.put("kernel_vxlan_pod_to_pod", "kernel VXLAN");
        PATH_LABELS.put("ours_vxlan_pod_to_pod", "ours VXLAN");
        PATH_LABELS.put("ours_udp_pod_to_pod", "ours UDP");
    }

    private static void throughputChart(JsonNode dataPlane, Path file) throws IOException {
        List<String> labels = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        JsonNode gbps = dataPlane.path("gbps");
        PATH_LABELS.forEach((key, label) -> {
            if (gbps.has(key)) {
                labels.add(label);
                values.add(gbps.get(key).asDouble());
            }
        });
        CategoryChart chart = new CategoryChartBuilder().width(720).height(420)
                .title("TCP throughput per data path (iperf3, 1 stream)").xAxisTitle("data path").yAxisTitle("Gbit/s").build();
        chart.getStyler().setLegendVisible(false);
        chart.getStyler().setLabelsVisible(true);
        chart.getStyler().setDecimalPattern("0.00");
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setSeriesColors(new Color[] {new Color(0x3b6ea5)});
        if (labels.isEmpty()) {
            labels.add("no data");
            values.add(0.0);
        }
        chart.addSeries("Gbit/s", labels, values);
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static void leaseChart(JsonNode runs, Path file) throws IOException {
        XYChart chart = new XYChartBuilder().width(720).height(420)
                .title("Wall time until every node holds a lease").xAxisTitle("nodes started at once (N)")
                .yAxisTitle("seconds").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setXAxisDecimalPattern("#,###");
        chart.getStyler().setYAxisDecimalPattern("0");
        chart.getStyler().setXAxisMin(0.0);
        chart.getStyler().setYAxisMin(0.0);
        Map<Integer, TreeMap<Integer, Double>> byTopology = new TreeMap<>();
        List<Double> endedX = new ArrayList<>();
        List<Double> endedY = new ArrayList<>();
        double maxN = 0;
        if (runs != null) {
            for (JsonNode r : runs) {
                maxN = Math.max(maxN, r.path("nodes").asDouble());
                if (r.has("all_leased_ms")) {
                    byTopology.computeIfAbsent(r.get("etcd_members").asInt(), m -> new TreeMap<>())
                            .put(r.get("nodes").asInt(), r.get("all_leased_ms").asDouble() / 1000);
                } else {
                    Matcher bound = Pattern.compile("within (\\d+) s").matcher(r.path("error").asText());
                    if (bound.find()) {
                        endedX.add(r.get("nodes").asDouble());
                        endedY.add(Double.parseDouble(bound.group(1)));
                    }
                }
            }
        }
        chart.getStyler().setXAxisMax(Math.max(1000, maxN * 1.1));
        if (byTopology.isEmpty() && endedX.isEmpty()) {
            chart.addSeries("no data", new double[] {0}, new double[] {0});
        }
        byTopology.forEach((members, points) -> {
            var s = chart.addSeries(members == 1 ? "1 etcd member" : members + "-member etcd cluster",
                    new ArrayList<>(points.keySet()), new ArrayList<>(points.values()));
            s.setMarker(SeriesMarkers.CIRCLE);
        });
        if (!endedX.isEmpty()) {
            var s = chart.addSeries("no result: ended at its time bound (plotted at the bound)", endedX, endedY);
            s.setXYSeriesRenderStyle(org.knowm.xchart.XYSeries.XYSeriesRenderStyle.Scatter);
            s.setMarker(SeriesMarkers.CROSS);
            s.setMarkerColor(Color.RED);
        }
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    // ---- Markdown ----

    private static String markdown(JsonNode r) {
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
        PATH_LABELS.forEach((key, label) -> {
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

        b.append("### Hot paths (JMH, ns/op, average time, ± the 99.9 % confidence half-width)\n\n");
        b.append("| benchmark | parameters | ns/op | ± |\n| --- | --- | ---: | ---: |\n");
        for (JsonNode j : r.get("jmh")) {
            b.append(String.format("| %s | %s | %.2f | %.2f |%n", j.get("benchmark").asText(), j.get("params").asText(),
                    j.get("score").asDouble(), j.get("error").asDouble()));
        }
        return b.toString();
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

    /** The issue's targets: 1,000 nodes leased in < 10 s with p99 propagation < 1 s; at any N no duplicate, no watcher behind. */
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

    private static String performance(JsonNode r, String stamp) {
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

    // ---- helpers ----

    private static void rewrite(Path file, String begin, String end, String block, String insertBefore) throws IOException {
        String text = Files.readString(file);
        String replacement = begin + "\n" + block.strip() + "\n" + end;
        if (text.contains(begin) && text.contains(end)) {
            text = Pattern.compile(Pattern.quote(begin) + ".*?" + Pattern.quote(end), Pattern.DOTALL).matcher(text)
                    .replaceFirst(Matcher.quoteReplacement(replacement));
        } else if (insertBefore != null && text.contains("\n" + insertBefore)) {
            int at = text.indexOf("\n" + insertBefore) + 1;
            text = text.substring(0, at) + replacement + "\n\n" + text.substring(at);
        } else {
            text = text.stripTrailing() + "\n\n" + replacement + "\n";
        }
        Files.writeString(file, text);
    }

    private static JsonNode read(String file) throws IOException {
        if (file == null || file.isEmpty() || !Files.isRegularFile(Path.of(file))) {
            if (file != null && !file.isEmpty()) {
                System.err.println("RunReport: " + file + " is missing; that part is left out");
            }
            return null;
        }
        return JSON.readTree(Path.of(file).toFile());
    }

    /** One or more LeaseScaleBench results (comma-separated files, one per JVM) as one: their runs in order. */
    private static JsonNode readScale(String files) throws IOException {
        if (files == null || files.isEmpty()) {
            return null;
        }
        ObjectNode merged = JSON.createObjectNode();
        ArrayNode runs = merged.putArray("runs");
        for (String file : files.split(",")) {
            JsonNode one = read(file.trim());
            if (one == null) {
                continue;
            }
            if (!merged.has("params") && one.has("params")) {
                merged.set("params", one.get("params"));
            }
            one.path("runs").forEach(runs::add);
        }
        return runs.isEmpty() ? null : merged;
    }

    private static String require(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("RunReport: " + key + "=… is required");
        }
        return v;
    }

    private static double round(double v, int places) {
        double f = Math.pow(10, places);
        return Math.round(v * f) / f;
    }
}
