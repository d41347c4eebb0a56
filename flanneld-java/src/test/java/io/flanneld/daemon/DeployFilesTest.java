package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.flanneld.schema.ConfigCodec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The deployment files parse and say what an operator relies on. */
class DeployFilesTest {
    private static final Path DEPLOY = Path.of("..", "deploy");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Map<String, JsonNode> BY_KIND = new HashMap<>();
    private static JsonNode podSpec;

    @BeforeAll
    static void parse() throws Exception {
        try (YAMLParser parser = new YAMLFactory().createParser(DEPLOY.resolve("kubernetes/flanneld-java.yml").toFile())) {
            List<JsonNode> docs = new ArrayList<>();
            YAML.readValues(parser, JsonNode.class).forEachRemaining(docs::add);
            for (JsonNode doc : docs) {
                if (doc != null && doc.has("kind")) {
                    BY_KIND.put(doc.get("kind").asText(), doc);
                }
            }
        }
        podSpec = BY_KIND.get("DaemonSet").at("/spec/template/spec");
    }

    private static JsonNode container() {
        return podSpec.get("containers").get(0);
    }

    private static List<String> texts(JsonNode array) {
        return StreamSupport.stream(array.spliterator(), false).map(JsonNode::asText).toList();
    }

    @Test
    void theDaemonSetRunsOnEveryNodeInTheHostNetwork() {
        assertTrue(podSpec.get("hostNetwork").asBoolean());
        assertEquals("Exists", podSpec.at("/tolerations/0/operator").asText(), "tolerates every taint");
        assertEquals("system-node-critical", podSpec.get("priorityClassName").asText());
    }

    @Test
    void itHasTheCapabilitiesItNeedsAndIsNotPrivileged() {
        JsonNode security = container().get("securityContext");
        assertFalse(security.get("privileged").asBoolean());
        assertEquals(List.of("NET_ADMIN", "NET_RAW"), texts(security.at("/capabilities/add")));
    }

    @Test
    void itMountsTheHostPathsTheRuntimesRead() {
        Map<String, String> hostPaths = new HashMap<>();
        for (JsonNode v : podSpec.get("volumes")) {
            if (v.has("hostPath")) {
                hostPaths.put(v.get("name").asText(), v.at("/hostPath/path").asText());
            }
        }
        assertEquals("/run/flannel", hostPaths.get("run"));
        assertEquals("/etc/cni/net.d", hostPaths.get("cni-conf"));
        assertEquals("/dev/net/tun", hostPaths.get("dev-net-tun"));
        List<String> mounts = StreamSupport.stream(container().get("volumeMounts").spliterator(), false)
                .map(m -> m.get("mountPath").asText()).toList();
        assertTrue(mounts.containsAll(List.of("/run/flannel", "/etc/cni/net.d", "/dev/net/tun", "/etc/flanneld-java/etcd")), mounts.toString());
    }

    @Test
    void flagsAndProbesMatchTheDaemon() {
        List<String> args = texts(container().get("args"));
        assertTrue(args.contains("--cni-conf-dir=/etc/cni/net.d") && args.contains("--healthz-port=10270"), args.toString());
        CommandLine cli = Main.commandLine(java.util.Map.of());
        cli.parseArgs(args.toArray(String[]::new));
        assertEquals("/healthz", container().at("/livenessProbe/httpGet/path").asText());
        assertEquals(10270, container().at("/livenessProbe/httpGet/port").asInt());
        assertNotNull(container().at("/resources/requests/memory").textValue());
        assertNotNull(container().at("/resources/requests/cpu").textValue());
        List<String> env = StreamSupport.stream(container().get("env").spliterator(), false).map(e -> e.get("name").asText()).toList();
        assertTrue(env.containsAll(List.of("FLANNELD_ETCD_ENDPOINTS", "FLANNELD_ETCD_CAFILE", "FLANNELD_ETCD_CERTFILE", "FLANNELD_ETCD_KEYFILE")), env.toString());
        assertEquals("flanneld-java-etcd", container().at("/env/0/valueFrom/secretKeyRef/name").asText(), "endpoints come from the Secret");
    }

    @Test
    void theInitStepWritesAValidConfigOnlyIfAbsent() throws Exception {
        JsonNode init = podSpec.get("initContainers").get(0);
        List<String> command = texts(init.get("command"));
        int sub = command.indexOf("put-config");
        assertTrue(sub > 0 && command.contains("--if-absent"), command.toString());
        Main.commandLine(java.util.Map.of()).parseArgs(command.subList(sub, command.size()).toArray(String[]::new));
        String netConf = BY_KIND.get("ConfigMap").at("/data/net-conf.json").asText();
        assertEquals("vxlan", ConfigCodec.parse(netConf).backend().type());
    }

    @Test
    void theSystemdUnitWaitsForReadyAndTheImageHasTheModulesTheDaemonUses() throws Exception {
        String unit = Files.readString(DEPLOY.resolve("systemd/flanneld-java.service"));
        assertTrue(unit.contains("\nType=notify\n") && unit.contains("Before=docker.service containerd.service"), unit);
        assertTrue(unit.contains("mk-docker-opts -f /run/flannel/subnet.env -d /run/docker_opts.env"), unit);
        String dockerfile = Files.readString(DEPLOY.resolve("image/Dockerfile"));
        for (String module : new String[] {"jdk.unsupported", "jdk.management", "jdk.random", "jdk.crypto.ec"}) {
            assertTrue(dockerfile.contains(module), "jlink needs " + module);
        }
    }

    /**
     * .dockerignore lets through each module's pom and main sources (docker skips an excluded directory unless an
     * exception names a path under it literally, so a wildcard such as !*&#47;src/main would send nothing).
     */
    @Test
    void theImageBuildContextHoldsEveryModule() throws Exception {
        String pom = Files.readString(Path.of("..", "pom.xml"));
        List<String> modules = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("<module>([^<]+)</module>").matcher(pom);
        while (m.find()) {
            modules.add(m.group(1).strip());
        }
        assertTrue(modules.contains("flanneld-java"), modules.toString());
        List<String> ignore = Files.readAllLines(Path.of("..", ".dockerignore")).stream().map(String::strip).toList();
        for (String module : modules) {
            assertTrue(ignore.contains("!" + module + "/pom.xml") && ignore.contains("!" + module + "/src/main"),
                    ".dockerignore lets " + module + "'s pom.xml and src/main through: " + ignore);
        }
        assertTrue(ignore.contains("!deploy/image") && ignore.contains("!deploy/bin") && ignore.contains("**/target"), ignore.toString());
    }

    /** Every way to run the daemon takes its JVM flags from deploy/bin/jvm.options, through the launcher or directly. */
    @Test
    void everyWayToRunItUsesTheSameJvmFlags() throws Exception {
        String unit = Files.readString(DEPLOY.resolve("systemd/flanneld-java.service"));
        assertTrue(unit.contains("ExecStart=/opt/flanneld-java/flanneld-java "), "systemd unit runs the launcher");
        assertTrue(unit.contains("ExecStartPost=/opt/flanneld-java/flanneld-java mk-docker-opts"), unit);
        assertTrue(unit.contains("CacheDirectory=flanneld-java") && unit.contains("Environment=FLANNELD_JAVA_CACHE=/var/cache/flanneld-java"),
                "systemd makes the archive's directory and hands it to the launcher");
        String dockerfile = Files.readString(DEPLOY.resolve("image/Dockerfile"));
        assertTrue(dockerfile.contains("COPY deploy/bin/flanneld-java deploy/bin/jvm.options /opt/flanneld-java/"), dockerfile);
        assertTrue(dockerfile.contains("ENTRYPOINT [\"/opt/flanneld-java/flanneld-java\"]"), dockerfile);
        assertFalse(dockerfile.contains("JAVA_TOOL_OPTIONS"), "the image's flags are jvm.options, not an environment");
        JsonNode c = container();
        assertTrue(StreamSupport.stream(c.get("env").spliterator(), false)
                .noneMatch(e -> e.get("name").asText().equals("JAVA_TOOL_OPTIONS")), "the DaemonSet adds no JVM flags");
        assertTrue(StreamSupport.stream(c.get("env").spliterator(), false)
                .noneMatch(e -> e.get("name").asText().equals("FLANNELD_JAVA_CACHE")), "no archive in a memory-limited container");
        assertTrue(Files.readString(DEPLOY.resolve("bin/flanneld-java")).contains("\"@$HERE/jvm.options\""), "launcher");
        for (String script : List.of("demo/run", "benchmarks/udp-throughput", "benchmarks/hostgw-throughput")) {
            assertTrue(Files.readString(Path.of("..", script)).contains("JAVA_OPTS:-@$ROOT/deploy/bin/jvm.options}"), script);
        }
        List<String> flags = LauncherTest.jvmOptions();
        assertTrue(flags.containsAll(List.of("-Xmx64m", "-XX:+UseSerialGC", "-XX:TrimNativeHeapInterval=2000")), flags.toString());
    }
}
