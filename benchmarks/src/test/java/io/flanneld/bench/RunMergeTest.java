package io.flanneld.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The merge of one run's files: what is taken from each, what a missing part leaves out. */
class RunMergeTest {
    @TempDir
    Path dir;

    private String file(String name, String json) throws Exception {
        return Files.writeString(dir.resolve(name), json).toString();
    }

    @Test
    void mergesThePartsThatExistAndNamesTheirFiles() throws Exception {
        String vxlan = file("vxlan-1.json", """
                {"throughput_gbps":{"veth":17.5,"vxlan_over_veth_vtep_to_vtep":13.0,"hand_configured_pod_to_pod":10.0,
                 "ours_pod_to_pod":"n/a"},"ratio_ours_over_hand":0.98,"ratio_vxlan_over_veth":0.74,"params":{"reps_pod_rows":2}}""");
        String scale1 = file("scale-1.json", """
                {"params":{"network":"A"},"runs":[{"nodes":1000}]}""");
        String scale2 = file("scale-2.json", """
                {"params":{"network":"B"},"runs":[{"nodes":4000},{"nodes":8000}]}""");
        String jmh = file("jmh.json", """
                [{"benchmark":"io.flanneld.bench.jmh.ForwardingTableBench.find","params":{"leases":"4000","x":"y"},
                  "primaryMetric":{"score":22.284,"scoreError":"NaN","scoreUnit":"ns/op"}}]""");
        JsonNode m = RunMerge.merge("S", Map.of("vxlan", vxlan, "udp", dir.resolve("absent.json").toString(),
                "scale", scale1 + ", " + scale2, "jmh", jmh, "elapsed_s", "12.5", "load_start", "1 2 3", "load_end", "4 5 6"));

        assertEquals("S", m.get("utc").asText());
        assertEquals(12.5, m.get("elapsed_s_before_report").asDouble());
        assertEquals("1 2 3", m.get("machine").get("loadavg_at_start").asText());
        assertEquals("4 5 6", m.get("machine").get("loadavg_at_end").asText());
        assertEquals("[\"vxlan-1.json\"]", m.get("sources").get("vxlan").toString());
        assertEquals("[]", m.get("sources").get("udp").toString(), "a missing file is not named");
        assertEquals("[\"scale-1.json\",\"scale-2.json\"]", m.get("sources").get("scale").toString());

        JsonNode d = m.get("data_plane");
        assertEquals(17.5, d.get("gbps").get("veth").asDouble());
        assertEquals("vxlan-throughput", d.get("measured_in").get("kernel_vxlan_pod_to_pod").asText());
        assertFalse(d.get("gbps").has("ours_vxlan_pod_to_pod"), "a figure that is not a number is left out");
        assertFalse(d.get("gbps").has("ours_udp_pod_to_pod"), "the missing udp part is left out");
        assertEquals(0.98, d.get("ratios").get("ours_vxlan_over_kernel_vxlan").asDouble());

        assertEquals("[{\"nodes\":1000},{\"nodes\":4000},{\"nodes\":8000}]", m.get("scale").toString(), "runs in file order");
        assertEquals("A", m.get("scale_params").get("network").asText(), "the first file's parameters");

        JsonNode row = m.get("jmh").get(0);
        assertEquals("ForwardingTableBench.find", row.get("benchmark").asText());
        assertEquals("leases=4000, x=y", row.get("params").asText());
        assertEquals(22.28, row.get("score").asDouble());
        assertEquals(0, row.get("error").asDouble());
    }

    @Test
    void noPartsGiveAnEmptyDocument() throws Exception {
        JsonNode m = RunMerge.merge("S", Map.of());
        assertTrue(m.get("data_plane").get("gbps").isEmpty());
        assertTrue(m.get("scale").isNull());
        assertFalse(m.has("scale_params"));
        assertTrue(m.get("jmh").isEmpty());
        assertEquals("?", m.get("machine").get("loadavg_at_start").asText());
        assertEquals(3, m.get("machine").get("loadavg_at_end").asText().split(" ").length, "read from /proc/loadavg");
    }
}
