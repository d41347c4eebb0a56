package io.flanneld.daemon;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One of flannel's base chains in table {@code ip flannel-ipv4}, kept in place: {@link #ensure()} installs the chain
 * with its rules in one transaction and may be called again at any time to put back what someone flushed or
 * deleted; {@link #close()} removes the chain, and the table once nothing else is in it. The rule sets are
 * {@link NfTablesScript}'s; {@link NfTablesRules} makes the two the daemon uses.
 */
final class NfTablesChain implements PacketFilter {
    private static final Logger LOG = LoggerFactory.getLogger(NfTablesChain.class);

    private final String what;
    private final NfTables nft;
    private final NfTablesScript.Chain chain;
    private final List<String> rules;
    private final String script;
    /** The chain as nft listed it right after this instance installed it; null before the first install. */
    private List<String> installed;
    private boolean closed;

    NfTablesChain(String what, NfTables nft, NfTablesScript.Chain chain, List<String> rules) {
        this.what = what;
        this.nft = Objects.requireNonNull(nft, "nft");
        this.chain = chain;
        this.rules = List.copyOf(rules);
        this.script = NfTablesScript.install(chain, this.rules);
    }

    @Override
    public String what() {
        return what;
    }

    @Override
    public String where() {
        return "nftables " + chain.family() + " " + chain.table() + "/" + chain.name();
    }

    /** The chain's rules in order, as written to nft. */
    List<String> rules() {
        return rules;
    }

    /** The transaction {@link #ensure()} sends when something is missing (and always on the first call). */
    String script() {
        return script;
    }

    /**
     * The first call writes the chain whatever is there (a chain left by an earlier run or by flannel is replaced by
     * this one, in the same transaction) and remembers how nft lists it. Later calls list the chain and, if it is
     * gone (with its table or on its own) or lists otherwise (rules flushed, deleted, added or changed), write it
     * again whole; when it lists as installed, nothing is sent.
     */
    @Override
    public synchronized boolean ensure() throws NfTablesException {
        if (closed) {
            throw new IllegalStateException(what + " rules already removed");
        }
        boolean first = installed == null;
        if (!first && NfTablesScript.intact(listChain(), chain.name(), installed)) {
            return false;
        }
        nft.apply(script);
        Optional<String> listing = listChain();
        if (listing.isEmpty()) {
            throw new NfTablesException(List.of("nft", "list", "chain", chain.family(), chain.table(),
                    chain.name()), 1, "chain gone right after it was installed");
        }
        installed = NfTablesScript.chainBody(listing.get(), chain.name());
        if (first) {
            LOG.info("installed {} ({} rules)", where(), rules.size());
        } else {
            LOG.info("put back {} ({} rules)", where(), rules.size());
        }
        return !first;
    }

    /**
     * Removes the chain if this instance installed it, then the table if no chain or other object is left in it
     * (the other chain of the pair may still be there). Tries both steps even if the first fails, then throws the
     * first failure. A second call does nothing.
     */
    @Override
    public synchronized void close() throws NfTablesException {
        if (closed) {
            return;
        }
        closed = true;
        if (installed == null) {
            return;
        }
        NfTablesException first = null;
        try {
            nft.apply(NfTablesScript.remove(chain));
            LOG.info("removed {}", where());
        } catch (NfTablesException e) {
            first = e;
        }
        try {
            removeTableIfEmpty();
        } catch (NfTablesException e) {
            if (first == null) {
                first = e;
            } else {
                first.addSuppressed(e);
            }
        }
        if (first != null) {
            throw first;
        }
    }

    private void removeTableIfEmpty() throws NfTablesException {
        Optional<String> table = nft.list("table", chain.family(), chain.table());
        if (table.isEmpty()) {
            return;
        }
        if (!NfTablesScript.tableIsEmpty(table.get())) {
            LOG.debug("leaving nftables table {} {}: it still holds other chains", chain.family(), chain.table());
            return;
        }
        try {
            nft.apply(NfTablesScript.removeTable(chain));
            LOG.info("removed nftables table {} {}", chain.family(), chain.table());
        } catch (NfTablesException e) {
            // The other chain's close may have deleted it in between; only a table still there is a failure.
            if (nft.list("table", chain.family(), chain.table()).isPresent()) {
                throw e;
            }
        }
    }

    private Optional<String> listChain() throws NfTablesException {
        return nft.list("chain", chain.family(), chain.table(), chain.name());
    }
}
