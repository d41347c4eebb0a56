package io.flanneld.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.etcd.jetcd.Client;
import io.flanneld.backend.LeaseEvent;
import io.flanneld.schema.EtcdKeys;
import io.flanneld.schema.Ip4;
import io.flanneld.schema.LeaseAttrs;
import io.flanneld.schema.NetworkConfig;
import io.flanneld.testkit.EtcdProcess;
import io.flanneld.testkit.Wait;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The daemon's lease session against a real etcd: one listing serves the acquisition, the peers and the watch. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class LeaseSessionIT {

    @Test
    void thePeersComeFromTheAcquisitionsListingAndTheWatchBringsWhatChangedSince() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start(); Client client = EtcdClients.connect(EtcdOptions.plain(etcd.endpoint()))) {
            EtcdKeys keys = EtcdKeys.defaults();
            etcd.etcdctl("put", keys.config(), "{\"Network\":\"198.19.0.0/16\",\"Backend\":{\"Type\":\"alloc\"}}").check();
            etcd.etcdctl("put", keys.subnetsPrefix() + "198.19.2.0-24", "{\"PublicIP\":\"198.18.0.2\",\"BackendType\":\"alloc\"}").check();
            RequestCounter.Total requests = new RequestCounter.Total();
            SubnetRegistry registry = new SubnetRegistry(client, keys, Duration.ofSeconds(5), requests);
            List<String> seen = Collections.synchronizedList(new ArrayList<>());
            try (LeaseSession session = new LeaseSession(new LeaseManager(registry, LeaseOptions.defaults(), etcd.endpoint()),
                    etcd.endpoint(), null)) {
                NetworkConfig config = session.awaitConfig();
                long before = requests.total();
                LeaseSession.Acquired acquired = session.acquire(config, new LeaseAttrs(Ip4.parse("198.18.0.1"), "alloc", null),
                        Optional.empty());
                assertEquals(List.of("198.19.2.0/24"), acquired.peers().stream().map(l -> l.subnet().toString()).toList());
                session.follow(acquired, events -> events.forEach(e -> seen.add((e instanceof LeaseEvent.Added ? "+" : "-")
                        + e.lease().subnet())), message -> { }, lease -> { });
                etcd.etcdctl("put", keys.subnetsPrefix() + "198.19.3.0-24", "{\"PublicIP\":\"198.18.0.3\",\"BackendType\":\"alloc\"}").check();
                Wait.until(Duration.ofSeconds(10), Duration.ofMillis(20), "the new lease", () -> seen.contains("+198.19.3.0/24"));
                assertEquals(List.of("+198.19.3.0/24"), List.copyOf(seen), "nothing of the listing twice, never this host's own key");
                assertTrue(requests.total() - before <= 4, "one range read, one grant, one create, (the watch): " + (requests.total() - before));
            }
        }
    }
}
