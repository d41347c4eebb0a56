package io.flanneld.net;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void listsLoopbackInScratchNamespace() {
        try (ScratchNamespace ns = ScratchNamespace.create("smoke");
             Rtnetlink rtnl = Rtnetlink.openInNamespace(ns.name)) {
            System.out.println(rtnl.links().list());
            System.out.println(rtnl.linksWithAddresses());
            System.out.println(rtnl.links().byName("lo"));
            System.out.println(rtnl.links().byName("nonexistent"));
            System.out.println(rtnl.routes().list(255));
        }
    }
}
