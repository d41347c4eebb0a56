package io.flanneld.udp;

import static org.junit.jupiter.api.Assertions.*;

import io.flanneld.net.LibC;
import io.flanneld.net.LinuxAbi;
import io.flanneld.net.NetworkNamespaces;
import io.flanneld.schema.Ip4;
import io.flanneld.testkit.Cmd;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A TCP segment corrupted before encapsulation, in a datagram whose UDP checksum is 0 (legal in IPv4: the receiving
 * kernel verifies nothing), arriving right after good segments of an established flow that the receiving daemon
 * merges into GSO writes: the receiving socket gets only the right bytes, and the kernel that holds it counts each
 * corrupted segment as a TCP checksum error (it saw them, and rejected them).
 *
 * <p>Host 2 runs the backend. The test plays host 1 (which runs none): from host 1's underlay address, over a libc
 * socket with {@code SO_NO_CHECK}, it speaks TCP for an address in host 1's subnet, handshake included, to a listener
 * on host 2 itself or in a pod namespace behind a veth on host 2 (the packet then is forwarded, as to a real pod);
 * host 2's daemon sends the listener's replies to host 1's port 8285, where the test reads them. Each round sends
 * three good segments, the fourth with a payload byte flipped (checksum as the sender computed it) and then the
 * fourth again, intact, as TCP would retransmit it; the datagram with the corrupted segment always has a zero UDP
 * checksum as received, which a raw socket on host 2 checks.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CorruptedSegmentKernelTest {
    private static final Duration T = Duration.ofSeconds(10);
    /** In host 1's subnet 198.19.1.0/24, so host 2's daemon accepts it from host 1's address. */
    private static final String PEER = "198.19.1.77";
    private static final int PEER_PORT = 40000;
    private static final int ROUNDS = 20;
    private static final int PER_ROUND = 4;
    private static final int SEGMENT = 1000;
    private static final int ISN = 0x7ffff000;    // the sequence numbers cross the sign bit: compared as TCP does

    private UdpCluster cluster;
    private String podNetns;

    @BeforeEach
    void createHosts() {
        cluster = new UdpCluster();
    }

    @AfterEach
    void removeHosts() {
        try {
            if (podNetns != null) {
                Cmd.run(T, "ip", "netns", "del", podNetns);
            }
        } finally {
            cluster.close();
        }
    }

    @ParameterizedTest(name = "listener in a pod behind host 2: {0}")
    @ValueSource(booleans = {false, true})
    void corruptedSegmentNeverReachesTheListenerAsGoodData(boolean inPod) throws Exception {
        UdpCluster.Node n1 = cluster.addNode(1);
        UdpCluster.Node n2 = cluster.addNode(2);
        UdpBackend b2 = cluster.start(n2);
        assertTrue(b2.offloads().coalesce(), "this kernel lets the daemon coalesce: " + b2.offloads().describe());
        String listenerNetns = inPod ? addPod(n2, b2.mtu()) : n2.host().netns();
        String listenerIp = inPod ? "198.19.2.2" : n2.overlayIp();

        byte[] data = TcpPackets.payload(ROUNDS * PER_ROUND * SEGMENT, 5);
        try (ServerSocket server = NetworkNamespaces.callIn(listenerNetns, () -> listen(listenerIp));
             DatagramSocket underlay = NetworkNamespaces.callIn(n1.host().netns(), () -> bind(n1.ip()));
             LibcUdpSocket noChecksum = LibcUdpSocket.open(n1.host().netns())
                     .option(LinuxAbi.SOL_SOCKET, LinuxAbi.SO_NO_CHECK, 1);
             RawUdpTap tap = RawUdpTap.open(n2.host().netns())) {
            Flow flow = new Flow(noChecksum, underlay, n2.ip(), listenerIp, server.getLocalPort());
            CompletableFuture<byte[]> received = read(server, data.length);

            flow.send(flow.segment(ISN, 0, Tcp.SYN, new byte[] {2, 4, 0x05, 0x78}, new byte[0]));  // MSS 1400
            int[] synAck = flow.await(f -> (f & (Tcp.SYN | Tcp.ACK)) == (Tcp.SYN | Tcp.ACK), ISN + 1);
            int ack = synAck[0] + 1;
            int seq = ISN + 1;
            flow.send(flow.segment(seq, ack, Tcp.ACK, new byte[0], new byte[0]));
            long csumErrorsBefore = tcpInCsumErrors(listenerNetns);

            for (int round = 0; round < ROUNDS; round++) {
                int at = round * PER_ROUND * SEGMENT;
                for (int i = 0; i < PER_ROUND - 1; i++) {
                    flow.send(flow.data(seq + i * SEGMENT, ack, data, at + i * SEGMENT, SEGMENT));
                }
                int last = seq + (PER_ROUND - 1) * SEGMENT;
                int lastAt = at + (PER_ROUND - 1) * SEGMENT;
                ByteBuffer corrupted = flow.data(last, ack, data, lastAt, SEGMENT);
                int flip = 40 + (round * 97) % SEGMENT;    // a payload byte (after 20 IPv4 + 20 TCP)
                corrupted.put(flip, (byte) (corrupted.get(flip) ^ 0x10));
                assertFalse(TcpPackets.tcpChecksumValid(corrupted, 0));
                flow.send(corrupted);
                flow.send(flow.data(last, ack, data, lastAt, SEGMENT));    // the retransmission, intact
                seq += PER_ROUND * SEGMENT;
                flow.await(f -> (f & Tcp.ACK) != 0, seq);
            }

            byte[] got = received.get(30, TimeUnit.SECONDS);
            int differs = Arrays.mismatch(data, got);
            assertEquals(-1, differs, "the listener received wrong bytes from offset " + differs + " (of "
                    + data.length + "): a corrupted segment was accepted as good");
            long csumErrors = tcpInCsumErrors(listenerNetns) - csumErrorsBefore;
            assertEquals(ROUNDS, csumErrors, "the listener's kernel verified and rejected each corrupted segment");
            int zero = tap.zeroChecksumDatagramsFrom(n1.ip());
            assertTrue(zero >= ROUNDS * (PER_ROUND + 1), "datagrams that arrived with UDP checksum 0: " + zero);
            System.out.println("listener " + listenerIp + (inPod ? " (pod)" : " (host 2)") + ": " + got.length
                    + " bytes, all intact; TcpInCsumErrors +" + csumErrors + "; " + zero
                    + " datagrams arrived with UDP checksum 0; daemon " + b2.counters());
        }
        UdpCounters c = b2.counters();
        assertEquals(0, c.droppedTotal(), c.toString());
        assertEquals(0, c.ioErrors(), c.toString());
        assertTrue(c.udpToTunPackets() >= 2 + ROUNDS * (PER_ROUND + 1), c.toString());
    }

    /** A pod namespace behind host 2 (veth, 198.19.2.2/24, gateway 198.19.2.1 on host 2, forwarding on), as CNI does. */
    private String addPod(UdpCluster.Node host, int mtu) {
        podNetns = "p2-" + cluster.fabric.suffix();
        Cmd.run(T, "ip", "netns", "add", podNetns).check();
        host.host().exec("sysctl", "-qw", "net.ipv4.ip_forward=1").check();
        host.host().exec("ip", "link", "add", "vpod", "mtu", Integer.toString(mtu), "type", "veth", "peer", "name",
                "eth0", "netns", podNetns).check();
        host.host().exec("ip", "addr", "add", "198.19.2.1/24", "dev", "vpod").check();
        host.host().exec("ip", "link", "set", "vpod", "up").check();
        Cmd.run(T, "ip", "-n", podNetns, "link", "set", "lo", "up").check();
        Cmd.run(T, "ip", "-n", podNetns, "link", "set", "eth0", "up").check();
        Cmd.run(T, "ip", "-n", podNetns, "addr", "add", "198.19.2.2/24", "dev", "eth0").check();
        Cmd.run(T, "ip", "-n", podNetns, "route", "add", "default", "via", "198.19.2.1").check();
        return podNetns;
    }

    /**
     * One TCP connection from {@link #PEER} to the listener, carried the way host 1's daemon would carry it: each
     * segment one datagram to host 2's port 8285, sent with no UDP checksum; the listener's segments come back
     * from host 2's daemon to host 1's port 8285.
     */
    private record Flow(LibcUdpSocket out, DatagramSocket in, String host2, String listener, int port) {
        ByteBuffer segment(int seq, int ack, int flags, byte[] options, byte[] payload) {
            return TcpPackets.tcp(PEER, listener, PEER_PORT, port, 0, options, seq, ack, flags, payload, false);
        }

        /** A data segment: ACK only, no options, {@code length} bytes of {@code data} from {@code from}. */
        ByteBuffer data(int seq, int ack, byte[] data, int from, int length) {
            return segment(seq, ack, Tcp.ACK, new byte[0], Arrays.copyOfRange(data, from, from + length));
        }

        void send(ByteBuffer packet) {
            byte[] bytes = new byte[packet.capacity()];
            packet.get(0, bytes);
            out.send(host2, UdpBackend.DEFAULT_PORT, bytes);
        }

        /**
         * Reads the listener's segments until one whose flags pass {@code flags} acknowledges {@code ack} or more
         * (bounded); its sequence and acknowledgement numbers.
         */
        int[] await(IntPredicate flags, int ack) throws IOException {
            byte[] buf = new byte[2048];
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            int lastAck = 0;
            while (System.nanoTime() < deadline) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    in.receive(p);
                } catch (SocketTimeoutException e) {
                    continue;
                }
                ByteBuffer b = ByteBuffer.wrap(buf, 0, p.getLength());
                if (p.getLength() < 40 || b.get(9) != Tcp.PROTOCOL || b.getInt(12) != Ip4.parse(listener)
                        || b.getInt(16) != Ip4.parse(PEER)) {
                    continue;
                }
                int t = (b.get(0) & 0x0f) * 4;
                int segmentFlags = Tcp.flags(b, t);
                assertEquals(0, segmentFlags & Tcp.RST, "the listener reset the connection");
                lastAck = b.getInt(t + 8);
                if (flags.test(segmentFlags) && lastAck - ack >= 0) {
                    return new int[] {Tcp.seq(b, t), lastAck};
                }
            }
            throw new AssertionError("no acknowledgement of " + Integer.toUnsignedString(ack) + " within 10 s (last "
                    + Integer.toUnsignedString(lastAck) + ")");
        }
    }

    /**
     * A raw IPv4 socket for UDP in a host's namespace: the kernel gives it a copy of every UDP packet the host
     * receives, headers included, so the UDP checksum field can be read as it arrived.
     */
    private static final class RawUdpTap implements AutoCloseable {
        private final LibC sys = LibC.Native.libc();
        private final int fd;

        private RawUdpTap(int fd) {
            this.fd = fd;
        }

        static RawUdpTap open(String netns) {
            LibC sys = LibC.Native.libc();
            int fd = NetworkNamespaces.callIn(netns, () -> sys.socket(LinuxAbi.AF_INET,
                    LinuxAbi.SOCK_RAW | LinuxAbi.SOCK_NONBLOCK, LinuxAbi.IPPROTO_UDP));
            assertTrue(fd >= 0, "raw socket errno " + LibC.Native.errno());
            ByteBuffer size = ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putInt(0, 8 << 20);
            sys.setsockopt(fd, LinuxAbi.SOL_SOCKET, LinuxAbi.SO_RCVBUFFORCE, LibC.Native.address(size), 4);
            return new RawUdpTap(fd);
        }

        /** Reads what is queued (without waiting): datagrams from {@code source} whose UDP checksum field is 0. */
        int zeroChecksumDatagramsFrom(String source) {
            ByteBuffer b = ByteBuffer.allocateDirect(65536);
            long address = LibC.Native.address(b);
            int zero = 0;
            for (long n; (n = sys.read(fd, address, b.capacity())) > 0; ) {
                int udp = (b.get(0) & 0x0f) * 4;
                if (n >= udp + 8 && b.getInt(12) == Ip4.parse(source) && b.getShort(udp + 6) == 0) {
                    zero++;
                }
            }
            return zero;
        }

        @Override
        public void close() {
            sys.close(fd);
        }
    }

    /** The namespace's TcpInCsumErrors (/proc/net/snmp as seen inside it). */
    private static long tcpInCsumErrors(String netns) {
        List<String> tcp = Cmd.run(T, "ip", "netns", "exec", netns, "cat", "/proc/net/snmp").check().stdout().lines()
                .filter(l -> l.startsWith("Tcp:")).toList();
        List<String> names = List.of(tcp.get(0).split("\\s+"));
        return Long.parseLong(tcp.get(1).split("\\s+")[names.indexOf("InCsumErrors")]);
    }

    private static ServerSocket listen(String ip) {
        try {
            return new ServerSocket(0, 1, InetAddress.getByName(ip));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static DatagramSocket bind(String ip) {
        try {
            DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(ip),
                    UdpBackend.DEFAULT_PORT));
            s.setSoTimeout(200);
            return s;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Accepts one connection and reads {@code length} bytes from it (or what came before it ended). */
    private static CompletableFuture<byte[]> read(ServerSocket server, int length) {
        return CompletableFuture.supplyAsync(() -> {
            try (Socket s = server.accept(); InputStream in = s.getInputStream()) {
                return in.readNBytes(length);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
