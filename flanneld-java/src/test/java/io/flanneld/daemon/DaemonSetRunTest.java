package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The DaemonSet's containers are run by {@link ImageIT} exactly as the manifest declares them: the docker arguments of
 * {@link DaemonSetRun} and the ones derived here from deploy/kubernetes/flanneld-java.yml describe the same image,
 * entrypoint, arguments, network, privileges, capabilities, environment, mounts and memory limit, container by
 * container; the Secret's files, the ConfigMap's file and the probes are the ones the test writes and asks.
 * Changing the manifest without the test (or the other way round) fails here.
 */
class DaemonSetRunTest {
    private static final Path MANIFEST = Path.of("..", "deploy", "kubernetes", "flanneld-java.yml");
    private static final DaemonSetRun.Node NODE = new DaemonSetRun.Node(Path.of("/nodes/h1"), "198.18.0.1",
            "https://198.18.0.100:2379", Path.of("/test/etcd-tls"), Path.of("/test/net-conf"));
    private static JsonNode podSpec;

    /** What a container is, in terms both docker's arguments and the pod spec can be put in. */
    record Spec(String image, String entrypoint, List<String> args, boolean hostNetwork, boolean privileged,
                List<String> capAdd, Map<String, String> env, Map<String, String> mounts, String memoryLimit) {
    }

    @BeforeAll
    static void parse() throws Exception {
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory());
        try (YAMLParser parser = new YAMLFactory().createParser(MANIFEST.toFile())) {
            Iterator<JsonNode> docs = yaml.readValues(parser, JsonNode.class);
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc != null && "DaemonSet".equals(doc.path("kind").asText())) {
                    podSpec = doc.at("/spec/template/spec");
                }
            }
        }
        assertTrue(podSpec != null && !podSpec.isMissingNode(), "a DaemonSet in " + MANIFEST);
    }

    @Test
    void theDaemonsContainerIsRunAsTheManifestDeclaresIt() {
        assertEquals(1, podSpec.get("containers").size(), "one container, which ImageIT runs");
        Spec fromManifest = fromManifest(podSpec.get("containers").get(0));
        Spec fromTest = fromDocker(DaemonSetRun.container(NODE, "flanneld-java"));
        assertEquals(fromManifest, fromTest);
    }

    @Test
    void theInitContainerIsRunAsTheManifestDeclaresIt() {
        assertEquals(1, podSpec.get("initContainers").size(), "one init container, which ImageIT runs");
        Spec fromManifest = fromManifest(podSpec.get("initContainers").get(0));
        Spec fromTest = fromDocker(DaemonSetRun.initContainer(NODE, "write-net-conf"));
        assertEquals(fromManifest, fromTest);
    }

    @Test
    void theSecretsFilesTheConfigMapsFileAndTheProbesAreTheOnesTheTestUses() {
        JsonNode secret = volume("etcd-tls").get("secret");
        assertEquals("flanneld-java-etcd", secret.get("secretName").asText());
        // 0400 is octal to Kubernetes (YAML 1.1): 256; a parser that reads the digits in decimal gives 400.
        int mode = secret.get("defaultMode").asInt() == 400 ? 0400 : secret.get("defaultMode").asInt();
        assertEquals(DaemonSetRun.SECRET_FILE_MODE, modeString(mode), "defaultMode " + secret.get("defaultMode"));
        Map<String, String> items = new TreeMap<>();
        secret.get("items").forEach(i -> items.put(i.get("key").asText(), i.get("path").asText()));
        assertEquals(Map.of("ca.crt", "ca.crt", "client.crt", "client.crt", "client.key", "client.key"), items,
                "ImageIT writes ca.crt, client.crt and client.key");
        assertEquals("flanneld-java-net-conf", volume("net-conf").at("/configMap/name").asText());
        for (String probe : List.of("livenessProbe", "readinessProbe")) {
            JsonNode get = podSpec.get("containers").get(0).get(probe).get("httpGet");
            assertEquals(DaemonSetRun.PROBE_HOST, get.get("host").asText(), probe);
            assertEquals(DaemonSetRun.PROBE_PORT, get.get("port").asInt(), probe);
            assertEquals(DaemonSetRun.PROBE_PATH, get.get("path").asText(), probe);
        }
        assertTrue(podSpec.path("terminationGracePeriodSeconds").isMissingNode()
                        || podSpec.get("terminationGracePeriodSeconds").asInt() == DaemonSetRun.STOP_GRACE_SECONDS,
                "docker stop -t " + DaemonSetRun.STOP_GRACE_SECONDS + " is the pod's grace period");
    }

    /** The parser below reads docker's arguments as docker does (a sanity check of the comparison itself). */
    @Test
    void dockerArgumentsAreReadAsDockerReadsThem() {
        Spec s = fromDocker(List.of("run", "-d", "--name", "x", "--network", "host", "--cap-add", "NET_ADMIN",
                "-e", "A=b=c", "-v", "/h:/c:ro", "--memory", "256m", "img", "--flag", "-e"));
        assertEquals(new Spec("img", null, List.of("--flag", "-e"), true, false, List.of("NET_ADMIN"), Map.of("A", "b=c"),
                Map.of("/c", "/h (ro)"), "256m"), s);
    }

    private static String modeString(int mode) {
        StringBuilder b = new StringBuilder();
        String rwx = "rwx";
        for (int bit = 8; bit >= 0; bit--) {
            b.append((mode & (1 << bit)) != 0 ? rwx.charAt(2 - bit % 3) : '-');
        }
        return b.toString();
    }

    private static JsonNode volume(String name) {
        for (JsonNode v : podSpec.get("volumes")) {
            if (v.get("name").asText().equals(name)) {
                return v;
            }
        }
        throw new AssertionError("no volume " + name + " in the pod spec");
    }

    /** A container of the pod spec as the test would have to run it on {@link #NODE}. */
    private static Spec fromManifest(JsonNode c) {
        List<String> args = new ArrayList<>();
        String entrypoint = null;
        if (c.has("command")) {
            List<String> command = texts(c.get("command"));
            entrypoint = command.get(0);
            args.addAll(command.subList(1, command.size()));
        }
        if (c.has("args")) {
            args.addAll(texts(c.get("args")));
        }
        JsonNode security = c.path("securityContext");
        List<String> caps = security.has("capabilities") ? texts(security.at("/capabilities/add")) : List.of();
        Map<String, String> env = new LinkedHashMap<>();
        for (JsonNode e : c.path("env")) {
            String name = e.get("name").asText();
            if (e.has("value")) {
                env.put(name, e.get("value").asText());
            } else if (e.at("/valueFrom/secretKeyRef/name").asText().equals("flanneld-java-etcd")
                    && e.at("/valueFrom/secretKeyRef/key").asText().equals("endpoints")) {
                env.put(name, NODE.etcdEndpoints());
            } else if (e.at("/valueFrom/fieldRef/fieldPath").asText().equals("status.hostIP")) {
                env.put(name, NODE.hostIp());
            } else {
                fail("ImageIT does not know how to give " + name + " its value " + e);
            }
        }
        Map<String, String> mounts = new LinkedHashMap<>();
        for (JsonNode m : c.path("volumeMounts")) {
            JsonNode v = volume(m.get("name").asText());
            String source;
            if (v.has("hostPath")) {
                String path = v.at("/hostPath/path").asText();
                source = v.at("/hostPath/type").asText().equals("CharDevice") ? path : NODE.hostPath(path).toString();
            } else if (v.at("/secret/secretName").asText().equals("flanneld-java-etcd")) {
                source = NODE.etcdTls().toString();
            } else if (v.at("/configMap/name").asText().equals("flanneld-java-net-conf")) {
                source = NODE.netConf().toString();
            } else {
                throw new AssertionError("ImageIT does not know how to mount volume " + v);
            }
            mounts.put(m.get("mountPath").asText(), source + (m.path("readOnly").asBoolean(false) ? " (ro)" : ""));
        }
        String memory = null;
        if (c.at("/resources/limits/memory").isTextual()) {
            String limit = c.at("/resources/limits/memory").asText();
            assertTrue(limit.endsWith("Mi"), "a limit in Mi: " + limit);
            memory = limit.substring(0, limit.length() - 2) + "m";
        }
        return new Spec(c.get("image").asText(), entrypoint, args, podSpec.path("hostNetwork").asBoolean(false),
                security.path("privileged").asBoolean(false), caps, env, mounts, memory);
    }

    /** {@code docker run} arguments as docker reads them; an option the comparison does not know fails. */
    private static Spec fromDocker(List<String> a) {
        assertEquals("run", a.get(0));
        String image = null;
        String entrypoint = null;
        boolean hostNetwork = false;
        boolean privileged = false;
        String memory = null;
        List<String> caps = new ArrayList<>();
        Map<String, String> env = new LinkedHashMap<>();
        Map<String, String> mounts = new LinkedHashMap<>();
        int i = 1;
        for (; i < a.size() && a.get(i).startsWith("-"); i++) {
            String opt = a.get(i);
            switch (opt) {
                case "-d", "--rm" -> { }
                case "--privileged" -> privileged = true;
                case "--name" -> i++;
                case "--network" -> hostNetwork = a.get(++i).equals("host");
                case "--cap-add" -> caps.add(a.get(++i));
                case "--memory" -> memory = a.get(++i);
                case "--entrypoint" -> entrypoint = a.get(++i);
                case "-e" -> {
                    String kv = a.get(++i);
                    env.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                }
                case "-v" -> {
                    String[] parts = a.get(++i).split(":");
                    mounts.put(parts[1], parts[0] + (parts.length > 2 && parts[2].equals("ro") ? " (ro)" : ""));
                }
                default -> fail("unknown docker run option " + opt + " in " + a);
            }
        }
        image = a.get(i);
        return new Spec(image, entrypoint, List.copyOf(a.subList(i + 1, a.size())), hostNetwork, privileged, caps, env,
                mounts, memory);
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }
}
