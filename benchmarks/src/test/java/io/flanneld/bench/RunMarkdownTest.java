package io.flanneld.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Markdown of a merged document: the verdicts, failed runs, plot links and the README blocks. */
class RunMarkdownTest {
    private static final JsonNode RUN = parse("""
            {"utc":"S","elapsed_s_before_report":9,
             "machine":{"nproc":2,"cpu":"c","mem_total_gb":1.5,"kernel":"k","java":"j","loadavg_at_start":"1","loadavg_at_end":"2"},
             "data_plane":{"gbps":{"ours_udp_pod_to_pod":0.9},"measured_in":{"ours_udp_pod_to_pod":"udp-throughput"},
              "ratios":{"ours_udp_over_kernel_vxlan":0.0857},"udp_run_kernel_vxlan_pod_to_pod_gbps":10.5,"udp_run_veth_gbps":18},
             "scale":[
              {"etcd_members":1,"nodes":1000,"all_leased_ms":12000,"lease_ms_per_node":{"p50":4000,"p99":8000},
               "propagation_ms":{"n":0,"p50":0,"p99":0},"etcd_requests_per_node_start":5,"watch_streams_opened":1000,"duplicates":{"total":0},
               "watchers_behind_at_end":0,"watcher_resyncs":1,"watcher_reconnects":2,
               "memory":{"heap_kb_per_node":400,"rss_kb_per_node":3000},"ok":true},
              {"etcd_members":3,"nodes":4000,"all_leased_ms":50000,"lease_ms_per_node":{"p50":1,"p99":2},
               "propagation_ms":{"n":5,"p50":40,"p99":90},"etcd_requests_per_node_start":4,"watch_streams_opened":4000,
               "duplicates":{"total":1},"watchers_behind_at_end":0,"watcher_resyncs":0,"watcher_reconnects":0,
               "memory":{"heap_kb_per_node":1,"rss_kb_per_node":1},"ok":false},
              {"etcd_members":3,"nodes":8000,"error":"a|b"}],
             "jmh":[]}""");

    @BeforeAll
    static void root() {
        Locale.setDefault(Locale.ROOT);
    }

    private static JsonNode parse(String json) {
        try {
            return RunMerge.JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void tablesSayWhichTargetsWereMissedAndWhichRunsFailed() {
        String t = RunMarkdown.tables(RUN);
        assertTrue(t.startsWith("Machine: 2 cores (c), 1.5 GB, kernel k, Java j; load average 1 at the start, 2 at the end"), t);
        assertTrue(t.contains("| ours UDP, pod to pod | 0.90 | udp-throughput |"), t);
        assertTrue(t.contains("- **ours UDP / kernel VXLAN, pod to pod: 0.086** (same udp-throughput run: kernel VXLAN 10.50, "
                + "veth 18.00 Gbit/s there)"), t);
        assertFalse(t.contains("ours VXLAN"), t);
        assertTrue(t.contains("| 1 member | 1,000 | 12.0 | 4.0 / 8.0 | not measured | 5.0 | 1000 | 0 | 0 | 1 / 2 | 400 | 3000 | "
                + "**< 10 s missed**; p99 < 1 s met; clean |"), t);
        assertTrue(t.contains("| **failed** (duplicates, a watcher behind or a late lease) |"), t);
        assertTrue(t.contains("| 3 members | 8,000 | error: a/b |"), t);
        assertTrue(t.contains("](PLOTDIR/S-throughput.png)") && t.contains("](PLOTDIR/S-lease-time.png)"), t);
    }

    private static final JsonNode FOOTPRINT = parse("""
            {"params":{"starts":5},
             "rows":{"jdk17":{"subnet_env_ms":1300,"subnet_env_x_bare_jvm":30.2,"running_ms":1450,"settled_rss_mb":94.2,"threads":28,"stop_ms":310},
                     "jdk17-appcds":{"subnet_env_ms":700,"subnet_env_x_bare_jvm":15.1,"running_ms":800,"settled_rss_mb":99.5,"threads":28,"stop_ms":300}},
             "udp":{"jdk17-appcds":{"forwarding_gbps":6.4,"rss_forwarding_peak_max_mb":108.4,"restart_gap_ms":610}}}""");

    @Test
    void footprintRowsInTheTablesAndTheHeadlines() {
        com.fasterxml.jackson.databind.node.ObjectNode run = RUN.deepCopy();
        run.set("footprint", FOOTPRINT);
        String t = RunMarkdown.tables(run);
        assertTrue(t.contains("### Footprint (`run-footprint`, vxlan backend, median of 5 starts)"), t);
        assertTrue(t.contains("| jdk17-appcds | 700 ms (15.1 × `java -version`) | 800 ms | 99.5 MB | 28 | 300 ms |"), t);
        assertTrue(t.contains("- udp backend (jdk17-appcds): 6.40 Gbit/s pod to pod, RSS at most 108.4 MB while forwarding; "
                + "a restart lost 610 ms of pod-to-pod pings (median)"), t);
        String p = RunMarkdown.performance(run, "S");
        assertTrue(p.contains("- footprint (vxlan, as the systemd unit runs it, class-data archive): subnet.env 700 ms after the "
                + "process starts, 99.5 MB resident when settled, 28 threads\n"), p);
        assertTrue(p.contains("- udp backend restart: 610 ms of pod-to-pod traffic lost (jdk17-appcds)\n"), p);
        assertFalse(RunMarkdown.tables(RUN).contains("Footprint"), "no footprint rows without a footprint run");

        // With the static archive's row (the launcher's way now), that row is the headline's.
        com.fasterxml.jackson.databind.node.ObjectNode withStatic = FOOTPRINT.deepCopy();
        ((com.fasterxml.jackson.databind.node.ObjectNode) withStatic.get("rows")).set("jdk17-cds",
                parse("{\"subnet_env_ms\":600,\"subnet_env_x_bare_jvm\":12.9,\"running_ms\":700,\"settled_rss_mb\":97.0,\"threads\":28,\"stop_ms\":300}"));
        run.set("footprint", withStatic);
        assertTrue(RunMarkdown.performance(run, "S").contains("class-data archive): subnet.env 600 ms after the process starts, 97.0 MB"),
                RunMarkdown.performance(run, "S"));
    }

    @Test
    void plotLinksAndTheLatestRunBlock() {
        String t = RunMarkdown.tables(RUN);
        assertEquals(t.replace("](PLOTDIR/", "](/r/"), RunMarkdown.linkPlots(t, "/r/"));
        String block = RunMarkdown.latestRun(t, "S");
        assertTrue(block.startsWith("## Latest run\n\nMade by `benchmarks/run` on S (`results/S.json`, `results/S.md`).\n\n"
                + "Machine: "), block);
        assertTrue(block.contains("](results/S-lease-time.png)") && !block.contains("PLOTDIR"), block);
        assertTrue(block.endsWith("not for 5 % differences.\n"), block);
    }

    @Test
    void performanceBlockHasTheHeadlines() {
        String p = RunMarkdown.performance(RUN, "S");
        assertTrue(p.startsWith("## Performance\n\n"), p);
        assertTrue(p.contains("Latest run (S, 2 shared cores, load average 2 at the end)"), p);
        assertTrue(p.contains("- udp backend, pod to pod: 0.90 Gbit/s, **0.086 × kernel VXLAN** of the same run\n"), p);
        assertTrue(p.contains("- 1,000 nodes started at once, one etcd: all leased in **12.0 s**, propagation not measured"), p);
        assertTrue(p.contains("1 duplicates, 0 watchers behind: **failed**\n"), p);
        assertTrue(p.contains("- 8,000 nodes, 3 etcd member(s): failed (a|b)\n"), p);
        assertTrue(p.endsWith("![lease wall time against N](benchmarks/results/S-lease-time.png)\n"), p);
    }
}
