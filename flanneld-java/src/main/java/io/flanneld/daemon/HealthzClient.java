package io.flanneld.daemon;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/** {@code doctor}'s reading of the daemon's {@code /healthz} and {@code /metrics}: one HTTP/1.0 GET each, bounded in time and size. */
final class HealthzClient {
    private static final int TIMEOUT_MS = 3000;
    private static final int MAX_BYTES = 1 << 20;

    private HealthzClient() {
    }

    /** {@code GET /healthz}, then {@code GET /metrics} if it answered; {@code 0.0.0.0} is asked at 127.0.0.1. */
    static DoctorSnapshot.Healthz read(String ip, int port) {
        String host = ip.equals("0.0.0.0") ? "127.0.0.1" : ip;
        String url = "http://" + host + ":" + port + "/healthz";
        try {
            String[] health = get(host, port, "/healthz");
            Optional<String> metrics;
            try {
                String[] page = get(host, port, "/metrics");
                metrics = page[0].equals("200") ? Optional.of(page[1]) : Optional.empty();
            } catch (IOException | RuntimeException e) {
                metrics = Optional.empty();
            }
            return new DoctorSnapshot.Healthz(url, Integer.parseInt(health[0]), health[1], Optional.empty(), metrics);
        } catch (IOException | RuntimeException e) {
            return new DoctorSnapshot.Healthz(url, 0, "", Optional.of(e.getClass().getSimpleName() + ": " + e.getMessage()), Optional.empty());
        }
    }

    /** The status code and the body. */
    private static String[] get(String host, int port, String path) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), TIMEOUT_MS);
            socket.setSoTimeout(TIMEOUT_MS);
            OutputStream out = socket.getOutputStream();
            out.write(("GET " + path + " HTTP/1.0\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String answer = new String(in.readNBytes(MAX_BYTES), StandardCharsets.UTF_8);
            int end = answer.indexOf("\r\n\r\n");
            String[] status = answer.substring(0, Math.max(0, answer.indexOf("\r\n"))).split(" ");
            if (status.length < 2 || !status[0].startsWith("HTTP/")) {
                throw new IOException("not an HTTP answer: " + answer.lines().findFirst().orElse(""));
            }
            return new String[] {status[1], end < 0 ? "" : answer.substring(end + 4)};
        }
    }
}
