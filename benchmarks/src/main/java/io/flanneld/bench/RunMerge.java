package io.flanneld.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges the JSON of one {@code benchmarks/run} (vxlan-throughput, udp-throughput, hostgw-throughput, LeaseScaleBench,
 * JMH) and a description of the machine into the one document {@link RunReport} writes as {@code results/<stamp>.json}
 * and that {@link RunCharts} and {@link RunMarkdown} draw from. A part whose file is missing is left out.
 */
final class RunMerge {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The data paths of {@code data_plane.gbps}, in the order charts and tables show them, with their labels. */
    static final Map<String, String> PATH_LABELS;

    static {
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("veth", "bare veth");
        labels.put("ours_hostgw_pod_to_pod", "ours host-gw");
        labels.put("kernel_vxlan_pod_to_pod", "kernel VXLAN");
        labels.put("ours_vxlan_pod_to_pod", "ours VXLAN");
        labels.put("ours_udp_pod_to_pod", "ours UDP");
        PATH_LABELS = Collections.unmodifiableMap(labels);
    }

    private RunMerge() {
    }

    /**
     * The merged document: the run's stamp, the machine, the files each part came from, the data plane, the scale
     * runs and their parameters, JMH's rows.
     *
     * @param a RunReport's arguments: the files vxlan, udp, hostgw, scale (several, comma-separated), jmh and
     *     footprint (run-footprint's JSON, optional), and
     *     elapsed_s, load_start, load_end
     */
    static ObjectNode merge(String stamp, Map<String, String> a) throws IOException {
        JsonNode vxlan = read(a.get("vxlan"));
        JsonNode udp = read(a.get("udp"));
        JsonNode hostgw = read(a.get("hostgw"));
        JsonNode scale = readScale(a.get("scale"));
        JsonNode jmh = read(a.get("jmh"));
        JsonNode footprint = read(a.get("footprint"));

        ObjectNode merged = JSON.createObjectNode();
        merged.put("benchmark", "all");
        merged.put("utc", stamp);
        merged.set("machine", machine(a.getOrDefault("load_start", "?"), a.get("load_end")));
        merged.put("elapsed_s_before_report", Double.parseDouble(a.getOrDefault("elapsed_s", "0")));
        ObjectNode sources = merged.putObject("sources");
        for (String part : List.of("vxlan", "udp", "hostgw", "scale", "jmh", "footprint")) {
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
        if (footprint != null) {
            merged.set("footprint", footprint);
        }
        return merged;
    }

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

    private static double round(double v, int places) {
        double f = Math.pow(10, places);
        return Math.round(v * f) / f;
    }
}
