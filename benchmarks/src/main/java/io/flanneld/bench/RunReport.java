package io.flanneld.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The last step of {@code benchmarks/run}: merges the JSON of one run's parts (vxlan-throughput, udp-throughput,
 * hostgw-throughput, LeaseScaleBench, JMH) into {@code results/<stamp>.json} ({@link RunMerge}), draws
 * {@code results/<stamp>-throughput.png} and {@code results/<stamp>-lease-time.png} ({@link RunCharts}), writes the
 * Markdown table {@code results/<stamp>.md} ({@link RunMarkdown}), and rewrites the "Latest run" block of
 * benchmarks/README.md and the "Performance" block of the top-level README.md ({@link ReadmeBlock}).
 *
 * <p>Arguments: {@code key=value} pairs: stamp, results (directory), vxlan, udp, hostgw, scale, jmh (files; a missing part is
 * reported as missing; scale may list several, comma-separated), readme, top_readme, elapsed_s (the run's time so far),
 * load_start (load average at the start), load_end (at the end; read when the report is made if absent).
 */
public final class RunReport {
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
        JsonNode merged = RunMerge.merge(stamp, a);

        Files.createDirectories(results);
        Path jsonFile = results.resolve(stamp + ".json");
        RunMerge.JSON.writeValue(jsonFile.toFile(), merged);
        String throughputPng = stamp + "-throughput.png";
        String leasePng = stamp + "-lease-time.png";
        RunCharts.throughput(merged.get("data_plane"), results.resolve(throughputPng));
        RunCharts.leaseTime(merged.get("scale"), results.resolve(leasePng));

        String table = RunMarkdown.tables(merged);
        // The plots sit beside the .md file in results/.
        Files.writeString(results.resolve(stamp + ".md"), "# Benchmarks, run " + stamp + "\n\n" + RunMarkdown.linkPlots(table, ""));
        if (a.containsKey("readme")) {
            ReadmeBlock.LATEST_RUN.rewrite(Path.of(a.get("readme")), RunMarkdown.latestRun(table, stamp));
        }
        if (a.containsKey("top_readme")) {
            ReadmeBlock.PERFORMANCE.rewrite(Path.of(a.get("top_readme")), RunMarkdown.performance(merged, stamp));
        }
        System.out.println(RunMarkdown.linkPlots(table, results + "/"));
        System.out.println("wrote " + jsonFile + ", " + stamp + ".md, " + throughputPng + ", " + leasePng);
    }

    private static String require(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null || v.isEmpty()) {
            throw new IllegalArgumentException("RunReport: " + key + "=… is required");
        }
        return v;
    }
}
