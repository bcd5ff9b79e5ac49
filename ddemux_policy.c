// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - pure decisions: overlap, sharing, reply-in-set, share rules
 *
 * Nothing here takes a lock, allocates or looks at a socket: every
 * function is a function of its arguments, which is what lets KUnit test
 * the whole rule set under UML.
 */
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include <linux/in.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>

#include "ddemux.h"

static const char *const reason_names[DDEMUX_R_NREASONS] = {
	[DDEMUX_R_NO_OVERLAP] = "no-overlap",
	[DDEMUX_R_SAME_DOMAIN] = "same-domain",
	[DDEMUX_R_SHARED] = "shared",
	[DDEMUX_R_CROSS_DOMAIN] = "cross-domain",
	[DDEMUX_R_NOT_OPTED_IN] = "share-rule-without-opt-in",
	[DDEMUX_R_GROUP] = "group-address",
};

const char *ddemux_reason_name(enum ddemux_reason r)
{
	return (unsigned int)r < DDEMUX_R_NREASONS ? reason_names[r] : "?";
}

static const char *const proto_names[DDEMUX_NPROTO] = {
	[DDEMUX_TCP] = "tcp",
	[DDEMUX_UDP] = "udp",
	[DDEMUX_UDPLITE] = "udplite",
	[DDEMUX_PING] = "ping",
	[DDEMUX_SCTP] = "sctp",
	[DDEMUX_DCCP] = "dccp",
};

const char *ddemux_proto_name(enum ddemux_proto p)
{
	return (unsigned int)p < DDEMUX_NPROTO ? proto_names[p] : "?";
}

const char *ddemux_state_name(enum ddemux_state s)
{
	switch (s) {
	case DDEMUX_BOUND:
		return "bound";
	case DDEMUX_LISTEN:
		return "listen";
	case DDEMUX_CONNECTED:
		return "connected";
	}
	return "?";
}

/* Store an IPv4 address: 0.0.0.0 becomes the all-zero wildcard. */
static __always_inline void addr_set_v4(struct in6_addr *a, __be32 v4)
{
	if (v4)
		ipv6_addr_set_v4mapped(v4, a);
	else
		memset(a, 0, sizeof(*a));
}

void ddemux_addr_set_v4(struct in6_addr *a, __be32 v4)
{
	addr_set_v4(a, v4);
}

bool ddemux_addr_any(const struct in6_addr *a)
{
	return ipv6_addr_any(a);
}

bool ddemux_addr_is_v4(const struct in6_addr *a)
{
	return ipv6_addr_v4mapped(a);
}

/*
 * A group address: multicast, or the IPv4 limited broadcast.  A datagram
 * sent to one is delivered to every socket that matches it, so sets on
 * one cannot take anything from each other.  (Subnet broadcasts depend on
 * the routing table; the hooks recognise those.)
 */
static bool addr_is_group(const struct in6_addr *a)
{
	if (ipv6_addr_v4mapped(a))
		return ipv4_is_multicast(a->s6_addr32[3]) ||
		       ipv4_is_lbcast(a->s6_addr32[3]);
	return ipv6_addr_is_multicast(a);
}

/* Wildcard-aware address match: either side unspecified, or equal. */
static bool addr_match(const struct in6_addr *a, const struct in6_addr *b)
{
	return ipv6_addr_any(a) || ipv6_addr_any(b) || ipv6_addr_equal(a, b);
}

/* ddemux_aset_set_local(), inlined where this file builds a set */
static __always_inline void aset_set_local(struct ddemux_aset *s, int family,
					   __be32 v4, const struct in6_addr *v6,
					   bool v6only)
{
	if (family == AF_INET) {
		s->fam = DDEMUX_FAM_V4;
		addr_set_v4(&s->laddr, v4);
	} else if (ipv6_addr_v4mapped(v6)) {
		s->fam = DDEMUX_FAM_V4;
		addr_set_v4(&s->laddr, v6->s6_addr32[3]);
	} else if (ipv6_addr_any(v6)) {
		s->fam = v6only ? DDEMUX_FAM_V6 : DDEMUX_FAM_DUAL;
		memset(&s->laddr, 0, sizeof(s->laddr));
	} else {
		s->fam = DDEMUX_FAM_V6;
		s->laddr = *v6;
	}
	s->flags &= ~DDEMUX_GROUP;
	if (!ipv6_addr_any(&s->laddr) && addr_is_group(&s->laddr))
		s->flags |= DDEMUX_GROUP;
}

/**
 * ddemux_aset_set_local - the local part of a set, from socket fields
 * @s: the set
 * @family: the socket's family, AF_INET or AF_INET6
 * @v4: inet_rcv_saddr (AF_INET)
 * @v6: sk_v6_rcv_saddr (AF_INET6)
 * @v6only: ipv6_only_sock()
 *
 * An AF_INET6 socket bound to a v4-mapped address receives IPv4 only
 * (its inet_rcv_saddr is that IPv4 address); bound to :: it receives
 * IPv6, and IPv4 too unless v6only; bound to any other address, IPv6
 * only (the kernel forces v6only).  Its inet_rcv_saddr is not used: for
 * a specific IPv6 address it is a placeholder (LOOPBACK4_IPV6).  A
 * multicast or limited broadcast address sets %DDEMUX_GROUP.
 */
void ddemux_aset_set_local(struct ddemux_aset *s, int family, __be32 v4,
			   const struct in6_addr *v6, bool v6only)
{
	aset_set_local(s, family, v4, v6, v6only);
}

/* ddemux_aset_set_remote(), inlined where this file builds a set */
static __always_inline void aset_set_remote(struct ddemux_aset *s, int family,
					    __be32 v4, const struct in6_addr *v6,
					    u16 port)
{
	if (family == AF_INET)
		addr_set_v4(&s->raddr, v4);
	else if (ipv6_addr_v4mapped(v6))
		addr_set_v4(&s->raddr, v6->s6_addr32[3]);
	else
		s->raddr = *v6;
	s->rport = port;
}

/**
 * ddemux_aset_set_remote - the remote part of a set, from socket fields
 * @s: the set
 * @family: AF_INET or AF_INET6
 * @v4: inet_daddr (AF_INET)
 * @v6: sk_v6_daddr (AF_INET6; v4-mapped for an IPv4 peer)
 * @port: remote port, host order, 0 if none
 *
 * Call ddemux_aset_normalise() afterwards: a remote address narrows the
 * set to the remote's family.
 */
void ddemux_aset_set_remote(struct ddemux_aset *s, int family, __be32 v4,
			    const struct in6_addr *v6, u16 port)
{
	aset_set_remote(s, family, v4, v6, port);
}

/*
 * Bring a set into the canonical form the overlap test relies on: the
 * mapped form of 0.0.0.0 is the wildcard, a specific address pins the set
 * to its family, ping has no remote (the kernel delivers echo replies by
 * ident and local address alone, ping_lookup(), so a connected ping
 * socket receives from anyone).
 */
static __always_inline void aset_normalise(struct ddemux_aset *s)
{
	if (s->proto == DDEMUX_PING) {
		memset(&s->raddr, 0, sizeof(s->raddr));
		s->rport = 0;
	}
	if (ipv6_addr_v4mapped(&s->laddr) && !s->laddr.s6_addr32[3])
		memset(&s->laddr, 0, sizeof(s->laddr));
	if (ipv6_addr_v4mapped(&s->raddr) && !s->raddr.s6_addr32[3])
		memset(&s->raddr, 0, sizeof(s->raddr));

	if (!ipv6_addr_any(&s->laddr))
		s->fam &= ipv6_addr_v4mapped(&s->laddr) ? DDEMUX_FAM_V4 :
							  DDEMUX_FAM_V6;
	if (!ipv6_addr_any(&s->raddr))
		s->fam &= ipv6_addr_v4mapped(&s->raddr) ? DDEMUX_FAM_V4 :
							  DDEMUX_FAM_V6;
}

/* aset_normalise(), for the other files */
void ddemux_aset_normalise(struct ddemux_aset *s)
{
	aset_normalise(s);
}

/**
 * ddemux_aset_from_view - the address set of a socket, from its fields
 * @sv: the fields
 * @s: out, normalised
 *
 * As the kernel demultiplexes on them: a TCP or DCCP socket that is
 * neither closed nor listening has its peer, a datagram socket when connected;
 * an ICMPv6 echo socket receives ICMPv6 alone, whatever IPV6_V6ONLY says
 * (ping_lookup() matches the family).  An IPv4 socket bound to a
 * multicast or broadcast address has inet_saddr 0 until it connects
 * (inet_bind() leaves the source to the device): %DDEMUX_GROUP, for a
 * subnet broadcast too.  The device is @sv->bound_dev alone: its VRF
 * (@mdev) and %DDEMUX_L3ANY need the namespace, and the domain the
 * socket's owner; the caller adds them.
 */
void ddemux_aset_from_view(const struct ddemux_sock_view *sv,
			   struct ddemux_aset *s)
{
	bool connected;

	memset(s, 0, sizeof(*s));
	s->proto = sv->proto;
	s->lport = sv->lport;
	aset_set_local(s, sv->family, sv->v4_rcv_saddr, sv->v6_rcv_saddr,
		       sv->v6only || sv->proto == DDEMUX_PING);
	if (ddemux_proto_tcp_like(sv->proto))
		connected = sv->state != TCP_CLOSE && sv->state != TCP_LISTEN;
	else
		connected = sv->state == TCP_ESTABLISHED;
	if (connected) {
		aset_set_remote(s, sv->family, sv->v4_daddr, sv->v6_daddr,
				sv->rport);
		s->state = DDEMUX_CONNECTED;
	} else if (ddemux_proto_tcp_like(sv->proto) &&
		   sv->state == TCP_LISTEN) {
		s->state = DDEMUX_LISTEN;
	}
	if (!connected && sv->family == AF_INET && sv->v4_rcv_saddr &&
	    !sv->v4_saddr)
		s->flags |= DDEMUX_GROUP;
	s->dev = sv->bound_dev;
	s->flags |= sv->flags & (DDEMUX_OPTIN | DDEMUX_KERNEL | DDEMUX_MPTCP);
	aset_normalise(s);
}

/*
 * Do the ingress devices of two sets meet (struct ddemux_aset)?  Two
 * unbound sets share every (device, 0); an unbound set and a bound one
 * share (device, 0) unless the device is a VRF or one of its slaves, whose
 * traffic the unbound set receives only with l3mdev_accept; two bound
 * sets share a pair when they name the same device, or one the VRF the
 * other's device is enslaved to.
 */
static bool dev_overlap(const struct ddemux_aset *a, const struct ddemux_aset *b)
{
	if (!a->dev && !b->dev)
		return true;
	if (!a->dev)
		return !b->mdev || (a->flags & DDEMUX_L3ANY);
	if (!b->dev)
		return !a->mdev || (b->flags & DDEMUX_L3ANY);
	return a->dev == b->dev || a->mdev == b->dev || b->mdev == a->dev;
}

/* Is every ingress device pair of @a one of @b's? */
static bool dev_within(const struct ddemux_aset *a, const struct ddemux_aset *b)
{
	if (!b->dev) {
		if (a->dev ? a->mdev : (a->flags & DDEMUX_L3ANY))
			return b->flags & DDEMUX_L3ANY;
		return true;
	}
	return a->dev == b->dev || (a->dev && a->mdev == b->dev);
}

/**
 * ddemux_overlap - do two address sets share a packet address?
 * @a: one set (normalised)
 * @b: the other set (normalised)
 *
 * The sets are products of per-field sets, and a specific address always
 * lies in the set's only family, so the intersection is non-empty exactly
 * when every field intersects: same protocol and port, a common family,
 * compatible local and remote addresses, remote ports and devices
 * (dev_overlap()).
 */
bool ddemux_overlap(const struct ddemux_aset *a, const struct ddemux_aset *b)
{
	if (a->proto != b->proto || a->lport != b->lport)
		return false;
	if (!(a->fam & b->fam))
		return false;
	if (!dev_overlap(a, b))
		return false;
	if (!addr_match(&a->laddr, &b->laddr))
		return false;
	if (!addr_match(&a->raddr, &b->raddr))
		return false;
	if (a->rport && b->rport && a->rport != b->rport)
		return false;
	return true;
}

/**
 * ddemux_aset_equal - are @a and @b the same record, field for field?
 * @a: an address set
 * @b: another
 *
 * Equality of the record (addresses, ports, domain, device, state and
 * flags), not of the sets of packet addresses: the registry uses it to
 * tell a repeated claim from a new one.
 */
bool ddemux_aset_equal(const struct ddemux_aset *a, const struct ddemux_aset *b)
{
	return ipv6_addr_equal(&a->laddr, &b->laddr) &&
	       ipv6_addr_equal(&a->raddr, &b->raddr) &&
	       uid_eq(a->dom.uid, b->dom.uid) && a->dom.cgid == b->dom.cgid &&
	       a->dev == b->dev && a->mdev == b->mdev && a->lport == b->lport &&
	       a->rport == b->rport && a->proto == b->proto &&
	       a->fam == b->fam && a->state == b->state &&
	       a->flags == b->flags && a->part == b->part &&
	       a->parts == b->parts;
}

/**
 * ddemux_parts_overlap - do two sets of several local addresses overlap?
 * @a: the parts of one set
 * @na: how many (at least 1)
 * @b: the parts of the other
 * @nb: how many (at least 1)
 *
 * A set of several local addresses on one port (an SCTP socket's) is the
 * union of its parts, one local address each: two such sets overlap when
 * a part of one overlaps a part of the other.  The registry holds the
 * parts as entries of their own, so that each claim is judged part by
 * part; this is the definition that holds it to.
 */
bool ddemux_parts_overlap(const struct ddemux_aset *a, unsigned int na,
			  const struct ddemux_aset *b, unsigned int nb)
{
	unsigned int i, j;

	for (i = 0; i < na; i++)
		for (j = 0; j < nb; j++)
			if (ddemux_overlap(&a[i], &b[j]))
				return true;
	return false;
}

/**
 * ddemux_parts_within - is @set within one of @n parts?
 * @set: a set of one local address
 * @parts: the parts of a set of several
 * @n: how many
 *
 * A sufficient test, not a complete one (a set within the union of two
 * parts and within neither says false): the callers judge what it does
 * not vouch for.
 */
bool ddemux_parts_within(const struct ddemux_aset *set,
			 const struct ddemux_aset *parts, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (ddemux_aset_within(set, &parts[i]))
			return true;
	return false;
}

/**
 * ddemux_aset_within - is every packet address of @a also in @b?
 * @a: an address set (normalised)
 * @b: another
 *
 * The domains, states and flags other than those that shape the set are
 * not compared.  A change of a socket's set into one within its current
 * set cannot overlap anything the current one did not.
 */
bool ddemux_aset_within(const struct ddemux_aset *a,
			const struct ddemux_aset *b)
{
	if (a->proto != b->proto || a->lport != b->lport)
		return false;
	if (a->fam & ~b->fam)
		return false;
	if (!ipv6_addr_any(&b->laddr) && !ipv6_addr_equal(&a->laddr, &b->laddr))
		return false;
	if (!ipv6_addr_any(&b->raddr) && !ipv6_addr_equal(&a->raddr, &b->raddr))
		return false;
	if (b->rport && a->rport != b->rport)
		return false;
	return dev_within(a, b);
}

bool ddemux_same_domain(const struct ddemux_domain *a,
			const struct ddemux_domain *b, u8 domain_mask)
{
	if ((domain_mask & DDEMUX_DOM_UID) && !uid_eq(a->uid, b->uid))
		return false;
	if ((domain_mask & DDEMUX_DOM_CGROUP) && a->cgid != b->cgid)
		return false;
	return true;
}

/**
 * ddemux_decide - may @new coexist with the existing set @old?
 * @pol: the namespace's policy
 * @new: the set being claimed
 * @old: a set already held
 * @reason: out, why
 *
 * Same domain: ddemux has no objection and the kernel's own conflict
 * rules (which run after ours) decide, so single-domain behaviour is
 * exactly stock Linux.  A set on a group address: allowed, as every
 * member receives every datagram sent to the group.  Different domains
 * otherwise: refused unless a share rule covers the port and both
 * sockets opted in.  The mode then turns a refusal into an audited
 * allowance (audit) or nothing at all (off).
 */
enum ddemux_verdict ddemux_decide(const struct ddemux_policy *pol,
				  const struct ddemux_aset *new,
				  const struct ddemux_aset *old,
				  enum ddemux_reason *reason)
{
	if (!ddemux_overlap(new, old)) {
		*reason = DDEMUX_R_NO_OVERLAP;
		return DDEMUX_ALLOW;
	}
	if (ddemux_same_domain(&new->dom, &old->dom, pol->domain)) {
		*reason = DDEMUX_R_SAME_DOMAIN;
		return DDEMUX_ALLOW;
	}
	if ((new->flags | old->flags) & DDEMUX_GROUP) {
		*reason = DDEMUX_R_GROUP;
		return DDEMUX_ALLOW;
	}
	if (pol->shares && ddemux_shares_cover(pol->shares, new->proto,
					       new->lport)) {
		if ((new->flags & DDEMUX_OPTIN) && (old->flags & DDEMUX_OPTIN)) {
			*reason = DDEMUX_R_SHARED;
			return DDEMUX_ALLOW;
		}
		*reason = DDEMUX_R_NOT_OPTED_IN;
	} else {
		*reason = DDEMUX_R_CROSS_DOMAIN;
	}

	switch (pol->mode) {
	case DDEMUX_MODE_OFF:
		return DDEMUX_ALLOW;
	case DDEMUX_MODE_AUDIT:
		return DDEMUX_AUDIT;
	default:
		return DDEMUX_DENY;
	}
}

/**
 * ddemux_contains - is a packet address in an address set?
 * @set: the set (normalised)
 * @pa: the packet address; a zero @pa->dev means "any device"
 *
 * A wildcard set receives the namespace's own addresses only: not one
 * @pa->foreign says is none of them.
 * The device test is the kernel's inet_bound_dev_eq(), with
 * %DDEMUX_L3ANY as its l3mdev_accept.
 */
bool ddemux_contains(const struct ddemux_aset *set,
		     const struct ddemux_paddr *pa)
{
	if (set->proto != pa->proto || set->lport != pa->lport)
		return false;
	if (!(set->fam & pa->fam))
		return false;
	if (ipv6_addr_any(&set->laddr)) {
		if (pa->foreign)
			return false;
	} else if (!ipv6_addr_equal(&set->laddr, &pa->laddr)) {
		return false;
	}
	if (!ipv6_addr_any(&set->raddr) &&
	    !ipv6_addr_equal(&set->raddr, &pa->raddr))
		return false;
	if (set->rport && set->rport != pa->rport)
		return false;
	if (!pa->dev)
		return true;
	if (!set->dev)
		return !pa->sdif || (set->flags & DDEMUX_L3ANY);
	return set->dev == pa->dev || set->dev == pa->sdif;
}

/**
 * ddemux_reply_of - the address a reply to @out arrives at
 * @out: the outbound packet
 * @reply: out, the reply's packet address as its receiver sees it
 *
 * A reply swaps source and destination: it arrives at out's source
 * address and port (for echo: carries the request's ident) and comes
 * from out's destination.  The ingress device of the reply is unknown
 * (routing may be asymmetric), so it is left as "any".
 */
void ddemux_reply_of(const struct ddemux_pkt *out, struct ddemux_paddr *reply)
{
	memset(reply, 0, sizeof(*reply));
	reply->laddr = out->saddr;
	reply->raddr = out->daddr;
	reply->lport = out->sport;
	reply->rport = out->proto == DDEMUX_PING ? 0 : out->dport;
	reply->proto = out->proto;
	reply->fam = out->fam;
}

/* Rule 3: would the reply to @out be in the sender's own @set? */
bool ddemux_reply_in_set(const struct ddemux_pkt *out,
			 const struct ddemux_aset *set)
{
	struct ddemux_paddr reply;

	ddemux_reply_of(out, &reply);
	return ddemux_contains(set, &reply);
}

static int fmt_addr(char *buf, size_t size, const struct in6_addr *a, u8 fam)
{
	if (ipv6_addr_any(a)) {
		if (fam == DDEMUX_FAM_V4)
			return scnprintf(buf, size, "0.0.0.0");
		if (fam == DDEMUX_FAM_V6)
			return scnprintf(buf, size, "[::]");
		return scnprintf(buf, size, "*");
	}
	if (ipv6_addr_v4mapped(a))
		return scnprintf(buf, size, "%pI4", &a->s6_addr32[3]);
	return scnprintf(buf, size, "[%pI6c]", a);
}

/**
 * ddemux_aset_format - print a set for a log line
 * @s: the set
 * @buf: output
 * @size: size of @buf
 *
 * Prints "PROTO LOCAL:PORT REMOTE:PORT [dev=N]", where a dual-stack
 * wildcard is "*", the IPv4 and IPv6 wildcards are "0.0.0.0" and "[::]"
 * and an unconnected remote is "*:*".  Returns the length printed.
 */
int ddemux_aset_format(const struct ddemux_aset *s, char *buf, size_t size)
{
	int n;

	n = scnprintf(buf, size, "%s ", ddemux_proto_name(s->proto));
	n += ddemux_aset_format_local(s, buf + n, size - n);
	n += scnprintf(buf + n, size - n, " ");
	n += ddemux_aset_format_remote(s, buf + n, size - n);
	if (s->dev)
		n += scnprintf(buf + n, size - n, " dev=%d", s->dev);
	return n;
}

/* "LOCAL:PORT", the local half of ddemux_aset_format() */
int ddemux_aset_format_local(const struct ddemux_aset *s, char *buf,
			     size_t size)
{
	int n = fmt_addr(buf, size, &s->laddr, s->fam);

	return n + scnprintf(buf + n, size - n, ":%u", s->lport);
}

/* "REMOTE:PORT" with "*" for any, the remote half of ddemux_aset_format() */
int ddemux_aset_format_remote(const struct ddemux_aset *s, char *buf,
			      size_t size)
{
	int n;

	if (ipv6_addr_any(&s->raddr))
		n = scnprintf(buf, size, "*");
	else
		n = fmt_addr(buf, size, &s->raddr, s->fam);
	if (s->rport)
		return n + scnprintf(buf + n, size - n, ":%u", s->rport);
	return n + scnprintf(buf + n, size - n, ":*");
}

/* ---- share rules ---------------------------------------------------- */

static const char *const share_names[DDEMUX_SHARE_NPROTO] = {
	[DDEMUX_SHARE_TCP] = "tcp",
	[DDEMUX_SHARE_UDP] = "udp",
	[DDEMUX_SHARE_PING] = "ping",
	[DDEMUX_SHARE_SCTP] = "sctp",
	[DDEMUX_SHARE_DCCP] = "dccp",
};

static enum ddemux_share_proto share_space(enum ddemux_proto p)
{
	switch (p) {
	case DDEMUX_TCP:
		return DDEMUX_SHARE_TCP;
	case DDEMUX_PING:
		return DDEMUX_SHARE_PING;
	case DDEMUX_SCTP:
		return DDEMUX_SHARE_SCTP;
	case DDEMUX_DCCP:
		return DDEMUX_SHARE_DCCP;
	default:
		return DDEMUX_SHARE_UDP;	/* UDP and UDP-Lite */
	}
}

/* Binary search the sorted, disjoint ranges of one rule space. */
bool ddemux_shares_cover(const struct ddemux_shares *s, enum ddemux_proto p,
			 u16 port)
{
	enum ddemux_share_proto sp = share_space(p);
	unsigned int lo = 0, hi = s->nr[sp];

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct ddemux_port_range *r = &s->r[sp][mid];

		if (port < r->lo)
			hi = mid;
		else if (port > r->hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* Add [lo, hi], merging with every range it overlaps or touches. */
static int shares_add(struct ddemux_shares *s, enum ddemux_share_proto sp,
		      u16 lo, u16 hi)
{
	struct ddemux_port_range *r = s->r[sp];
	unsigned int n = s->nr[sp], i = 0, j;

	/* skip ranges entirely below, and not adjacent to, [lo, hi] */
	while (i < n && (u32)r[i].hi + 1 < lo)
		i++;
	/* absorb every range that overlaps or touches [lo, hi] */
	j = i;
	while (j < n && r[j].lo <= (u32)hi + 1) {
		lo = min(lo, r[j].lo);
		hi = max(hi, r[j].hi);
		j++;
	}
	if (i == j) {
		if (n == DDEMUX_SHARES_MAX)
			return -ENOSPC;
		memmove(&r[i + 1], &r[i], (n - i) * sizeof(*r));
		s->nr[sp] = n + 1;
	} else {
		memmove(&r[i + 1], &r[j], (n - j) * sizeof(*r));
		s->nr[sp] = n - (j - i) + 1;
	}
	r[i].lo = lo;
	r[i].hi = hi;
	return 0;
}

/* Remove [lo, hi]; -ENOENT if no port in it was shared. */
static int shares_del(struct ddemux_shares *s, enum ddemux_share_proto sp,
		      u16 lo, u16 hi)
{
	struct ddemux_port_range *r = s->r[sp];
	unsigned int n = s->nr[sp], i = 0, k;
	bool hit = false;

	while (i < n) {
		if (r[i].hi < lo || r[i].lo > hi) {
			i++;
			continue;
		}
		hit = true;
		if (r[i].lo < lo && r[i].hi > hi) {
			/* split in two */
			if (n == DDEMUX_SHARES_MAX)
				return -ENOSPC;
			memmove(&r[i + 1], &r[i], (n - i) * sizeof(*r));
			n++;
			r[i].hi = lo - 1;
			r[i + 1].lo = hi + 1;
			i += 2;
		} else if (r[i].lo < lo) {
			r[i++].hi = lo - 1;
		} else if (r[i].hi > hi) {
			r[i++].lo = hi + 1;
		} else {
			for (k = i; k + 1 < n; k++)
				r[k] = r[k + 1];
			n--;
		}
	}
	s->nr[sp] = n;
	return hit ? 0 : -ENOENT;
}

/* A port: 1 to 5 decimal digits, no sign, value 1..65535. */
static int parse_port(const char *t, size_t len, u16 *port)
{
	u32 v = 0;
	size_t i;

	if (!len || len > 5)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!isdigit(t[i]))
			return -EINVAL;
		v = v * 10 + (t[i] - '0');
	}
	if (!v || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

static int parse_range(const char *t, size_t len, u16 *lo, u16 *hi)
{
	const char *dash = memchr(t, '-', len);
	int err;

	if (!dash) {
		err = parse_port(t, len, lo);
		*hi = *lo;
		return err;
	}
	err = parse_port(t, dash - t, lo);
	if (!err)
		err = parse_port(dash + 1, len - (dash - t) - 1, hi);
	if (!err && *lo > *hi)
		err = -EINVAL;
	return err;
}

static bool tok_is(const char *t, size_t len, const char *word)
{
	return len == strlen(word) && !memcmp(t, word, len);
}

#define MAX_TOKENS 4

/* Split one line into at most MAX_TOKENS blank-separated tokens. */
static int tokenize(const char *line, size_t len, const char **tok,
		    size_t *tlen)
{
	size_t i = 0;
	int n = 0;

	while (i < len) {
		size_t start;

		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len)
			break;
		if (n == MAX_TOKENS)
			return -EINVAL;
		start = i;
		while (i < len && line[i] != ' ' && line[i] != '\t')
			i++;
		tok[n] = line + start;
		tlen[n] = i - start;
		n++;
	}
	return n;
}

static int apply_line(struct ddemux_shares *s, const char *line, size_t len)
{
	const char *tok[MAX_TOKENS];
	size_t tlen[MAX_TOKENS];
	enum ddemux_share_proto sp;
	size_t i = 0;
	bool add;
	u16 lo, hi;
	int n, err;

	while (i < len && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < len && line[i] == '#')
		return 0;	/* a comment, however many words */
	n = tokenize(line, len, tok, tlen);
	if (n <= 0)
		return n;	/* error or blank line */

	if (tok_is(tok[0], tlen[0], "flush")) {
		if (n != 1)
			return -EINVAL;
		memset(s->nr, 0, sizeof(s->nr));
		return 0;
	}
	if (tok_is(tok[0], tlen[0], "add"))
		add = true;
	else if (tok_is(tok[0], tlen[0], "del"))
		add = false;
	else
		return -EINVAL;
	if (n != 3)
		return -EINVAL;

	for (sp = 0; sp < DDEMUX_SHARE_NPROTO; sp++)
		if (tok_is(tok[1], tlen[1], share_names[sp]))
			break;
	if (sp == DDEMUX_SHARE_NPROTO)
		return -EINVAL;

	err = parse_range(tok[2], tlen[2], &lo, &hi);
	if (err)
		return err;
	return add ? shares_add(s, sp, lo, hi) : shares_del(s, sp, lo, hi);
}

/**
 * ddemux_shares_apply - apply the commands of one write() to @s
 * @s: a private copy of the rule set; changed even on error, so the
 *	caller publishes it only when this returns 0
 * @buf: the written bytes, not NUL-terminated
 * @len: their number
 *
 * One command per line: "add PROTO PORT[-PORT]", "del PROTO PORT[-PORT]"
 * or "flush", PROTO being tcp, udp, ping, sctp or dccp.  Blank lines and lines whose
 * first word starts with '#' are ignored, so the output of
 * ddemux_shares_format() can be written back.  Anything else -- an
 * unknown word, a stray argument, a port outside 1..65535, a control
 * character or a NUL byte -- is -EINVAL; more than DDEMUX_SHARES_MAX
 * ranges in a protocol is -ENOSPC; a "del" that removes nothing is
 * -ENOENT.
 */
int ddemux_shares_apply(struct ddemux_shares *s, const char *buf, size_t len)
{
	size_t i, start = 0;
	int err;

	if (!len || len > DDEMUX_SHARES_WRITE_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		unsigned char c = buf[i];

		if (c != '\n' && c != '\t' && (c < 0x20 || c > 0x7e))
			return -EINVAL;
	}
	for (i = 0; i <= len; i++) {
		if (i < len && buf[i] != '\n')
			continue;
		err = apply_line(s, buf + start, i - start);
		if (err < 0)
			return err;
		start = i + 1;
	}
	return 0;
}

/**
 * ddemux_shares_format - print the rules as the commands that create them
 * @s: the rules (may be NULL: none)
 * @buf: output, NUL-terminated
 * @size: size of @buf
 *
 * Returns the length, or -ENOSPC if @buf is too small.
 */
int ddemux_shares_format(const struct ddemux_shares *s, char *buf, size_t size)
{
	enum ddemux_share_proto sp;
	size_t n = 0;
	unsigned int i;

	if (!size)
		return -ENOSPC;
	buf[0] = '\0';
	if (!s)
		return 0;
	for (sp = 0; sp < DDEMUX_SHARE_NPROTO; sp++) {
		for (i = 0; i < s->nr[sp]; i++) {
			const struct ddemux_port_range *r = &s->r[sp][i];
			int w;

			if (r->lo == r->hi)
				w = snprintf(buf + n, size - n, "add %s %u\n",
					     share_names[sp], r->lo);
			else
				w = snprintf(buf + n, size - n, "add %s %u-%u\n",
					     share_names[sp], r->lo, r->hi);
			if ((size_t)w >= size - n)
				return -ENOSPC;
			n += w;
		}
	}
	return n;
}
