package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * {@link MessageBatch} writes and reads the kernel's structs where x86-64 (and arm64) Linux has them. The offsets
 * here are written out as numbers on purpose, not taken from {@link LinuxAbi}: a changed constant there turns this
 * red instead of moving both sides. No system call is made.
 */
class MessageBatchLayoutTest {
    private static final long DATA = 0x7f00_1234_5670L;

    @Test
    void linuxAbiHasTheX8664Layout() {
        assertEquals(64, LinuxAbi.MMSGHDR_SIZE);
        assertEquals(56, LinuxAbi.MSGHDR_SIZE);
        assertEquals(0, LinuxAbi.MSG_NAME);
        assertEquals(8, LinuxAbi.MSG_NAMELEN);
        assertEquals(16, LinuxAbi.MSG_IOV);
        assertEquals(24, LinuxAbi.MSG_IOVLEN);
        assertEquals(32, LinuxAbi.MSG_CONTROL);
        assertEquals(40, LinuxAbi.MSG_CONTROLLEN);
        assertEquals(48, LinuxAbi.MSG_FLAGS);
        assertEquals(56, LinuxAbi.MSG_LEN);
        assertEquals(16, LinuxAbi.IOVEC_SIZE);
        assertEquals(0, LinuxAbi.IOV_BASE);
        assertEquals(8, LinuxAbi.IOV_LEN);
        assertEquals(16, LinuxAbi.SOCKADDR_IN_SIZE);
        assertEquals(8, LinuxAbi.POLLFD_SIZE);
        assertEquals(8, LinuxAbi.CMSG_LEVEL);
        assertEquals(12, LinuxAbi.CMSG_TYPE);
        assertEquals(16, LinuxAbi.CMSG_DATA);
        assertEquals(18, LinuxAbi.cmsgLen(2));
        assertEquals(20, LinuxAbi.cmsgLen(4));
        assertEquals(24, LinuxAbi.cmsgSpace(4));
        assertEquals(24, MessageBatch.CONTROL_SLOT);
    }

    @Test
    void everyMessageIsWiredToItsOwnNameAndSingleIovec() {
        MessageBatch batch = new MessageBatch(3);
        ByteBuffer m = batch.memory();
        long base = batch.address(0);
        for (int i = 0; i < 3; i++) {
            int hdr = 64 * i;
            assertEquals(base + hdr, batch.address(i), "mmsghdr " + i + " is 64 bytes after the previous one");
            // Layout: 3 mmsghdr, then 3 iovec, then 3 sockaddr_in, then the control slots.
            assertEquals(base + 3 * 64 + 3 * 16 + 16 * i, m.getLong(hdr), "msg_name at 0");
            assertEquals(16, m.getInt(hdr + 8), "msg_namelen at 8");
            assertEquals(base + 3 * 64 + 16 * i, m.getLong(hdr + 16), "msg_iov at 16");
            assertEquals(1, m.getLong(hdr + 24), "msg_iovlen at 24");
            assertEquals(0, m.getLong(hdr + 32), "no msg_control until asked for");
            assertEquals(0, m.getLong(hdr + 40), "msg_controllen at 40");
        }
    }

    @Test
    void setIovWritesTheIovecTheHeaderPointsAt() {
        MessageBatch batch = new MessageBatch(2);
        ByteBuffer m = batch.memory();
        batch.setIov(1, DATA, 1472);
        int iov = (int) (m.getLong(64 + 16) - batch.address(0));
        assertEquals(DATA, m.getLong(iov), "iov_base at 0");
        assertEquals(1472, m.getLong(iov + 8), "iov_len at 8");
        assertEquals(DATA, batch.iovBase(1));
        assertEquals(1472, batch.iovLength(1));
        assertEquals(0, m.getLong((int) (m.getLong(16) - batch.address(0))), "message 0's iovec untouched");
    }

    @Test
    void destinationIsASockaddrInWithPortAndAddressInNetworkOrder() {
        MessageBatch batch = new MessageBatch(2);
        ByteBuffer m = batch.memory();
        batch.setDestination(1, 0xC612_0002, 8285);   // 198.18.0.2
        int name = (int) (m.getLong(64) - batch.address(0));
        assertEquals(2, m.order(ByteOrder.nativeOrder()).getShort(name), "sin_family AF_INET, host order");
        ByteBuffer wire = m.duplicate().order(ByteOrder.BIG_ENDIAN);
        assertEquals(8285, wire.getShort(name + 2) & 0xffff, "sin_port at 2, network order");
        assertEquals(0xC612_0002, wire.getInt(name + 4), "sin_addr at 4, network order");
        assertEquals(0xC612_0002, batch.sourceAddress(1));
        assertEquals(8285, batch.sourcePort(1));
    }

    @Test
    void lengthsAndFlagsAreReadWhereTheKernelWritesThem() {
        MessageBatch batch = new MessageBatch(2);
        ByteBuffer m = batch.memory();
        m.putInt(64 + 56, 1400);                       // msg_len
        m.putInt(64 + 48, LinuxAbi.MSG_TRUNC);         // msg_flags
        m.putInt(64 + 8, 7);                           // msg_namelen
        m.putLong(64 + 40, 20);                        // msg_controllen
        assertEquals(1400, batch.msgLen(1));
        assertEquals(LinuxAbi.MSG_TRUNC, batch.flags(1));
        assertEquals(7, batch.nameLength(1));
        assertEquals(20, batch.controlLength(1));
        assertEquals(0, batch.msgLen(0));
    }

    @Test
    void resetForReceiveRestoresBothLengthsAndOffersTheControlSlot() {
        MessageBatch batch = new MessageBatch(2);
        ByteBuffer m = batch.memory();
        m.putInt(64 + 8, 0);
        m.putLong(64 + 40, 0);
        batch.resetForReceive(2);
        assertEquals(16, m.getInt(64 + 8));
        assertEquals(24, m.getLong(64 + 40));
        assertEquals(batch.address(0) + batch.controlOffset(1), m.getLong(64 + 32));
    }

    @Test
    void udpGroSegmentSizeIsReadFromItsControlMessage() {
        MessageBatch batch = new MessageBatch(2);
        ByteBuffer m = batch.memory();
        batch.resetForReceive(2);
        int c = batch.controlOffset(1);
        m.putLong(c, 20).putInt(c + 8, 17).putInt(c + 12, 104).putInt(c + 16, 1400);   // SOL_UDP, UDP_GRO
        m.putLong(64 + 40, 24);
        assertEquals(1400, batch.groSegmentSize(1));
        m.putInt(c + 12, 103);
        assertEquals(0, batch.groSegmentSize(1), "another control message");
        m.putInt(c + 12, 104);
        m.putLong(64 + 40, 0);
        assertEquals(0, batch.groSegmentSize(1), "no control message came");
    }

    @Test
    void udpSegmentIsAControlMessageOnlyWhenAsked() {
        MessageBatch batch = new MessageBatch(2);
        ByteBuffer m = batch.memory();
        batch.setUdpSegment(1, 1400);
        int c = (int) (m.getLong(64 + 32) - batch.address(0));
        assertEquals(batch.controlOffset(1), c);
        assertEquals(24, m.getLong(64 + 40), "msg_controllen CMSG_SPACE(2)");
        assertEquals(18, m.getLong(c), "cmsg_len CMSG_LEN(2)");
        assertEquals(17, m.getInt(c + 8), "SOL_UDP");
        assertEquals(103, m.getInt(c + 12), "UDP_SEGMENT");
        assertEquals(1400, m.getShort(c + 16));
        batch.setUdpSegment(1, 0);
        assertEquals(0, m.getLong(64 + 32));
        assertEquals(0, m.getLong(64 + 40));
    }
}
