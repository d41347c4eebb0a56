package io.flanneld.bench;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The summaries every benchmark reports the same way: milliseconds and nearest-rank percentiles, 2 decimals. */
final class Stats {
    private Stats() {
    }

    /** Nanoseconds as milliseconds with two decimals. */
    static double ms(long nanos) {
        return Math.round(nanos / 1e4) / 100.0;
    }

    /** n, p50, p99, max and mean of {@code xs}, each with two decimals. */
    static Map<String, Object> summary(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("n", a.length);
        m.put("p50", round(percentile(a, 50)));
        m.put("p99", round(percentile(a, 99)));
        m.put("max", round(a.length == 0 ? 0 : a[a.length - 1]));
        m.put("mean", round(Arrays.stream(a).average().orElse(0)));
        return m;
    }

    /** Nearest-rank percentile of a sorted array. */
    static double percentile(double[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
