package io.flanneld.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RunReport on small hand-written inputs: the merged table, the verdicts, the plots and the README blocks. */
class RunReportTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void headless() {
        System.setProperty("java.awt.headless", "true");
    }

    private String[] args() throws Exception {
        Files.writeString(dir.resolve("vxlan.json"), """
                {"throughput_gbps":{"veth":17.5,"vxlan_over_veth_vtep_to_vtep":13.0,"hand_configured_pod_to_pod":10.0,
                 "ours_pod_to_pod":9.8},"ratio_ours_over_hand":0.98,"ratio_vxlan_over_veth":0.74,
                 "params":{"iperf3":"TCP, 1 stream, 5 s","reps_pod_rows":2}}""");
        Files.writeString(dir.resolve("udp.json"), """
                {"throughput_gbps":{"veth":18.0,"kernel_vxlan_pod_to_pod":10.5,"ours_udp_pod_to_pod":0.9},
                 "ratio_ours_over_kernel_vxlan":0.086,"params":{"iperf3":"TCP, 1 stream, 5 s","reps_pod_rows":2}}""");
        Files.writeString(dir.resolve("hostgw.json"), """
                {"throughput_gbps":{"host_to_host_bare_veth":12.2,"hand_routed_pod_to_pod":9.9,
                 "ours_hostgw_pod_to_pod":10.1,"kernel_vxlan_pod_to_pod":8.0},"ratio_ours_over_host_to_host":0.828,
                 "ratio_ours_over_hand_routed":1.02,"ratio_ours_over_kernel_vxlan":1.263,
                 "params":{"iperf3":"TCP, 1 stream, 5 s","reps":2}}""");
        Files.writeString(dir.resolve("scale-1.json"), """
                {"params":{"network":"198.19.0.0/16","subnet_len":28,"new_leases":20,"request_timeout_s":5},
                 "runs":[{"etcd_members":1,"nodes":1000,"jetcd_clients":1000,"nodes_per_jetcd_client":1,"all_leased_ms":8500,
                  "lease_ms_per_node":{"p50":4000,"p99":8000},"propagation_ms":{"n":20,"p50":90,"p99":400},
                  "etcd_requests_per_node_start":5.5,"watch_streams_opened":1000,"duplicates":{"total":0},
                  "watchers_behind_at_end":0,"watcher_resyncs":0,"watcher_reconnects":0,
                  "memory":{"heap_kb_per_node":400,"rss_kb_per_node":3000},"ok":true}]}""");
        Files.writeString(dir.resolve("scale-2.json"), """
                {"runs":[{"etcd_members":3,"nodes":4000,"error":"no result within 180 s: the run was ended"}]}""");
        Files.writeString(dir.resolve("jmh.json"), """
                [{"benchmark":"io.flanneld.bench.jmh.ForwardingTableBench.find","params":{"leases":"4000"},
                  "primaryMetric":{"score":22.28,"scoreError":3.47,"scoreUnit":"ns/op"}}]""");
        Files.writeString(dir.resolve("README.md"), "# b\n\nintro\n\n## VXLAN backend\n\nrest\n");
        Files.writeString(dir.resolve("TOP.md"), "# top\n\n## Layout\n\nmodules\n");
        return new String[] {"stamp=S1", "results=" + dir.resolve("results"), "vxlan=" + dir.resolve("vxlan.json"),
            "udp=" + dir.resolve("udp.json"), "hostgw=" + dir.resolve("hostgw.json"), "scale=" + dir.resolve("scale-1.json") + "," + dir.resolve("scale-2.json"),
            "jmh=" + dir.resolve("jmh.json"), "readme=" + dir.resolve("README.md"), "top_readme=" + dir.resolve("TOP.md"),
            "elapsed_s=700", "load_start=1 2 3", "load_end=4 5 6"};
    }

    @Test
    void writesTablePlotsAndReadmeBlocks() throws Exception {
        String[] args = args();
        RunReport.main(args);

        String md = Files.readString(dir.resolve("results/S1.md"));
        assertTrue(md.contains("| ours VXLAN, pod to pod | 9.80 | vxlan-throughput |"), md);
        assertTrue(md.contains("ours VXLAN / kernel VXLAN (hand-configured), pod to pod: 0.980"), md);
        assertTrue(md.contains("ours UDP / kernel VXLAN, pod to pod: 0.086"), md);
        assertTrue(md.contains("| ours host-gw, pod to pod | 10.10 | hostgw-throughput |"), md);
        assertTrue(md.contains("ours host-gw, pod to pod / host to host over the bare veth: 0.828** (same hostgw-throughput run: "
                + "host to host 12.20 Gbit/s there; target ≥ 0.95); ours / pods routed by hand with the same routes: 1.020; "
                + "ours host-gw / kernel VXLAN pod to pod in that run (8.00 Gbit/s): 1.263"), md);
        assertTrue(md.contains("hostgw-throughput TCP, 1 stream, 5 s, 2 alternating reps"), md);
        assertTrue(md.contains("| 1 member | 1,000 | 8.5 | 4.0 / 8.0 | 90 / 400 |"), md);
        assertTrue(md.contains("< 10 s met; p99 < 1 s met; clean"), md);
        assertTrue(md.contains("| 3 members | 4,000 | error: no result within 180 s"), md);
        assertTrue(md.contains("| ForwardingTableBench.find | leases=4000 | 22.28 | 3.47 |"), md);
        assertTrue(md.contains("load average 1 2 3 at the start, 4 5 6 at the end"), md);
        assertTrue(md.contains("](S1-throughput.png)") && !md.contains("PLOTDIR"), "plots linked beside the table: " + md);
        assertTrue(Files.size(dir.resolve("results/S1-throughput.png")) > 1000);
        assertTrue(Files.size(dir.resolve("results/S1-lease-time.png")) > 1000);
        assertTrue(Files.readString(dir.resolve("results/S1.json")).contains("\"ours_udp_pod_to_pod\" : 0.9"));

        String readme = Files.readString(dir.resolve("README.md"));
        assertTrue(readme.startsWith("# b\n\nintro\n\n<!-- latest-run:begin -->\n## Latest run"), readme);
        assertTrue(readme.contains("](results/S1-throughput.png)"), readme);
        assertTrue(readme.endsWith("<!-- latest-run:end -->\n\n## VXLAN backend\n\nrest\n"), readme);
        String top = Files.readString(dir.resolve("TOP.md"));
        assertTrue(top.contains("## Performance") && top.indexOf("## Performance") < top.indexOf("## Layout"), top);
        assertTrue(top.contains("4,000 nodes, 3 etcd member(s): failed"), top);
        assertTrue(top.contains("host-gw backend, pod to pod: 10.10 Gbit/s, **0.83 × host to host over the bare veth** of the same run "
                + "(1.02 × pods routed by hand, 1.26 × kernel VXLAN)"), top);

        // A second run replaces the blocks rather than adding more.
        RunReport.main(args);
        assertEquals(readme, Files.readString(dir.resolve("README.md")));
        assertEquals(top, Files.readString(dir.resolve("TOP.md")));
    }
}
