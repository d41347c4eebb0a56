package io.flanneld.net;

import java.nio.charset.StandardCharsets;

/** The kernel's rules for interface names, checked here so a bad name fails before it reaches a syscall. */
final class LinkNames {
    /** IFNAMSIZ: 16 bytes including the terminating NUL. */
    static final int MAX_BYTES = 15;

    private LinkNames() {
    }

    static String requireValid(String name) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > MAX_BYTES) {
            throw new IllegalArgumentException("interface name must be 1.." + MAX_BYTES + " bytes: '" + name + "'");
        }
        if (name.equals(".") || name.equals("..") || name.chars().anyMatch(c -> c == '/' || c == ':' || c <= ' ')) {
            throw new IllegalArgumentException("interface name may not be '.', '..' or contain '/', ':' or "
                    + "whitespace: '" + name + "'");
        }
        return name;
    }
}
