"""The measuring half of benchmarks/run-footprint (which builds the hosts and etcd and exports their names).

Starts the daemon on host 2 again and again under each JVM set-up (a "row"), timing each start from the process's
creation to subnet.env and to READY=1 on its $NOTIFY_SOCKET, then reads its settled resident memory and times its
stop; then the udp part: resident memory while forwarding at full rate, and the traffic a restart loses.
"""
import json
import os
import signal
import socket
import statistics
import subprocess
import time

E = os.environ
WORK, JAR, H1, H2, P1, P2 = E["WORK"], E["JAR"], E["H1"], E["H2"], E["P1"], E["P2"]
STARTS, SETTLE, RESTARTS, UDP_DUR = int(E["STARTS"]), float(E["SETTLE"]), int(E["RESTARTS"]), int(E["UDP_DUR"])
WARM = E.get("WARM", "1") == "1"
JAVA17, JAVA25 = E["JAVA17"], E.get("JAVA25", "")
ROOT = E["ROOT"]
# A jar of an earlier commit (benchmarks/run-footprint copies BEFORE_JAR here): the code's own levers, before/after.
BEFORE_JAR = E.get("BEFORE_JAR_COPY", "")

# The flags every deployment file carried before this benchmark existed (the "before" of the table).
BEFORE = ("-Xms8m -Xmx64m -XX:+UseSerialGC -Xss512k -XX:ReservedCodeCacheSize=32m -XX:MaxMetaspaceSize=64m "
          "-XX:MaxDirectMemorySize=32m").split()


def deployed_flags():
    """deploy/bin/jvm.options: the JVM flags the systemd unit, the image and the DaemonSet pass (a java @argfile)."""
    flags = []
    with open(os.path.join(ROOT, "deploy", "bin", "jvm.options")) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                flags.extend(line.split())
    return flags


DEPLOYED = deployed_flags()
JDK25_EXTRA = ["--enable-native-access=ALL-UNNAMED"]


def log(msg):
    print("== " + msg, flush=True)


def ms(seconds):
    return None if seconds is None else round(seconds * 1000.0, 1)


def median(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 1) if xs else None


def read_status(pid):
    rss = threads = None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) / 1024.0
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
    except OSError:
        pass
    return rss, threads


class Daemon:
    """One daemon process in a host namespace, with its own NOTIFY_SOCKET to see READY=1."""
    seq = 0

    def __init__(self, java, flags, host, subnet_file, extra_args=(), log_name=None, jar=None):
        Daemon.seq += 1
        self.sock_path = os.path.join(WORK, "notify-%d.sock" % Daemon.seq)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.setblocking(False)
        self.subnet_file = subnet_file
        env = dict(os.environ, NOTIFY_SOCKET=self.sock_path)
        env.pop("JAVA_TOOL_OPTIONS", None)
        env.pop("JDK_JAVA_OPTIONS", None)
        args = ["ip", "netns", "exec", host, java] + list(flags) + ["-jar", jar or JAR,
                "--etcd-endpoints", "http://198.18.0.1:2379", "--iface", "eth0", "--subnet-file", subnet_file,
                "--ip-masq", "--healthz-ip", "127.0.0.1", "--healthz-port", "10270"] + list(extra_args)
        self.log = open(os.path.join(WORK, log_name or ("daemon-%d.log" % Daemon.seq)), "w")
        self.t0 = time.monotonic()
        # ip netns exec execs the JVM: the child's pid is the daemon's.
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.t_env = self.t_ready = None

    def wait_ready(self, timeout=90.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = time.monotonic()
            if self.t_env is None and os.path.exists(self.subnet_file):
                self.t_env = now - self.t0
            try:
                msg = self.sock.recv(4096).decode(errors="replace")
                if "READY=1" in msg.splitlines() and self.t_ready is None:
                    self.t_ready = now - self.t0
                    if self.t_env is None and os.path.exists(self.subnet_file):
                        self.t_env = self.t_ready
            except BlockingIOError:
                pass
            if self.t_ready is not None and self.t_env is not None:
                return
            if self.proc.poll() is not None:
                raise RuntimeError("daemon exited %s before READY=1 (see %s)" % (self.proc.returncode, self.log.name))
            time.sleep(0.001)
        raise RuntimeError("daemon not READY within %.0f s (see %s)" % (timeout, self.log.name))

    def stop(self, timeout=60.0):
        t = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError("daemon did not stop within %.0f s of SIGTERM" % timeout)
        finally:
            self.sock.close()
            os.unlink(self.sock_path)
            self.log.close()
        return time.monotonic() - t


def bare_jvm_once(java, extra):
    t = time.monotonic()
    subprocess.run(["ip", "netns", "exec", H2, java] + extra + ["-version"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    return time.monotonic() - t


def train(java, flags, out_file):
    """A training start: the daemon runs to READY=1 and a little longer, then stops; the JVM writes out_file."""
    d = Daemon(java, flags, H2, os.path.join(WORK, "train.env"), log_name="train.log")
    d.wait_ready()
    time.sleep(2)
    d.stop(timeout=180)
    if not os.path.exists(out_file):
        raise RuntimeError("training start wrote no %s (see %s)" % (out_file, d.log.name))
    return os.path.getsize(out_file)


def dump_static(java, class_list, archive, class_path):
    """A static class-data archive from a class list, as deploy/bin/flanneld-java dumps it (java -Xshare:dump)."""
    sh("ip", "netns", "exec", H2, java, "-Xshare:dump", "-XX:SharedClassListFile=" + class_list,
       "-XX:SharedArchiveFile=" + archive, "-cp", class_path)
    if not os.path.exists(archive):
        raise RuntimeError("java -Xshare:dump wrote no %s" % archive)
    return os.path.getsize(archive)


def rows():
    appcds = os.path.join(WORK, "app17.jsa")
    classlist = os.path.join(WORK, "app17.classlist")
    static_cds = os.path.join(WORK, "app17-static.jsa")
    aot = os.path.join(WORK, "app25.aot")
    aot_coh = os.path.join(WORK, "app25-coh.aot")
    r = []
    if BEFORE_JAR:
        r.append({"name": "before", "java": JAVA17, "flags": BEFORE, "jar": BEFORE_JAR,
                  "what": "the daemon as built from BEFORE_JAR, JDK 17, the flags deployed before"})
    r += [
        {"name": "jdk17-before", "java": JAVA17, "flags": BEFORE,
         "what": "JDK 17, the flags deployed before (heap 8-64 MB, serial GC)"},
        {"name": "jdk17", "java": JAVA17, "flags": DEPLOYED, "what": "JDK 17, deploy/bin/jvm.options"},
        {"name": "jdk17-appcds", "java": JAVA17, "flags": DEPLOYED + ["-XX:SharedArchiveFile=" + appcds],
         "what": "+ dynamic class-data archive (AppCDS) written at a clean stop, the launcher's first way",
         "train": (DEPLOYED + ["-XX:ArchiveClassesAtExit=" + appcds], appcds)},
        {"name": "jdk17-cds", "java": JAVA17, "flags": DEPLOYED + ["-XX:SharedArchiveFile=" + static_cds],
         "what": "+ static class-data archive dumped from a start's class list, as deploy/bin/flanneld-java makes it",
         "train": (DEPLOYED + ["-XX:DumpLoadedClassList=" + classlist], classlist), "dump": static_cds},
    ]
    if JAVA25 and os.path.exists(JAVA25):
        r += [
            {"name": "jdk25", "java": JAVA25, "flags": DEPLOYED + JDK25_EXTRA, "what": "JDK 25, deploy/bin/jvm.options"},
            {"name": "jdk25-aot", "java": JAVA25, "flags": DEPLOYED + JDK25_EXTRA + ["-XX:AOTCache=" + aot],
             "what": "+ AOT cache (JEP 483/514/515)",
             "train": (DEPLOYED + JDK25_EXTRA + ["-XX:AOTCacheOutput=" + aot], aot)},
            {"name": "jdk25-aot-coh", "java": JAVA25,
             "flags": DEPLOYED + JDK25_EXTRA + ["-XX:+UseCompactObjectHeaders", "-XX:AOTCache=" + aot_coh],
             "what": "+ compact object headers",
             "train": (DEPLOYED + JDK25_EXTRA + ["-XX:+UseCompactObjectHeaders", "-XX:AOTCacheOutput=" + aot_coh],
                       aot_coh)},
        ]
    wanted = E.get("ROWS", "").split()
    return [x for x in r if not wanted or x["name"] in wanted]


def measure_rows(rows_):
    """Every row's starts, interleaved: round r starts each row once (and times one bare JVM per JDK), so that a
    machine whose load changes during the run weighs on every row alike. Training starts come first."""
    results = {}
    for row in rows_:
        log("row %s: %s %s" % (row["name"], os.path.basename(os.path.dirname(os.path.dirname(row["java"]))),
                                " ".join(row["flags"])))
        result = {"what": row["what"], "java": row["java"], "flags": row["flags"], "starts": [], "bare_jvm": []}
        if "train" in row:
            flags, out_file = row["train"]
            t = time.monotonic()
            result["archive_bytes"] = train(row["java"], flags, out_file)
            if "dump" in row:
                result["archive_bytes"] = dump_static(row["java"], out_file, row["dump"], row.get("jar") or JAR)
            result["training_s"] = round(time.monotonic() - t, 1)
            log("  training start: %.1f s, archive %.1f MB" % (result["training_s"], result["archive_bytes"] / 1e6))
        results[row["name"]] = result
    for i in range(STARTS + (1 if WARM else 0)):
        warm_up = WARM and i == 0
        log("round %d%s" % (i + 1, " (warm-up, not counted)" if warm_up else ""))
        bare = {}
        for row in rows_:
            if row["java"] not in bare:
                bare[row["java"]] = bare_jvm_once(row["java"], JDK25_EXTRA if row["java"] == JAVA25 else [])
            env_file = os.path.join(WORK, "subnet.env")
            if os.path.exists(env_file):
                os.unlink(env_file)
            d = Daemon(row["java"], row["flags"], H2, env_file, jar=row.get("jar"))
            d.wait_ready()
            time.sleep(SETTLE)
            rss, threads = read_status(d.proc.pid)
            stop_s = d.stop()
            st = {"subnet_env_ms": ms(d.t_env), "running_ms": ms(d.t_ready), "settled_rss_mb": round(rss, 1),
                  "threads": threads, "stop_ms": ms(stop_s), "exit": d.proc.returncode}
            log("  %-14s subnet.env %s ms, running %s ms, RSS %.1f MB, %d threads, stop %s ms, exit %d"
                % (row["name"], st["subnet_env_ms"], st["running_ms"], rss, threads, st["stop_ms"], d.proc.returncode))
            if not warm_up:
                results[row["name"]]["starts"].append(st)
                results[row["name"]]["bare_jvm"].append(bare[row["java"]])
    for result in results.values():
        starts = result["starts"]
        for k in ("subnet_env_ms", "running_ms", "settled_rss_mb", "stop_ms", "threads"):
            result[k] = median([x[k] for x in starts])
        result["bare_jvm_ms"] = ms(statistics.median(result.pop("bare_jvm")))
        for k in ("subnet_env_ms", "running_ms", "stop_ms"):
            result[k.replace("_ms", "_x_bare_jvm")] = round(result[k] / result["bare_jvm_ms"], 1)
    return results


# ---- udp: memory while forwarding, traffic lost across a restart ----------------------------------------------
def sh(*args, check=True):
    return subprocess.run(list(args), check=check, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def subnet_of(env_file):
    for line in open(env_file):
        if line.startswith("FLANNEL_SUBNET="):
            sub = line.strip().split("=", 1)[1]
        elif line.startswith("FLANNEL_MTU="):
            mtu = line.strip().split("=", 1)[1]
    return sub, mtu


def make_pod(host, pod, env_file):
    """cni0 with the host's first address and a pod behind it, exactly as demo/run builds them."""
    sub, mtu = subnet_of(env_file)
    gw = sub.split("/")[0]
    addr = gw.rsplit(".", 1)[0] + ".2"
    sh("ip", "netns", "exec", host, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    if sh("ip", "-n", host, "link", "show", "cni0", check=False).returncode != 0:
        sh("ip", "-n", host, "link", "add", "cni0", "type", "bridge")
        sh("ip", "-n", host, "addr", "add", sub, "dev", "cni0")
        sh("ip", "-n", host, "link", "set", "cni0", "mtu", mtu, "up")
        sh("ip", "-n", host, "link", "add", "veth-pod", "mtu", mtu, "type", "veth", "peer", "name", "eth0",
           "netns", pod)
        sh("ip", "-n", host, "link", "set", "veth-pod", "master", "cni0", "up")
        sh("ip", "-n", pod, "link", "set", "eth0", "mtu", mtu, "up")
        sh("ip", "-n", pod, "addr", "add", addr + "/" + sub.split("/")[1], "dev", "eth0")
        sh("ip", "-n", pod, "route", "add", "default", "via", gw)
    return addr


def reach(pod, dst, bound=20.0):
    deadline = time.monotonic() + bound
    while time.monotonic() < deadline:
        if sh("ip", "netns", "exec", pod, "ping", "-c", "1", "-W", "1", "-q", dst, check=False).returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError("%s cannot reach %s within %.0f s" % (pod, dst, bound))


def udp_part(row):
    log("udp part, row %s" % row["name"])
    args = ["--etcd-prefix", "/footprint-udp/network"]
    env = [os.path.join(WORK, "udp-h%d.env" % i) for i in (1, 2)]
    d1 = Daemon(row["java"], row["flags"], H1, env[0], args, "udp-h1.log", row.get("jar"))
    d2 = Daemon(row["java"], row["flags"], H2, env[1], args, "udp-h2.log", row.get("jar"))
    d1.wait_ready()
    d2.wait_ready()
    make_pod(H1, P1, env[0])
    dst = make_pod(H2, P2, env[1])
    reach(P1, dst)
    out = {}
    # memory at full rate: iperf3 pod 1 -> pod 2 through both daemons, RSS sampled every 0.2 s
    srv = subprocess.Popen(["ip", "netns", "exec", P2, "timeout", str(UDP_DUR + 30), "iperf3", "-s", "-1", "-B", dst],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):
        if sh("ip", "netns", "exec", P2, "ss", "-Hltn", "sport = :5201", check=False).stdout.strip():
            break
        time.sleep(0.1)
    base = [read_status(d.proc.pid)[0] for d in (d1, d2)]
    cli = subprocess.Popen(["ip", "netns", "exec", P1, "timeout", str(UDP_DUR + 20), "iperf3", "-c", dst, "-t",
                            str(UDP_DUR), "-J"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    peak = [0.0, 0.0]
    while cli.poll() is None:
        for i, d in enumerate((d1, d2)):
            rss = read_status(d.proc.pid)[0] or 0.0
            peak[i] = max(peak[i], rss)
        time.sleep(0.2)
    srv.wait(timeout=40)
    gbps = json.loads(cli.stdout.read())["end"]["sum_received"]["bits_per_second"] / 1e9
    out["forwarding_gbps"] = round(gbps, 2)
    out["rss_before_mb"] = [round(x, 1) for x in base]
    out["rss_forwarding_peak_mb"] = [round(x, 1) for x in peak]
    out["rss_forwarding_peak_max_mb"] = round(max(peak), 1)
    log("  iperf3 %.2f Gbit/s; RSS sender %.1f -> peak %.1f MB, receiver %.1f -> peak %.1f MB"
        % (gbps, base[0], peak[0], base[1], peak[1]))
    # the restart gap: 100 pings a second from pod 1 to pod 2 while host 2's daemon restarts
    gaps = []
    for n in range(RESTARTS):
        reach(P1, dst)
        ping = subprocess.Popen(["ip", "netns", "exec", P1, "ping", "-i", "0.01", "-W", "1", "-w", "12", "-q", dst],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(2)
        stop_s = d2.stop()
        d2 = Daemon(row["java"], row["flags"], H2, env[1], args, "udp-h2-restart-%d.log" % n, row.get("jar"))
        d2.wait_ready()
        text = ping.communicate(timeout=30)[0]
        stats = [l for l in text.splitlines() if "packets transmitted" in l][0]
        sent, got = int(stats.split()[0]), int(stats.split()[3])
        gap = (sent - got) * 10
        gaps.append(gap)
        log("  restart %d: stop %.0f ms, start to READY %.0f ms, %d of %d pings lost: %d ms"
            % (n + 1, stop_s * 1000, d2.t_ready * 1000, sent - got, sent, gap))
    out["restart_gaps_ms"] = gaps
    out["restart_gap_ms"] = median(gaps)
    d1.stop()
    d2.stop()
    return out


def probe_jar():
    """FootprintProbe's classes in a jar of their own: a class-data archive takes only jars on its class path."""
    import zipfile
    classes = os.path.join(ROOT, "benchmarks", "target", "classes")
    path = os.path.join(WORK, "probe.jar")
    with zipfile.ZipFile(path, "w") as z:
        for name in os.listdir(os.path.join(classes, "io", "flanneld", "bench")):
            if name.startswith("FootprintProbe"):
                z.write(os.path.join(classes, "io", "flanneld", "bench", name), "io/flanneld/bench/" + name)
    return path


PROBE_CP = JAR + ":" + probe_jar()


def probe(java, flags, mode_args):
    """FootprintProbe from the daemon's jar: time to READY on stdout, resident set after SETTLE s (the 'whose' rows)."""
    times, rss = [], []
    for _ in range(STARTS):
        t0 = time.monotonic()
        p = subprocess.Popen(["ip", "netns", "exec", H2, java] + flags + ["-cp", PROBE_CP, "io.flanneld.bench.FootprintProbe"]
                             + mode_args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = p.stdout.readline().strip()
        t = time.monotonic() - t0
        if line != "READY":
            p.kill()
            raise RuntimeError("FootprintProbe %s: no READY (got %r)" % (mode_args, line))
        time.sleep(SETTLE)
        rss.append(read_status(p.pid)[0])
        p.kill()
        p.wait()
        times.append(t)
    return {"ready_ms": ms(statistics.median(times)), "settled_rss_mb": round(statistics.median(rss), 1)}


def probe_archive(java, flags, mode_args, name, static):
    """A class-data archive for the probe itself (its class path is not the daemon's, so the daemon's cannot serve),
    made the way the row's is: written at exit, or dumped from the probe's class list."""
    path = os.path.join(WORK, "probe-%s.jsa" % name)
    classlist = os.path.join(WORK, "probe-%s.classlist" % name)
    record = ["-XX:DumpLoadedClassList=" + classlist] if static else ["-XX:ArchiveClassesAtExit=" + path]
    subprocess.run(["ip", "netns", "exec", H2, java] + flags + record + ["-cp", PROBE_CP,
                    "io.flanneld.bench.FootprintProbe"] + mode_args + ["--exit"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, timeout=120)
    if static:
        dump_static(java, classlist, path, PROBE_CP)
    return ["-XX:SharedArchiveFile=" + path]


def whose(row):
    """The JVM alone and the JVM with jetcd's client after one answer, with the row's JVM set-up (a row with a
    class-data archive gets archives trained the same way for each probe)."""
    flags = [f for f in row["flags"] if not f.startswith("-XX:SharedArchiveFile")]
    archived = any(f.startswith("-XX:SharedArchiveFile") for f in row["flags"])
    etcd = ["etcd", "http://198.18.0.1:2379", "/coreos.com/network/config"]
    out = {}
    for name, mode in (("jvm", ["jvm"]), ("jvm_and_jetcd", etcd)):
        extra = probe_archive(row["java"], flags, mode, name, "dump" in row) if archived else []
        out[name] = probe(row["java"], flags + extra, mode)
    out["nmt"] = nmt(row)
    return out


def nmt(row):
    """One settled daemon start of the row with -XX:NativeMemoryTracking=summary: what the JVM says it committed, per
    category (jcmd VM.native_memory summary), beside the resident set the kernel reports."""
    env_file = os.path.join(WORK, "nmt.env")
    d = Daemon(row["java"], row["flags"] + ["-XX:NativeMemoryTracking=summary"], H2, env_file, log_name="nmt.log")
    d.wait_ready()
    time.sleep(SETTLE)
    rss, threads = read_status(d.proc.pid)
    jcmd = os.path.join(os.path.dirname(row["java"]), "jcmd")
    text = sh("ip", "netns", "exec", H2, jcmd, str(d.proc.pid), "VM.native_memory", "summary", "scale=KB").stdout
    d.stop()
    out = {"rss_mb": round(rss, 1), "threads": threads, "committed_mb": {}}
    for line in text.splitlines():
        line = line.strip()
        # "-                 Java Heap (reserved=65536KB, committed=8192KB)" and "Total: reserved=…, committed=…"
        if line.startswith("Total:") or line.startswith("-"):
            name = "Total" if line.startswith("Total:") else line.lstrip("- ").split(" (")[0].strip()
            if "committed=" in line:
                kb = int(line.split("committed=")[1].split("KB")[0])
                out["committed_mb"][name] = round(kb / 1024.0, 1)
    log("  NMT (%s): RSS %.1f MB; committed %s" % (row["name"], rss, ", ".join(
        "%s %.1f" % (k, v) for k, v in sorted(out["committed_mb"].items(), key=lambda kv: -kv[1]) if v >= 0.5)))
    return out


def main():
    result = {"benchmark": "footprint", "utc": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
              "machine": {"kernel": E["KERNEL"], "nproc": int(E["NPROC"]), "cpu": E["CPU"]},
              "params": {"starts": STARTS, "warm_up_start": WARM, "interleaved": True, "settle_s": SETTLE, "restarts": RESTARTS,
                         "udp_iperf3_s": UDP_DUR, "backend": "vxlan (starts), udp (udp part)"},
              "rows": {}}
    result["rows"] = measure_rows(rows())
    result["whose"] = {}
    for row in rows():
        if row["name"] in E.get("WHOSE_ROWS", "jdk17").split():
            log("whose: the JVM alone and with jetcd, row %s" % row["name"])
            result["whose"][row["name"]] = whose(row)
    udp_rows = E.get("UDP_ROWS", "before jdk17-before jdk17 jdk17-cds").split()
    result["udp"] = {}
    for row in rows():
        if row["name"] in udp_rows:
            result["udp"][row["name"]] = udp_part(row)
    os.makedirs(E["OUT"], exist_ok=True)
    path = os.path.join(E["OUT"], "footprint-%s" % result["utc"])
    with open(path + ".json", "w") as f:
        json.dump(result, f, indent=2)
    md = markdown(result)
    with open(path + ".md", "w") as f:
        f.write(md)
    print()
    print(md)
    print("wrote %s.json and .md" % path)


def markdown(r):
    m = r["machine"]
    lines = ["Footprint, %s, kernel %s, %d cores; vxlan backend, median of %d starts%s, settled = after %g s; "
             "x JVM = the time over a bare `java -version` of the same JDK in this run."
             % (r["utc"], m["kernel"], m["nproc"], r["params"]["starts"],
                " after one warm-up start" if r["params"]["warm_up_start"] else "", r["params"]["settle_s"]), "",
             "| JVM set-up | start → subnet.env | start → backend running | settled RSS | threads | stop | bare JVM |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name, x in r["rows"].items():
        lines.append("| %s: %s | %.0f ms (%.1f× JVM) | %.0f ms (%.1f× JVM) | %.1f MB | %d | %.0f ms | %.0f ms |"
                     % (name, x["what"], x["subnet_env_ms"], x["subnet_env_x_bare_jvm"], x["running_ms"],
                        x["running_x_bare_jvm"], x["settled_rss_mb"], x["threads"], x["stop_ms"], x["bare_jvm_ms"]))
    for name, w in r.get("whose", {}).items():
        x = r["rows"][name]
        lines += ["", "Whose is it (row %s): the JVM alone idling; the JVM with jetcd's client built as the "
                      "daemon builds it and one answer read; the daemon." % name,
                  "", "| | ready | settled RSS |", "| --- | ---: | ---: |",
                  "| JVM alone | %.0f ms | %.1f MB |" % (w["jvm"]["ready_ms"], w["jvm"]["settled_rss_mb"]),
                  "| + jetcd, gRPC, Netty, Vert.x (first answer) | +%.0f ms | +%.1f MB |"
                  % (w["jvm_and_jetcd"]["ready_ms"] - w["jvm"]["ready_ms"],
                     w["jvm_and_jetcd"]["settled_rss_mb"] - w["jvm"]["settled_rss_mb"]),
                  "| + the daemon (to subnet.env; settled) | +%.0f ms | +%.1f MB |"
                  % (x["subnet_env_ms"] - w["jvm_and_jetcd"]["ready_ms"],
                     x["settled_rss_mb"] - w["jvm_and_jetcd"]["settled_rss_mb"])]
        if "nmt" in w:
            c = w["nmt"]["committed_mb"]
            big = sorted(((k, v) for k, v in c.items() if k != "Total" and v >= 0.5), key=lambda kv: -kv[1])
            lines += ["", "Native memory tracking (row %s, one settled start, %d threads): RSS %.1f MB; the JVM's "
                          "committed memory by category, MB:" % (name, w["nmt"]["threads"], w["nmt"]["rss_mb"]), "",
                      "| " + " | ".join(k for k, _ in big) + " | total committed |",
                      "| " + " | ".join("---:" for _ in big) + " | ---: |",
                      "| " + " | ".join("%.1f" % v for _, v in big) + " | %.1f |" % c.get("Total", 0.0)]
    if r["udp"]:
        lines += ["", "| udp backend | iperf3 pod to pod | RSS before → peak while forwarding (sender, receiver) "
                      "| traffic lost across a restart (median of %d) |" % r["params"]["restarts"],
                  "| --- | ---: | ---: | ---: |"]
        for name, u in r["udp"].items():
            lines.append("| %s | %.2f Gbit/s | %.1f → %.1f MB, %.1f → %.1f MB | %.0f ms (%s) |"
                         % (name, u["forwarding_gbps"], u["rss_before_mb"][0], u["rss_forwarding_peak_mb"][0],
                            u["rss_before_mb"][1], u["rss_forwarding_peak_mb"][1], u["restart_gap_ms"],
                            ", ".join("%d" % g for g in u["restart_gaps_ms"])))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
