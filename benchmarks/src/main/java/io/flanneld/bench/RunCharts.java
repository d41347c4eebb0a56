package io.flanneld.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

/** The two PNG plots of a run, drawn with XChart from the document {@link RunMerge} made. */
final class RunCharts {
    private RunCharts() {
    }

    /** The bar chart: each data path's Gbit/s ({@code data_plane.gbps}), "no data" when there is none. */
    static void throughput(JsonNode dataPlane, Path file) throws IOException {
        List<String> labels = new ArrayList<>();
        List<Double> values = new ArrayList<>();
        JsonNode gbps = dataPlane.path("gbps");
        RunMerge.PATH_LABELS.forEach((key, label) -> {
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

    /**
     * The line chart: wall time until every node holds a lease against N, one line per etcd topology; a run ended at
     * its time bound is a red cross at that bound.
     *
     * @param runs the merged {@code scale} runs, or null
     */
    static void leaseTime(JsonNode runs, Path file) throws IOException {
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
}
