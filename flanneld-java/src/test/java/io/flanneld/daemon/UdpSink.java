package io.flanneld.daemon;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * A pod's UDP listener for end-to-end tests, run in the pod's namespace as {@code java -cp <test classes>
 * io.flanneld.daemon.UdpSink IP PORT FILE}: appends each datagram's payload, one line each, to FILE, which it
 * creates empty once the socket is bound (so the test knows when to send). Runs until killed.
 */
public final class UdpSink {
    private UdpSink() {
    }

    public static void main(String[] args) throws IOException {
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(args[0]), Integer.parseInt(args[1])));
             OutputStream out = new FileOutputStream(args[2], true)) {
            byte[] buf = new byte[2048];
            while (true) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                socket.receive(p);
                String line = new String(p.getData(), p.getOffset(), p.getLength(), StandardCharsets.UTF_8).strip() + "\n";
                out.write(line.getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        }
    }
}
