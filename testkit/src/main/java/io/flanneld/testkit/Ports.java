package io.flanneld.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Picks free TCP ports on 127.0.0.1 by binding port 0. The ports are released before returning, so another
 * process can take one in the meantime; callers must be ready to retry.
 */
public final class Ports {
    private Ports() {
    }

    /** {@code n} distinct ports that were free on 127.0.0.1 a moment ago. */
    public static int[] free(int n) {
        List<ServerSocket> held = new ArrayList<>();
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find free ports", e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // nothing to do
                }
            }
        }
    }

    /** One port that was free on 127.0.0.1 a moment ago. */
    public static int free() {
        return free(1)[0];
    }
}
