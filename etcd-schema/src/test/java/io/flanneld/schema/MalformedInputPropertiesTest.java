package io.flanneld.schema;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/** Whatever an operator or another program writes into etcd, parsing ends in a value or a named error. */
class MalformedInputPropertiesTest {

    @Property(tries = 2000)
    void configParsingNeverThrowsAnythingElse(@ForAll String json) {
        try {
            ConfigCodec.parse(json);
        } catch (ConfigException expected) {
            // a clear, named error is the promised outcome
        }
    }

    @Property(tries = 2000)
    void configParsingOfJsonShapedInputNeverThrowsAnythingElse(@ForAll String network, @ForAll int len, @ForAll String type) {
        String json = "{\"Network\":\"" + network.replace("\"", "") + "\",\"SubnetLen\":" + len
                + ",\"Backend\":{\"Type\":\"" + type.replace("\"", "") + "\"}}";
        try {
            ConfigCodec.parse(json);
        } catch (ConfigException expected) {
            // fine
        }
    }

    @Property(tries = 2000)
    void leaseParsingNeverThrowsAnythingElse(@ForAll String json) {
        try {
            LeaseCodec.parse(json);
        } catch (MalformedLeaseException expected) {
            // fine
        }
    }

    @Property(tries = 2000)
    void subnetKeyParsingNeverThrows(@ForAll String name) {
        EtcdKeys.defaults().parseSubnetKey("/coreos.com/network/subnets/" + name);
    }
}
