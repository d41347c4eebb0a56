package io.flanneld.net;

import io.flanneld.schema.Ip6;
import io.flanneld.schema.Ip6Net;
import java.util.Objects;

/**
 * An IPv6 address assigned to a link (RTM_NEWADDR of family AF_INET6), e.g. 2001:2:19:1::/128 on flannel-v6.1 or
 * 2001:2::1/64 on eth0. The address keeps its host bits; {@link #network()} clears them. Besides the prefix length
 * the kernel reports the address's scope and its IFA_F_* flags, which interface selection needs: a tentative address
 * (duplicate address detection still running) or one whose detection failed cannot be used as a source yet, a
 * deprecated one should not be chosen for new traffic, a temporary one (privacy extensions) is not a host's stable
 * address.
 *
 * @param prefixLength the length of the network the address is on, 0..128
 * @param scope RT_SCOPE_*: {@link #SCOPE_UNIVERSE} for a global address, {@link #SCOPE_LINK} for fe80::/10,
 *     {@link #SCOPE_HOST} for ::1
 * @param flags IFA_F_* bits as the kernel reports them (IFA_FLAGS, else ifa_flags); in a request, the flags to set
 *     (e.g. {@link #IFA_F_NODAD}), 0 for none
 */
public record LinkAddress6(int linkIndex, Ip6 address, int prefixLength, int scope, int flags) {
    public static final int SCOPE_UNIVERSE = 0;
    public static final int SCOPE_LINK = 253;
    public static final int SCOPE_HOST = 254;

    public static final int IFA_F_TEMPORARY = 0x01;
    public static final int IFA_F_NODAD = 0x02;
    public static final int IFA_F_OPTIMISTIC = 0x04;
    public static final int IFA_F_DADFAILED = 0x08;
    public static final int IFA_F_HOMEADDRESS = 0x10;
    public static final int IFA_F_DEPRECATED = 0x20;
    public static final int IFA_F_TENTATIVE = 0x40;
    public static final int IFA_F_PERMANENT = 0x80;
    public static final int IFA_F_MANAGETEMPADDR = 0x100;
    public static final int IFA_F_NOPREFIXROUTE = 0x200;

    public LinkAddress6 {
        Objects.requireNonNull(address, "address");
        if (prefixLength < 0 || prefixLength > 128) {
            throw new IllegalArgumentException("IPv6 prefix length must be 0..128, got " + prefixLength);
        }
        if (scope < 0 || scope > 255) {
            throw new IllegalArgumentException("scope must be 0..255, got " + scope);
        }
    }

    /** A global address with no flags, as `ip -6 addr add ADDRESS/LEN dev LINK` asks for it. */
    public LinkAddress6(int linkIndex, Ip6 address, int prefixLength) {
        this(linkIndex, address, prefixLength, SCOPE_UNIVERSE, 0);
    }

    /** The network the address is on (2001:2::1/64 gives 2001:2::/64). */
    public Ip6Net network() {
        return Ip6Net.containing(address, prefixLength);
    }

    /** Same link, address and prefix length, whatever the scope and flags (what a request and a dump share). */
    public boolean sameAddress(LinkAddress6 other) {
        return linkIndex == other.linkIndex && address.equals(other.address) && prefixLength == other.prefixLength;
    }

    public boolean isTentative() {
        return (flags & IFA_F_TENTATIVE) != 0;
    }

    public boolean isDadFailed() {
        return (flags & IFA_F_DADFAILED) != 0;
    }

    public boolean isDeprecated() {
        return (flags & IFA_F_DEPRECATED) != 0;
    }

    public boolean isTemporary() {
        return (flags & IFA_F_TEMPORARY) != 0;
    }

    public boolean isLinkLocal() {
        return scope == SCOPE_LINK;
    }

    /** "2001:2::1/64", as `ip -6 addr` shows it. */
    @Override
    public String toString() {
        return address + "/" + prefixLength;
    }
}
