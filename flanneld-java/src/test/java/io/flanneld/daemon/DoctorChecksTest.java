package io.flanneld.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flanneld.backend.ExternalInterface;
import io.flanneld.lease.LeaseSnapshot;
import io.flanneld.lease.SubnetEnv;
import io.flanneld.net.FdbEntry;
import io.flanneld.net.Link;
import io.flanneld.net.LinkAddress;
import io.flanneld.net.LinkWithAddresses;
import io.flanneld.net.MacAddress;
import io.flanneld.net.Neighbour;
import io.flanneld.net.Route;
import io.flanneld.net.RouteLookup;
import io.flanneld.net.VxlanAttributes;
import io.flanneld.schema.BackendConfig;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Lease;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.vxlan.VtepData;
import io.flanneld.vxlan.VxlanInspection;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** doctor's decisions on hand-made snapshots of a node: one healthy node, and each check broken on its own. */
class DoctorChecksTest {
    private static final Ip4Net NETWORK = Ip4Net.parse("198.19.0.0/16");
    private static final Ip4Net OWN = Ip4Net.parse("198.19.1.0/24");
    private static final Ip4Net PEER = Ip4Net.parse("198.19.2.0/24");
    private static final Path SUBNET_FILE = Path.of("/run/flannel/subnet.env");
    private static final MacAddress OWN_MAC = MacAddress.parse("02:00:00:00:00:01");
    private static final MacAddress PEER_MAC = MacAddress.parse("02:00:00:00:00:02");
    private static final int ETH0 = 2;
    private static final int VTEP = 5;
    private static final int CNI0 = 6;
    private static final ExternalInterface IFACE = new ExternalInterface("eth0", ETH0, Ip4.parse("198.18.0.1"), Ip4.parse("198.18.0.1"), 1500);
    private static final List<String> RULES = List.of("-P FORWARD DROP", "-N FLANNEL-FWD", "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD",
            "-A FLANNEL-FWD -s 198.19.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT",
            "-A FLANNEL-FWD -d 198.19.0.0/16 -m comment --comment \"flanneld forward\" -j ACCEPT");
    /** {@code ip6tables -t filter -S} on a dual-stack node whose daemon installed the IPv6 forward rules. */
    private static final List<String> RULES6 = List.of("-P FORWARD DROP", "-N FLANNEL-FWD", "-A FORWARD -m comment --comment \"flanneld forward\" -j FLANNEL-FWD",
            "-A FLANNEL-FWD -s 2001:2:19::/48 -m comment --comment \"flanneld forward\" -j ACCEPT",
            "-A FLANNEL-FWD -d 2001:2:19::/48 -m comment --comment \"flanneld forward\" -j ACCEPT");

    private static NetworkConfig config(String backend) {
        return new NetworkConfig(NETWORK, 24, Ip4.parse("198.19.1.0"), Ip4.parse("198.19.255.0"), BackendConfig.ofType(backend));
    }

    private static Lease lease(Ip4Net subnet, String ip, String backend, MacAddress mac) {
        return new Lease(subnet, new LeaseAttrs(Ip4.parse(ip), backend, mac == null ? null : new VtepData(1, mac).toJson()), 0x1234, 1);
    }

    private static final Lease OWN_LEASE = lease(OWN, "198.18.0.1", "vxlan", OWN_MAC);
    private static final Lease PEER_LEASE = lease(PEER, "198.18.0.2", "vxlan", PEER_MAC);

    private static LinkWithAddresses link(int index, String name, int mtu, String kind, String... addresses) {
        Optional<VxlanAttributes> vx = kind.equals("vxlan")
                ? Optional.of(new VxlanAttributes(1, OptionalInt.of(Ip4.parse("198.18.0.1")), ETH0, 8472, false)) : Optional.empty();
        return new LinkWithAddresses(new Link(index, name, Link.IFF_UP, mtu, Optional.of(index == VTEP ? OWN_MAC : MacAddress.parse("02:00:00:00:01:0" + index)),
                Optional.of(kind), vx), List.of(addresses).stream().map(a -> address(index, a)).toList());
    }

    /** "198.18.0.1/16" on link {@code index}, as the kernel lists it. */
    private static LinkAddress address(int index, String cidr) {
        int slash = cidr.indexOf('/');
        return new LinkAddress(index, Ip4.parse(cidr.substring(0, slash)), Integer.parseInt(cidr.substring(slash + 1)));
    }

    private static List<LinkWithAddresses> links(LinkWithAddresses... extra) {
        List<LinkWithAddresses> l = new ArrayList<>(List.of(link(ETH0, "eth0", 1500, "veth", "198.18.0.1/16"),
                link(VTEP, "flannel.1", 1450, "vxlan", "198.19.1.0/32"), link(CNI0, "cni0", 1450, "bridge", "198.19.1.1/24")));
        l.addAll(List.of(extra));
        return l;
    }

    private static Route peerRoute() {
        return Route.onlinkVia(Ip4Net.parse("198.19.2.0/24"), Ip4.parse("198.19.2.0"), VTEP);
    }

    private static VxlanInspection.KernelView vxlan(List<Route> routes) {
        return new VxlanInspection.KernelView(Optional.of(links().get(1).link()), List.of(new LinkAddress(VTEP, Ip4.parse("198.19.1.0"), 32)),
                List.of(Neighbour.permanent(VTEP, Ip4.parse("198.19.2.0"), PEER_MAC)),
                List.of(FdbEntry.permanent(VTEP, PEER_MAC, Ip4.parse("198.18.0.2"))), routes, List.of(address(ETH0, "198.18.0.1/16")),
                Map.of(ETH0, "eth0", VTEP, "flannel.1", CNI0, "cni0"));
    }

    private static DoctorSnapshot.RouteBack back(int device, String gateway) {
        return new DoctorSnapshot.RouteBack(Ip4.parse("198.19.2.1"), Optional.of(new RouteLookup(Ip4.parse("198.19.2.1"), RouteLookup.TYPE_UNICAST,
                Route.TABLE_MAIN, device, OptionalInt.of(Ip4.parse(gateway)), OptionalInt.empty())), Optional.empty());
    }

    /** A healthy vxlan node with one peer; each test changes one thing. */
    private static DoctorSnapshot healthy() {
        DoctorSnapshot.Files files = new DoctorSnapshot.Files(SUBNET_FILE, Optional.of(new SubnetEnv(NETWORK, OWN, 1450, false)), Optional.empty(),
                Optional.empty(), Optional.empty(), List.of());
        DoctorSnapshot.Etcd etcd = new DoctorSnapshot.Etcd("http://198.18.0.100:2379", Optional.empty(), Optional.of(config("vxlan")), Optional.empty(),
                Optional.of(new LeaseSnapshot(List.of(OWN_LEASE, PEER_LEASE), List.of(OWN, PEER), 10)), Optional.of(86_000L));
        DoctorSnapshot.Kernel kernel = new DoctorSnapshot.Kernel(links(), List.of(peerRoute()), Map.of("all", 0, "flannel.1", 0),
                Map.of(PEER, back(VTEP, "198.19.2.0")));
        return new DoctorSnapshot(files, List.of(new DoctorSnapshot.DaemonProcess(42, "flanneld-java", SUBNET_FILE)), Optional.empty(), etcd, kernel,
                new ForwardingState(Optional.of(true), RULES, Optional.empty()), Optional.empty(),
                new DoctorSnapshot.Underlay(Optional.of(IFACE), "--iface"), Optional.of(vxlan(List.of(peerRoute()))), Optional.empty());
    }

    private static DoctorSnapshot withKernel(DoctorSnapshot s, DoctorSnapshot.Kernel k) {
        return new DoctorSnapshot(s.files(), s.daemons(), s.healthz(), s.etcd(), k, s.forwarding(), s.nft(), s.underlay(), s.vxlan(), s.probes());
    }

    private static DoctorSnapshot withFiles(DoctorSnapshot s, DoctorSnapshot.Files f) {
        return new DoctorSnapshot(f, s.daemons(), s.healthz(), s.etcd(), s.kernel(), s.forwarding(), s.nft(), s.underlay(), s.vxlan(), s.probes());
    }

    private static Check only(DoctorSnapshot s, String failing) {
        List<Check> checks = DoctorReport.checks(s);
        List<Check> bad = checks.stream().filter(c -> c.status() != Check.Status.OK).toList();
        assertEquals(List.of(failing), bad.stream().map(Check::name).toList(), DoctorReport.text(checks));
        assertEquals(1, DoctorReport.exitCode(checks));
        return bad.get(0);
    }

    private static DoctorSnapshot withConfigAndEnv(DoctorSnapshot s, NetworkConfig c, SubnetEnv env, ForwardingState fw) {
        DoctorSnapshot.Etcd e = s.etcd();
        DoctorSnapshot.Etcd etcd = new DoctorSnapshot.Etcd(e.endpoints(), e.error(), Optional.of(c), e.configError(), e.leases(), e.ownTtlSeconds());
        DoctorSnapshot.Files f = s.files();
        DoctorSnapshot.Files files = new DoctorSnapshot.Files(f.subnetFile(), Optional.of(env), f.subnetEnvError(), f.cniConfDir(),
                f.cniConflist(), f.cniDirFiles());
        return new DoctorSnapshot(files, s.daemons(), s.healthz(), etcd, s.kernel(), fw, s.nft(), s.underlay(), s.vxlan(), s.probes());
    }

    private static final io.flanneld.schema.Ipv6Config V6 = new io.flanneld.schema.Ipv6Config(
            io.flanneld.schema.Ip6Net.parse("2001:2:19::/48"), 64, io.flanneld.schema.Ip6.parse("2001:2:19:1::"),
            io.flanneld.schema.Ip6.parse("2001:2:19:ffff::"));

    /** Dual stack: subnet.env's IPv6 pair is checked against IPv6Network, and net.ipv6.conf.all.forwarding too. */
    @Test
    void aDualStackNodeChecksTheIpv6PairAndIpv6Forwarding() {
        NetworkConfig dual = config("vxlan").withIpv6(V6);
        // FLANNEL_MTU on a dual-stack vxlan node is flannel-v6.1's, eth0's 1500 − 70 (the smaller device's), and cni0 has it.
        SubnetEnv env = new SubnetEnv(NETWORK, OWN, 1430, false, V6.network(), io.flanneld.schema.Ip6Net.parse("2001:2:19:1::/64"));
        DoctorSnapshot h = healthy();
        List<LinkWithAddresses> links = new ArrayList<>(h.kernel().links());
        links.set(2, link(CNI0, "cni0", 1430, "bridge", "198.19.1.1/24"));
        DoctorSnapshot dualNode = withKernel(h, new DoctorSnapshot.Kernel(links, h.kernel().routes(), h.kernel().rpFilter(), h.kernel().routesBack()));
        DoctorSnapshot ok = withConfigAndEnv(dualNode, dual, env,
                new ForwardingState(Optional.of(true), RULES, Optional.empty(), Optional.of(true), RULES6, Optional.empty()));
        List<Check> checks = DoctorReport.checks(ok);
        assertEquals(List.of("daemon", "etcd", "lease", "subnet.env", "ip_forward", "ip6_forward", "forward rules", "forward rules v6",
                "rp_filter", "device", "data path", "cni0"), checks.stream().map(Check::name).toList(), DoctorReport.text(checks));
        assertTrue(checks.stream().allMatch(c -> c.status() == Check.Status.OK), DoctorReport.text(checks));
        assertTrue(DoctorReport.text(checks).contains("ok   forward rules v6: FORWARD policy DROP; FLANNEL-FWD accepts from and to 2001:2:19::/48"),
                DoctorReport.text(checks));

        // ip6tables' FORWARD drops and its FLANNEL-FWD jump is gone: IPv6 pod traffic is dropped, IPv4's is not.
        Check dropped6 = only(withConfigAndEnv(dualNode, dual, env, new ForwardingState(Optional.of(true), RULES, Optional.empty(),
                Optional.of(true), List.of("-P FORWARD DROP", "-N FLANNEL-FWD", RULES6.get(3), RULES6.get(4)), Optional.empty())), "forward rules v6");
        assertEquals("FORWARD policy DROP and no FLANNEL-FWD jump: forwarded IPv6 pod traffic is dropped (ip6tables -S FORWARD: -P FORWARD DROP)",
                dropped6.summary());
        assertEquals("restart flanneld-java without --iptables-forward-rules=false, or ip6tables -A FORWARD -s 2001:2:19::/48 -j ACCEPT; "
                + "ip6tables -A FORWARD -d 2001:2:19::/48 -j ACCEPT", dropped6.fix().orElseThrow());
        Check unreadable = DoctorReport.checks(withConfigAndEnv(dualNode, dual, env, new ForwardingState(Optional.of(true), RULES, Optional.empty(),
                Optional.of(true), List.of(), Optional.of("ip6tables: command not found")))).stream()
                .filter(c -> c.name().equals("forward rules v6")).findFirst().orElseThrow();
        assertEquals(Check.Status.WARN, unreadable.status());
        assertEquals("ip6tables cannot be read: ip6tables: command not found", unreadable.summary());
        assertEquals(Check.Status.OK, DoctorReport.checks(withConfigAndEnv(dualNode, dual, env, new ForwardingState(Optional.of(true), RULES,
                Optional.empty(), Optional.of(true), List.of("-P FORWARD ACCEPT"), Optional.empty()))).stream()
                .filter(c -> c.name().equals("forward rules v6")).findFirst().orElseThrow().status(), "a FORWARD policy of ACCEPT needs no rules");

        Check off = only(withConfigAndEnv(dualNode, dual, env,
                new ForwardingState(Optional.of(true), RULES, Optional.empty(), Optional.of(false), RULES6, Optional.empty())), "ip6_forward");
        assertTrue(off.summary().contains("net.ipv6.conf.all.forwarding = 0"), off.summary());

        SubnetEnv noV6 = new SubnetEnv(NETWORK, OWN, 1450, false);
        Check stale = only(withConfigAndEnv(dualNode, dual, noV6,
                new ForwardingState(Optional.of(true), RULES, Optional.empty(), Optional.of(true), RULES6, Optional.empty())), "subnet.env");
        assertTrue(stale.summary().contains("FLANNEL_IPV6_NETWORK is null but the config's IPv6Network is 2001:2:19::/48"), stale.summary());
    }

    /** IPv6-only: doctor does not trip over the missing IPv4 half, and checks IPv6 forwarding. */
    @Test
    void anIpv6OnlyNodeDoesNotCrashDoctor() {
        NetworkConfig v6only = NetworkConfig.ipv6Only(V6, BackendConfig.ofType("vxlan"), false);
        SubnetEnv env = new SubnetEnv(null, null, 1430, false, V6.network(), io.flanneld.schema.Ip6Net.parse("2001:2:19:1::/64"));
        List<Check> checks = DoctorReport.checks(withConfigAndEnv(healthy(), v6only, env,
                new ForwardingState(Optional.of(false), RULES, Optional.empty(), Optional.of(true))));
        assertTrue(checks.stream().anyMatch(c -> c.name().equals("ip6_forward") && c.status() == Check.Status.OK), DoctorReport.text(checks));
        assertTrue(checks.stream().noneMatch(c -> c.name().equals("ip_forward")), "no IPv4 to forward: " + DoctorReport.text(checks));
        assertTrue(checks.stream().anyMatch(c -> c.name().equals("subnet.env") && c.summary().contains("FLANNEL_IPV6_SUBNET 2001:2:19:1::1/64")),
                DoctorReport.text(checks));
    }

    @Test
    void aHealthyNodeIsOkEverywhere() {
        List<Check> checks = DoctorReport.checks(healthy());
        assertEquals(List.of("daemon", "etcd", "lease", "subnet.env", "ip_forward", "forward rules", "rp_filter", "device", "data path", "cni0"),
                checks.stream().map(Check::name).toList());
        assertTrue(checks.stream().allMatch(c -> c.status() == Check.Status.OK), DoctorReport.text(checks));
        assertEquals(0, DoctorReport.exitCode(checks));
        assertEquals("ok   forward rules: FORWARD policy DROP; FLANNEL-FWD accepts from and to 198.19.0.0/16", DoctorReport.text(checks).lines()
                .filter(l -> l.contains("forward rules")).findFirst().orElseThrow());
    }

    @Test
    void noDaemonIsAFailureWithTheWayToStartIt() {
        DoctorSnapshot h = healthy();
        DoctorSnapshot s = new DoctorSnapshot(h.files(), List.of(), h.healthz(), h.etcd(), h.kernel(), h.forwarding(), h.nft(), h.underlay(), h.vxlan(), h.probes());
        Check c = only(s, "daemon");
        assertTrue(c.summary().startsWith("no flanneld-java (nor flanneld) process in this network namespace"), c.summary());
        assertTrue(c.fix().orElseThrow().startsWith("systemctl start flanneld-java"), c.fix().toString());
    }

    @Test
    void ipForwardingOff() {
        DoctorSnapshot h = healthy();
        DoctorSnapshot s = new DoctorSnapshot(h.files(), h.daemons(), h.healthz(), h.etcd(), h.kernel(), new ForwardingState(Optional.of(false), RULES, Optional.empty()),
                h.nft(), h.underlay(), h.vxlan(), h.probes());
        Check c = only(s, "ip_forward");
        assertTrue(c.summary().startsWith("net.ipv4.ip_forward = 0"), c.summary());
    }

    @Test
    void aDropPolicyWithoutTheForwardRulesQuotesTheChain() {
        DoctorSnapshot h = healthy();
        DoctorSnapshot s = new DoctorSnapshot(h.files(), h.daemons(), h.healthz(), h.etcd(), h.kernel(),
                new ForwardingState(Optional.of(true), List.of("-P FORWARD DROP", "-A FORWARD -j DOCKER-USER"), Optional.empty()), h.nft(), h.underlay(),
                h.vxlan(), h.probes());
        Check c = only(s, "forward rules");
        assertEquals("FORWARD policy DROP and no FLANNEL-FWD jump: forwarded pod traffic is dropped (iptables -S FORWARD: -P FORWARD DROP | "
                + "-A FORWARD -j DOCKER-USER)", c.summary());
        assertEquals("restart flanneld-java without --iptables-forward-rules=false, or iptables -A FORWARD -s 198.19.0.0/16 -j ACCEPT; "
                + "iptables -A FORWARD -d 198.19.0.0/16 -j ACCEPT", c.fix().orElseThrow());
    }

    @Test
    void strictRpFilterFailsOnlyWhenTheRouteBackLeavesByAnotherDevice() {
        DoctorSnapshot h = healthy();
        DoctorSnapshot strict = withKernel(h, new DoctorSnapshot.Kernel(h.kernel().links(), h.kernel().routes(), Map.of("all", 1, "flannel.1", 0),
                h.kernel().routesBack()));
        assertEquals(0, DoctorReport.exitCode(DoctorReport.checks(strict)), DoctorReport.text(DoctorReport.checks(strict)));
        DoctorSnapshot asymmetric = withKernel(h, new DoctorSnapshot.Kernel(h.kernel().links(), h.kernel().routes(), Map.of("all", 0, "flannel.1", 1),
                Map.of(PEER, back(ETH0, "198.18.0.2"))));
        Check c = only(asymmetric, "rp_filter");
        assertTrue(c.summary().contains("net.ipv4.conf.all.rp_filter=0, net.ipv4.conf.flannel/1.rp_filter=1"), c.summary());
        assertEquals(List.of("198.19.2.0/24 (198.18.0.2) arrives on flannel.1, rp_filter 1 (strict), but the route back leaves by eth0 "
                + "(ip route get 198.19.2.1: 198.19.2.1 via 198.18.0.2 dev eth0)"), c.details());
        DoctorSnapshot loose = withKernel(h, new DoctorSnapshot.Kernel(h.kernel().links(), h.kernel().routes(), Map.of("all", 2),
                Map.of(PEER, back(ETH0, "198.18.0.2"))));
        assertEquals(0, DoctorReport.exitCode(DoctorReport.checks(loose)), "loose filtering only needs some route back");
    }

    @Test
    void aDocker0OnAnotherSubnetIsTheDockerStartedBeforeFlannelMistake() {
        DoctorSnapshot h = healthy();
        DoctorSnapshot s = withKernel(h, new DoctorSnapshot.Kernel(links(link(7, "docker0", 1500, "bridge", "172.17.0.1/16")), h.kernel().routes(),
                h.kernel().rpFilter(), h.kernel().routesBack()));
        Check c = only(s, "docker0");
        assertTrue(c.summary().startsWith("docker0 has 172.17.0.1/16, outside this node's subnet 198.19.1.0/24: Docker started before flannel and kept its own --bip"),
                c.summary());
        assertTrue(c.fix().orElseThrow().contains("(--bip=198.19.1.1/24 --mtu=1450)"), c.fix().toString());
    }

    @Test
    void aBridgeWithATooLargeMtuOrATooWidePrefix() {
        DoctorSnapshot h = healthy();
        List<LinkWithAddresses> mtu = new ArrayList<>(links());
        mtu.set(2, link(CNI0, "cni0", 1500, "bridge", "198.19.1.1/24"));
        Check c = only(withKernel(h, new DoctorSnapshot.Kernel(mtu, h.kernel().routes(), h.kernel().rpFilter(), h.kernel().routesBack())), "cni0");
        assertTrue(c.summary().startsWith("cni0 has MTU 1500, above FLANNEL_MTU 1450"), c.summary());
        List<LinkWithAddresses> wide = new ArrayList<>(links());
        wide.set(2, link(CNI0, "cni0", 1450, "bridge", "198.19.1.1/16"));
        c = only(withKernel(h, new DoctorSnapshot.Kernel(wide, h.kernel().routes(), h.kernel().rpFilter(), h.kernel().routesBack())), "cni0");
        assertTrue(c.summary().startsWith("cni0 has 198.19.1.1/16, wider than this node's subnet 198.19.1.0/24"), c.summary());
    }

    @Test
    void aMissingRouteIsNamedWithTheCommandThatAddsIt() {
        DoctorSnapshot h = healthy();
        DoctorSnapshot s = new DoctorSnapshot(h.files(), h.daemons(), h.healthz(), h.etcd(), h.kernel(), h.forwarding(), h.nft(), h.underlay(),
                Optional.of(vxlan(List.of())), h.probes());
        Check c = only(s, "data path");
        assertEquals("1 entry missing and 0 stale, against 1 other lease(s) in etcd", c.summary());
        assertEquals(List.of("missing for 198.19.2.0/24 (198.18.0.2): route 198.19.2.0/24 via 198.19.2.0 dev flannel.1 onlink  "
                + "→ ip route replace 198.19.2.0/24 via 198.19.2.0 dev flannel.1 onlink"), c.details());
    }

    @Test
    void subnetEnvMissingOrDisagreeingWithEtcd() {
        DoctorSnapshot h = healthy();
        DoctorSnapshot missing = withFiles(h, new DoctorSnapshot.Files(SUBNET_FILE, Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), List.of()));
        List<Check> checks = DoctorReport.checks(missing);
        Check c = checks.stream().filter(x -> x.name().equals("subnet.env")).findFirst().orElseThrow();
        assertEquals(Check.Status.FAIL, c.status());
        assertEquals("/run/flannel/subnet.env does not exist: Docker and CNI have no subnet to give pods", c.summary());
        DoctorSnapshot wrongMtu = withFiles(h, new DoctorSnapshot.Files(SUBNET_FILE, Optional.of(new SubnetEnv(NETWORK, OWN, 1500, false)), Optional.empty(),
                Optional.empty(), Optional.empty(), List.of()));
        c = DoctorReport.checks(wrongMtu).stream().filter(x -> x.name().equals("subnet.env")).findFirst().orElseThrow();
        assertEquals(Check.Status.FAIL, c.status());
        assertTrue(c.summary().endsWith("FLANNEL_MTU is 1500 but the vxlan backend's MTU is 1450 (eth0's 1500 − 50)"), c.summary());
    }

    @Test
    void theLeaseGoneFromEtcd() {
        DoctorSnapshot h = healthy();
        DoctorSnapshot.Etcd e = h.etcd();
        DoctorSnapshot s = new DoctorSnapshot(h.files(), h.daemons(), h.healthz(), new DoctorSnapshot.Etcd(e.endpoints(), e.error(), e.config(), e.configError(),
                Optional.of(new LeaseSnapshot(List.of(PEER_LEASE), List.of(PEER), 11)), Optional.empty()), h.kernel(), h.forwarding(), h.nft(), h.underlay(),
                h.vxlan(), h.probes());
        List<Check> checks = DoctorReport.checks(s);
        Check c = checks.stream().filter(x -> x.name().equals("lease")).findFirst().orElseThrow();
        assertEquals("etcd holds no key for 198.19.1.0/24 (subnet.env's subnet)", c.summary());
        assertEquals(1, DoctorReport.exitCode(checks));
    }

    @Test
    void theCniConfigMustNameThisNodesSubnetAndComeFirst() {
        DoctorSnapshot h = healthy();
        String other = CniConfig.render(NETWORK, Ip4Net.parse("198.19.9.0/24"), 1450, false);
        DoctorSnapshot s = withFiles(h, new DoctorSnapshot.Files(SUBNET_FILE, h.files().subnetEnv(), Optional.empty(), Optional.of(Path.of("/etc/cni/net.d")),
                Optional.of(other), List.of(CniConfig.FILE_NAME)));
        Check c = only(s, "cni");
        assertTrue(c.summary().endsWith("pods get addresses from 198.19.9.0/24, not from this node's subnet 198.19.1.0/24"), c.summary());
        DoctorSnapshot shadowed = withFiles(h, new DoctorSnapshot.Files(SUBNET_FILE, h.files().subnetEnv(), Optional.empty(), Optional.of(Path.of("/etc/cni/net.d")),
                Optional.of(CniConfig.render(NETWORK, OWN, 1450, false)), List.of("05-bridge.conflist", CniConfig.FILE_NAME)));
        assertTrue(only(shadowed, "cni").summary().startsWith("05-bridge.conflist sorts before 10-flannel.conflist"));
    }

    @Test
    void aWrongVtepMacIsADeviceFailure() {
        DoctorSnapshot h = healthy();
        Lease wrong = lease(OWN, "198.18.0.1", "vxlan", MacAddress.parse("02:42:de:ad:be:ef"));
        DoctorSnapshot.Etcd e = h.etcd();
        DoctorSnapshot s = new DoctorSnapshot(h.files(), h.daemons(), h.healthz(), new DoctorSnapshot.Etcd(e.endpoints(), e.error(), e.config(), e.configError(),
                Optional.of(new LeaseSnapshot(List.of(wrong, PEER_LEASE), List.of(OWN, PEER), 11)), e.ownTtlSeconds()), h.kernel(), h.forwarding(), h.nft(),
                h.underlay(), h.vxlan(), h.probes());
        assertTrue(only(s, "device").summary().startsWith("flannel.1 has MAC 02:00:00:00:00:01 but the lease's VtepMAC is 02:42:de:ad:be:ef"));
    }

    @Test
    void theProbeNamesWhoAnsweredAndWhoDidNot() {
        DoctorSnapshot h = healthy();
        DoctorSnapshot s = new DoctorSnapshot(h.files(), h.daemons(), h.healthz(), h.etcd(), h.kernel(), h.forwarding(), h.nft(), h.underlay(), h.vxlan(),
                Optional.of(List.of(new DoctorSnapshot.Probe(PEER, "198.18.0.2", "198.19.2.0", 3, 0, Optional.empty(), Optional.empty()))));
        Check c = only(s, "probe");
        assertEquals("1 of 1 peer(s) did not answer through the overlay", c.summary());
        assertEquals(List.of("198.19.2.0/24 (198.18.0.2): 198.19.2.0 did not answer 3 echo request(s)"), c.details());
        assertTrue(c.fix().orElseThrow().startsWith("check that UDP 8472 passes between 198.18.0.1 and 198.18.0.2"), c.fix().toString());
        DoctorSnapshot answered = new DoctorSnapshot(h.files(), h.daemons(), h.healthz(), h.etcd(), h.kernel(), h.forwarding(), h.nft(), h.underlay(), h.vxlan(),
                Optional.of(List.of(new DoctorSnapshot.Probe(PEER, "198.18.0.2", "198.19.2.0", 3, 3, Optional.of(0.25), Optional.empty()))));
        Check ok = DoctorReport.checks(answered).stream().filter(x -> x.name().equals("probe")).findFirst().orElseThrow();
        assertEquals(List.of("198.19.2.0/24 (198.18.0.2): 198.19.2.0 answered 3/3, 0.25 ms"), ok.details());
    }

    @Test
    void theUdpDataPathAgainstTheDaemonsOwnPeerCount() {
        DoctorSnapshot h = healthy();
        Lease own = lease(OWN, "198.18.0.1", "udp", null);
        Lease peer = lease(PEER, "198.18.0.2", "udp", null);
        List<LinkWithAddresses> links = List.of(link(ETH0, "eth0", 1500, "veth", "198.18.0.1/16"), link(9, "flannel0", 1472, "tun", "198.19.1.0/16"),
                link(CNI0, "cni0", 1472, "bridge", "198.19.1.1/24"));
        Route network = Route.throughDevice(Ip4Net.parse("198.19.0.0/16"), 9);
        DoctorSnapshot.Etcd etcd = new DoctorSnapshot.Etcd("e", Optional.empty(), Optional.of(config("udp")), Optional.empty(),
                Optional.of(new LeaseSnapshot(List.of(own, peer), List.of(OWN, PEER), 3)), Optional.of(100L));
        DoctorSnapshot.Healthz healthz = new DoctorSnapshot.Healthz("http://127.0.0.1:1/healthz", 200, "ok", Optional.empty(),
                Optional.of("flannel_backend_peers{backend=\"udp\"} 0.0\n"));
        DoctorSnapshot s = new DoctorSnapshot(new DoctorSnapshot.Files(SUBNET_FILE, Optional.of(new SubnetEnv(NETWORK, OWN, 1472, false)), Optional.empty(),
                Optional.empty(), Optional.empty(), List.of()), h.daemons(), Optional.of(healthz), etcd,
                new DoctorSnapshot.Kernel(links, List.of(network), Map.of(), Map.of()), h.forwarding(), Optional.empty(), h.underlay(), Optional.empty(),
                Optional.empty());
        Check c = only(s, "data path");
        assertEquals("the daemon forwards to 0 host(s) (flannel_backend_peers in /metrics) but etcd has 1 other udp lease(s)", c.summary());
    }

    @Test
    void withNftablesTheChainMustAcceptAndIptablesMustNotDropWhatItAccepts() {
        DoctorSnapshot h = healthy();
        NetworkConfig nft = new NetworkConfig(NETWORK, 24, Ip4.parse("198.19.1.0"), Ip4.parse("198.19.255.0"), BackendConfig.ofType("vxlan"), true);
        DoctorSnapshot.Etcd e = h.etcd();
        DoctorSnapshot.Etcd etcd = new DoctorSnapshot.Etcd(e.endpoints(), e.error(), Optional.of(nft), e.configError(), e.leases(), e.ownTtlSeconds());
        String chain = "table ip flannel-ipv4 {\n\tchain forward {\n\t\tip saddr 198.19.0.0/16 accept\n\t\tip daddr 198.19.0.0/16 accept\n\t}\n}\n";
        ForwardingState accept = new ForwardingState(Optional.of(true), List.of("-P FORWARD ACCEPT"), Optional.empty());
        ForwardingState drop = new ForwardingState(Optional.of(true), List.of("-P FORWARD DROP"), Optional.empty());
        java.util.function.BiFunction<ForwardingState, Optional<String>, DoctorSnapshot> node = (fw, c) -> new DoctorSnapshot(h.files(), h.daemons(),
                h.healthz(), etcd, h.kernel(), fw, Optional.of(new DoctorSnapshot.NftForward(c, Optional.empty())), h.underlay(), h.vxlan(), h.probes());
        assertEquals(0, DoctorReport.exitCode(DoctorReport.checks(node.apply(accept, Optional.of(chain)))));
        assertTrue(only(node.apply(drop, Optional.of(chain)), "forward rules").summary()
                .startsWith("table ip flannel-ipv4 accepts 198.19.0.0/16, but iptables' FORWARD policy DROP drops it anyway"));
        assertTrue(only(node.apply(accept, Optional.empty()), "forward rules").summary()
                .startsWith("EnableNFTables is on but table ip flannel-ipv4 has no forward chain accepting 198.19.0.0/16"));
    }

    @Test
    void withNftablesAndIpv6TheIp6TableMustAcceptAndIp6tablesMustNotDropWhatItAccepts() {
        DoctorSnapshot h = healthy();
        NetworkConfig nft = new NetworkConfig(NETWORK, 24, Ip4.parse("198.19.1.0"), Ip4.parse("198.19.255.0"), BackendConfig.ofType("vxlan"), true)
                .withIpv6(V6);
        SubnetEnv env = new SubnetEnv(NETWORK, OWN, 1430, false, V6.network(), io.flanneld.schema.Ip6Net.parse("2001:2:19:1::/64"));
        String chain = "table ip flannel-ipv4 {\n\tchain forward {\n\t\tip saddr 198.19.0.0/16 accept\n\t\tip daddr 198.19.0.0/16 accept\n\t}\n}\n";
        // As `nft list chain ip6 flannel-ipv6 forward` prints the daemon's chain.
        String chain6 = "table ip6 flannel-ipv6 {\n\tchain forward {\n\t\ttype filter hook forward priority filter + 1; policy accept;\n"
                + "\t\tip6 saddr 2001:2:19::/48 accept\n\t\tip6 daddr 2001:2:19::/48 accept\n\t}\n}\n";
        ForwardingState accept = new ForwardingState(Optional.of(true), List.of("-P FORWARD ACCEPT"), Optional.empty(), Optional.of(true),
                List.of("-P FORWARD ACCEPT"), Optional.empty());
        ForwardingState drop6 = new ForwardingState(Optional.of(true), List.of("-P FORWARD ACCEPT"), Optional.empty(), Optional.of(true),
                List.of("-P FORWARD DROP"), Optional.empty());
        java.util.function.BiFunction<ForwardingState, Optional<String>, Check> check = (fw, c6) -> {
            DoctorSnapshot base = withConfigAndEnv(h, nft, env, fw);
            DoctorSnapshot s = new DoctorSnapshot(base.files(), base.daemons(), base.healthz(), base.etcd(), base.kernel(), base.forwarding(),
                    Optional.of(new DoctorSnapshot.NftForward(Optional.of(chain), Optional.empty(), c6)), base.underlay(), base.vxlan(), base.probes());
            return DoctorReport.checks(s).stream().filter(c -> c.name().equals("forward rules v6")).findFirst().orElseThrow();
        };
        Check ok = check.apply(accept, Optional.of(chain6));
        assertEquals(Check.Status.OK, ok.status(), ok.summary());
        assertEquals("table ip6 flannel-ipv6 chain forward accepts from and to 2001:2:19::/48; ip6tables FORWARD policy ACCEPT", ok.summary());
        Check dropped = check.apply(drop6, Optional.of(chain6));
        assertEquals(Check.Status.FAIL, dropped.status());
        assertTrue(dropped.summary().startsWith("table ip6 flannel-ipv6 accepts 2001:2:19::/48, but ip6tables' FORWARD policy DROP drops it anyway"),
                dropped.summary());
        Check none = check.apply(accept, Optional.empty());
        assertEquals(Check.Status.FAIL, none.status());
        assertTrue(none.summary().startsWith("EnableNFTables is on but table ip6 flannel-ipv6 has no forward chain accepting 2001:2:19::/48"),
                none.summary());
    }

    @Test
    void theTextHasOneLinePerCheckDetailsBelowAndACount() {
        Check fail = Check.fail("data path", "1 missing", "start flanneld-java").withDetails(List.of("missing for x"));
        String text = DoctorReport.text(List.of(Check.ok("daemon", "running"), fail));
        assertEquals("ok   daemon: running\nFAIL data path: 1 missing; fix: start flanneld-java\n       missing for x\ndoctor: 1 ok, 0 warn, 1 FAIL\n", text);
        assertTrue(DoctorReport.json(List.of(fail)).contains("\"status\" : \"FAIL\""));
    }
}
