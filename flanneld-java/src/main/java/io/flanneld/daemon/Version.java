package io.flanneld.daemon;

import picocli.CommandLine;

/** The version printed by {@code --version}, taken from the jar's manifest. */
final class Version implements CommandLine.IVersionProvider {
    static String current() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v == null ? "development build" : v;
    }

    @Override
    public String[] getVersion() {
        return new String[] {"flanneld-java " + current() + " (flannel-compatible; etcd v3 API)",
            "Java " + System.getProperty("java.version") + " on " + System.getProperty("os.name") + " " + System.getProperty("os.arch")};
    }
}
