package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemdNotifyTest {
    @TempDir
    Path dir;

    @Test
    void aDatagramReachesTheNotifySocket() {
        try (UnixDatagramReceiver receiver = UnixDatagramReceiver.bind(dir.resolve("notify"))) {
            SystemdNotify.send(receiver.path().toString(), "READY=1\nSTATUS=subnet 198.19.7.0/24");
            assertEquals(Optional.of("READY=1\nSTATUS=subnet 198.19.7.0/24"), receiver.receive(2000));
            assertEquals(Optional.empty(), receiver.receive(100));
        }
    }

    @Test
    void aMissingSocketIsAnErrorThatNamesIt() {
        ErrnoException e = assertThrows(ErrnoException.class, () -> SystemdNotify.send(dir.resolve("absent").toString(), "READY=1"));
        assertTrue(e.getMessage().contains("absent") && e.getMessage().contains("ENOENT"), e.getMessage());
    }

    @Test
    void abstractNamesStartWithANulByte() {
        byte[] address = SystemdNotify.sockaddrUn("@/org/freedesktop/systemd1/notify");
        assertEquals(1, address[0]);
        assertEquals(0, address[2]);
        assertEquals('/', address[3]);
        assertEquals(2 + "@/org/freedesktop/systemd1/notify".length(), address.length);
    }

    @Test
    void withoutTheVariableNothingIsSent() {
        if (System.getenv("NOTIFY_SOCKET") == null) {
            assertEquals(false, SystemdNotify.notify("READY=1"));
        }
    }
}
