package io.flanneld.lease;

import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import java.util.ArrayList;
import java.util.List;

/** {@link LeaseFeed} over jetcd: listing and revision through the {@link SubnetRegistry}, the watch through jetcd's watch client. */
final class EtcdLeaseFeed implements LeaseFeed {
    private final SubnetRegistry registry;

    EtcdLeaseFeed(SubnetRegistry registry) {
        this.registry = registry;
    }

    @Override
    public LeaseSnapshot list() throws EtcdUnavailableException, EtcdAccessException {
        return registry.listLeases();
    }

    @Override
    public long revision() throws EtcdUnavailableException, EtcdAccessException {
        return registry.revision();
    }

    @Override
    public Subscription watch(long fromRevision, Listener listener) {
        WatchOption option = WatchOption.builder()
                .isPrefix(true)
                .withRevision(fromRevision)
                .withRequireLeader(true)
                .build();
        Watch.Watcher watcher = registry.client().getWatchClient().watch(SubnetRegistry.bytes(registry.keys().subnetsPrefix()), option,
                Watch.listener(
                        response -> {
                            List<Change> changes = new ArrayList<>(response.getEvents().size());
                            for (WatchEvent event : response.getEvents()) {
                                // Only puts and deletes exist in etcd's v3 watch; anything else is not a change of a key.
                                if (event.getEventType() == WatchEvent.EventType.PUT || event.getEventType() == WatchEvent.EventType.DELETE) {
                                    changes.add(new Change(SubnetRegistry.stored(event.getKeyValue()),
                                            event.getEventType() == WatchEvent.EventType.PUT));
                                }
                            }
                            listener.changes(changes);
                        },
                        error -> {
                            if (isCompaction(error)) {
                                listener.compacted();
                            } else {
                                listener.failed(error);
                            }
                        }));
        return watcher::close;
    }

    static boolean isCompaction(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof CompactedException || String.valueOf(t.getMessage()).contains("compacted")) {
                return true;
            }
        }
        return false;
    }
}
