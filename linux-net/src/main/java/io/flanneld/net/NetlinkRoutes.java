package io.flanneld.net;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/** {@link Routes} over an rtnetlink socket. */
final class NetlinkRoutes implements Routes {
    private final NetlinkSocket socket;
    private final NetlinkLinks links;

    NetlinkRoutes(NetlinkSocket socket, NetlinkLinks links) {
        this.socket = socket;
        this.links = links;
    }

    @Override
    public void add(Route route) {
        socket.execute(w -> RouteCodec.add(w, route, false), () -> "RTM_NEWROUTE add " + describe(route));
    }

    @Override
    public void replace(Route route) {
        socket.execute(w -> RouteCodec.add(w, route, true), () -> "RTM_NEWROUTE replace " + describe(route));
    }

    @Override
    public void delete(Route route) {
        socket.execute(w -> RouteCodec.delete(w, route), () -> "RTM_DELROUTE " + describe(route));
    }

    @Override
    public List<Route> list() {
        return list(Route.TABLE_MAIN);
    }

    @Override
    public List<Route> list(int table) {
        // The kernel dumps every table; it filters by table only under strict checking, so filter here.
        return socket.dump(RouteCodec::dump, () -> "RTM_GETROUTE dump", RouteCodec::decode).stream()
                .filter(r -> r.table() == table).collect(Collectors.toList());
    }

    @Override
    public Optional<Route> defaultRoute() {
        return list().stream().filter(Route::isDefault).min(Comparator.comparingInt(Route::metric));
    }

    @Override
    public Optional<RouteLookup> lookup(int destination) {
        return socket.get(w -> RouteCodec.lookup(w, destination), () -> "RTM_GETROUTE " + Ip4.format(destination),
                Errno.ENETUNREACH, RouteCodec::decodeLookup);
    }

    @Override
    public void addBlackhole(Ip4Net destination) {
        socket.execute(w -> RouteCodec.addBlackhole(w, destination),
                () -> "RTM_NEWROUTE add blackhole " + destination);
    }

    @Override
    public void deleteBlackhole(Ip4Net destination) {
        socket.execute(w -> RouteCodec.deleteBlackhole(w, destination),
                () -> "RTM_DELROUTE blackhole " + destination);
    }

    @Override
    public List<Ip4Net> blackholes() {
        return socket.dump(RouteCodec::dump, () -> "RTM_GETROUTE dump",
                m -> RouteCodec.decodeBlackhole(m, Route.TABLE_MAIN));
    }

    @Override
    public void addBlackhole6(Ip6Net destination) {
        socket.execute(w -> RouteCodec.addBlackhole6(w, destination),
                () -> "RTM_NEWROUTE add blackhole " + destination);
    }

    @Override
    public void deleteBlackhole6(Ip6Net destination) {
        socket.execute(w -> RouteCodec.deleteBlackhole6(w, destination),
                () -> "RTM_DELROUTE blackhole " + destination);
    }

    @Override
    public List<Ip6Net> blackholes6() {
        return socket.dump(RouteCodec::dump6, () -> "RTM_GETROUTE AF_INET6 dump",
                m -> RouteCodec.decodeBlackhole6(m, Route.TABLE_MAIN));
    }

    @Override
    public void add(Route6 route) {
        socket.execute(w -> RouteCodec.add6(w, route, false), () -> "RTM_NEWROUTE add " + describe6(route));
    }

    @Override
    public void replace(Route6 route) {
        socket.execute(w -> RouteCodec.add6(w, route, true), () -> "RTM_NEWROUTE replace " + describe6(route));
    }

    @Override
    public void delete(Route6 route) {
        socket.execute(w -> RouteCodec.delete6(w, route), () -> "RTM_DELROUTE " + describe6(route));
    }

    @Override
    public List<Route6> list6() {
        return list6(Route.TABLE_MAIN);
    }

    @Override
    public List<Route6> list6(int table) {
        return socket.dump(RouteCodec::dump6, () -> "RTM_GETROUTE AF_INET6 dump", RouteCodec::decode6).stream()
                .filter(r -> r.table() == table).collect(Collectors.toList());
    }

    @Override
    public Optional<Route6> defaultRoute6() {
        return list6().stream().filter(Route6::isDefault).min(Comparator.comparingInt(Route6::metric));
    }

    @Override
    public Optional<RouteLookup6> lookup6(Ip6 destination) {
        return socket.get(w -> RouteCodec.lookup6(w, destination), () -> "RTM_GETROUTE " + destination,
                Errno.ENETUNREACH, RouteCodec::decodeLookup6);
    }

    private String describe6(Route6 route) {
        String text = route.describe();
        if (route.outputIndex() == 0) {
            return text;
        }
        return text.replace(" dev #" + route.outputIndex(), " dev " + links.describe(route.outputIndex()));
    }

    /** The route as `ip route` prints it, with the device's name rather than its index. */
    private String describe(Route route) {
        String text = route.describe();
        if (route.outputIndex() == 0) {
            return text;
        }
        return text.replace(" dev #" + route.outputIndex(), " dev " + links.describe(route.outputIndex()));
    }
}
