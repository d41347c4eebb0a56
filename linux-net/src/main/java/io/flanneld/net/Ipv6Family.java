package io.flanneld.net;

import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.List;
import java.util.Optional;

/** {@link IpFamily#IPV6}; open for modules that add their own per-family values to it. */
public class Ipv6Family implements IpFamily<Ip6, Ip6Net, Route6> {
    protected Ipv6Family() {
    }

    @Override
    public String format(Ip6 address) {
        return String.valueOf(address);
    }

    @Override
    public Ip6 firstAddress(Ip6Net network) {
        return network.address();
    }

    @Override
    public int prefixLength(Ip6Net network) {
        return network.prefixLength();
    }

    @Override
    public boolean contains(Ip6Net outer, Ip6Net inner) {
        return outer.contains(inner);
    }

    @Override
    public Route6 onlinkVia(Ip6Net destination, Ip6 gateway, int outputIndex) {
        return Route6.onlinkVia(destination, gateway, outputIndex);
    }

    @Override
    public Route6 viaDevice(Ip6Net destination, Ip6 gateway, int outputIndex) {
        return Route6.viaDevice(destination, gateway, outputIndex);
    }

    @Override
    public Ip6Net destination(Route6 route) {
        return route.destination();
    }

    @Override
    public Optional<Ip6> gateway(Route6 route) {
        return route.gateway();
    }

    @Override
    public int outputIndex(Route6 route) {
        return route.outputIndex();
    }

    @Override
    public int protocol(Route6 route) {
        return route.protocol();
    }

    @Override
    public int table(Route6 route) {
        return route.table();
    }

    @Override
    public int metric(Route6 route) {
        return route.metric();
    }

    @Override
    public String describe(Route6 route) {
        return route.describe();
    }

    @Override
    public List<Route6> routes(Rtnetlink nl) {
        return nl.routes().list6();
    }

    @Override
    public void replaceRoute(Rtnetlink nl, Route6 route) {
        nl.routes().replace(route);
    }

    @Override
    public void deleteRoute(Rtnetlink nl, Route6 route) {
        nl.routes().delete(route);
    }

    @Override
    public void addBlackhole(Rtnetlink nl, Ip6Net destination) {
        nl.routes().addBlackhole6(destination);
    }

    @Override
    public void deleteBlackhole(Rtnetlink nl, Ip6Net destination) {
        nl.routes().deleteBlackhole6(destination);
    }

    @Override
    public List<Ip6Net> blackholes(Rtnetlink nl) {
        return nl.routes().blackholes6();
    }

    @Override
    public List<Ip6Net> networks(Rtnetlink nl, int linkIndex) {
        return nl.addresses().list6(linkIndex).stream().filter(a -> a.scope() == LinkAddress6.SCOPE_UNIVERSE)
                .map(LinkAddress6::network).distinct().toList();
    }
}
