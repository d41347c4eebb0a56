package io.flanneld.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The plots are drawn, at their size, with and without data (an empty run still gets both files). */
class RunChartsTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void headless() {
        System.setProperty("java.awt.headless", "true");
    }

    private static BufferedImage image(Path file) throws Exception {
        return ImageIO.read(file.toFile());
    }

    @Test
    void bothPlotsWithData() throws Exception {
        RunCharts.throughput(RunMerge.JSON.readTree("{\"gbps\":{\"veth\":17.5,\"ours_udp_pod_to_pod\":0.9}}"), dir.resolve("t.png"));
        RunCharts.leaseTime(RunMerge.JSON.readTree("""
                [{"etcd_members":1,"nodes":1000,"all_leased_ms":6000},{"etcd_members":3,"nodes":4000,
                  "error":"no result within 300 s: the run was ended"}]"""), dir.resolve("l.png"));
        assertEquals(720, image(dir.resolve("t.png")).getWidth());
        assertEquals(420, image(dir.resolve("l.png")).getHeight());
    }

    @Test
    void bothPlotsWithoutData() throws Exception {
        RunCharts.throughput(RunMerge.JSON.createObjectNode(), dir.resolve("t.png"));
        RunCharts.leaseTime(null, dir.resolve("l.png"));
        assertEquals(720, image(dir.resolve("t.png")).getWidth());
        assertEquals(420, image(dir.resolve("l.png")).getHeight());
    }
}
