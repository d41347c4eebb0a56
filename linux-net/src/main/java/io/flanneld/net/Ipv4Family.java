package io.flanneld.net;

import io.flanneld.schema.Ip4;
import io.flanneld.schema.Ip4Net;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;

/** {@link IpFamily#IPV4}; open for modules that add their own per-family values to it. */
public class Ipv4Family implements IpFamily<Integer, Ip4Net, Route> {
    protected Ipv4Family() {
    }

    @Override
    public String format(Integer address) {
        return Ip4.format(address);
    }

    @Override
    public Integer firstAddress(Ip4Net network) {
        return network.address();
    }

    @Override
    public int prefixLength(Ip4Net network) {
        return network.prefixLength();
    }

    @Override
    public boolean contains(Ip4Net outer, Ip4Net inner) {
        return outer.contains(inner);
    }

    @Override
    public Route onlinkVia(Ip4Net destination, Integer gateway, int outputIndex) {
        return Route.onlinkVia(destination, gateway, outputIndex);
    }

    @Override
    public Route viaDevice(Ip4Net destination, Integer gateway, int outputIndex) {
        return new Route(destination, OptionalInt.of(gateway), outputIndex, false, Route.TABLE_MAIN,
                Route.PROTOCOL_BOOT, Route.SCOPE_UNIVERSE, 0);
    }

    @Override
    public Ip4Net destination(Route route) {
        return route.destination();
    }

    @Override
    public Optional<Integer> gateway(Route route) {
        return route.gateway().isPresent() ? Optional.of(route.gateway().getAsInt()) : Optional.empty();
    }

    @Override
    public int outputIndex(Route route) {
        return route.outputIndex();
    }

    @Override
    public int protocol(Route route) {
        return route.protocol();
    }

    @Override
    public int table(Route route) {
        return route.table();
    }

    @Override
    public int metric(Route route) {
        return route.metric();
    }

    @Override
    public String describe(Route route) {
        return route.describe();
    }

    @Override
    public List<Route> routes(Rtnetlink nl) {
        return nl.routes().list();
    }

    @Override
    public void replaceRoute(Rtnetlink nl, Route route) {
        nl.routes().replace(route);
    }

    @Override
    public void deleteRoute(Rtnetlink nl, Route route) {
        nl.routes().delete(route);
    }

    @Override
    public void addBlackhole(Rtnetlink nl, Ip4Net destination) {
        nl.routes().addBlackhole(destination);
    }

    @Override
    public void deleteBlackhole(Rtnetlink nl, Ip4Net destination) {
        nl.routes().deleteBlackhole(destination);
    }

    @Override
    public List<Ip4Net> blackholes(Rtnetlink nl) {
        return nl.routes().blackholes();
    }

    @Override
    public List<Ip4Net> networks(Rtnetlink nl, int linkIndex) {
        return nl.addresses().list(linkIndex).stream().map(LinkAddress::network).distinct().toList();
    }
}
