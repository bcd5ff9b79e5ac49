// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the address-set model -- ddemux_overlap(),
 * ddemux_contains(), ddemux_aset_within(), ddemux_reply_of()/
 * ddemux_reply_in_set(), ddemux_aset_from_view(), ddemux_decide() and the
 * set formatters.
 *
 * The input is read as a byte stream (exhausted: zeros).  Three address
 * sets are built the way ddemux_sk_aset() builds them from socket fields
 * -- ddemux_aset_set_local() (v6only forced for ICMPv6 echo), then
 * ddemux_aset_set_remote() if the socket is connected, DDEMUX_GROUP as
 * the hooks set it for a subnet broadcast, the device part as
 * ddemux_aset_set_dev() does, then ddemux_aset_normalise() -- from a
 * family, v6only, local and remote addresses drawn from a small pool
 * (wildcards, 10.0.0.x, loopback, v4-mapped, ::ffff:0.0.0.0, ::a.b.c.d,
 * 2001:db8::x, multicast, broadcast) or raw bytes, ports, a device of a
 * fixed topology (see struct topo_dev), l3mdev_accept, flags and a
 * domain.  Then one packet (proto, family, addresses, ports, ingress
 * pair (dif, sdif)) and a policy.  Properties (abort on violation):
 *
 *  - overlap is symmetric, and a non-empty set overlaps itself;
 *  - ddemux_contains() tests the device as the kernel's
 *    inet_bound_dev_eq(l3mdev_accept, bound_dev_if, dif, sdif), on every
 *    ingress pair of the topology, and ignores a ping set's remote;
 *  - soundness: a packet address contained in both sets means overlap
 *    (a packet on an unknown device, dif 0, stands for every pair);
 *  - completeness: when the sets overlap, a witness packet address built
 *    from them, on some ingress pair both sets accept, is in both;
 *  - ddemux_aset_within(): sound (within(a, b): every sample packet
 *    address in a is in b), reflexive, transitive (as a predicate, and on
 *    the samples), implies overlap for a non-empty set, and within both
 *    ways means the same packet addresses (the samples agree, and so do
 *    overlaps with the third set);
 *  - ddemux_reply_in_set(pkt, set) == ddemux_contains(set, reply_of(pkt)),
 *    and reply_of() swaps the packet as documented;
 *  - ddemux_aset_from_view() of the socket's fields (v6only its own
 *    flag, the state, inet_saddr, the device, the flags) is the set built
 *    from the parts; for ping the reply check ignores the remote (the
 *    egress fast path itself is checked against the model by the
 *    ddemux_fast KUnit suite, which builds real sockets);
 *  - DDEMUX_GROUP is set exactly for a multicast or limited broadcast
 *    local address (or by the hooks), and normalise() drops a ping set's
 *    remote;
 *  - ddemux_decide(): DENY only in enforce mode with overlap and
 *    different domains, AUDIT only in audit mode likewise, no overlap
 *    means ALLOW/no-overlap, a group set overlapping another domain's is
 *    ALLOW/group-address in every mode, a cross-domain overlap otherwise
 *    without an opted-in share rule is refused in enforce mode, and the
 *    verdict does not depend on which set is the new one;
 *  - the formatters return what they wrote and never write past the
 *    buffer: run into a large, an exactly-sized, a one-short and a 1-byte
 *    heap buffer (ASan), also for a set of raw bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kernel.h>
#include <linux/errno.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>

#include "ddemux.h"

static const uint8_t *g_data;
static size_t g_size;

static void dump_set(const char *name, const struct ddemux_aset *s)
{
	char buf[256];

	ddemux_aset_format(s, buf, sizeof(buf));
	fprintf(stderr, "  %s: %s fam=%u state=%u flags=%#x mdev=%d uid=%u cgid=%llu\n",
		name, buf, s->fam, s->state, s->flags, s->mdev, s->dom.uid.val,
		(unsigned long long)s->dom.cgid);
}

static const struct ddemux_aset *g_a, *g_b, *g_c;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_overlap: property violated: %s\n  ", #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		if (g_a)						\
			dump_set("a", g_a);				\
		if (g_b)						\
			dump_set("b", g_b);				\
		if (g_c)						\
			dump_set("c", g_c);				\
		fprintf(stderr, "  input: %zu bytes\n", g_size);	\
		abort();						\
	}								\
} while (0)

/* ---- the device topology ---------------------------------------------- */

/*
 * The devices a set may be bound to: none, ordinary devices 1 and 2, VRF
 * 10 with slaves 11 and 12, VRF 20 with slave 21; mdev as
 * l3mdev_master_ifindex_by_index() gives it (a VRF is its own master).
 */
static const struct topo_dev {
	int dev, mdev;
} topo_devs[8] = {
	{ 0, 0 }, { 1, 0 }, { 2, 0 }, { 10, 10 }, { 11, 10 }, { 12, 10 },
	{ 20, 20 }, { 21, 20 },
};

/*
 * The ingress pairs (dif, sdif) a packet can arrive with there: (D, 0) on
 * an ordinary device, (VRF, slave) on a slave, (VRF, VRF) looped back
 * inside the VRF.  Pair 0 is "unknown" (dif 0), which ddemux_contains()
 * takes as any device.
 */
#define NPAIRS 8
static const int pairs[NPAIRS][2] = {
	{ 0, 0 }, { 1, 0 }, { 2, 0 }, { 10, 11 }, { 10, 12 }, { 10, 10 },
	{ 20, 21 }, { 20, 20 },
};

/* include/net/inet_sock.h, the device test of every socket lookup */
static bool inet_bound_dev_eq(bool l3mdev_accept, int bound_dev_if, int dif,
			      int sdif)
{
	if (!bound_dev_if)
		return !sdif || l3mdev_accept;
	return bound_dev_if == dif || bound_dev_if == sdif;
}

static void set_pair(struct ddemux_paddr *pa, int p)
{
	pa->dev = pairs[p][0];
	pa->sdif = pairs[p][1];
}

/* ---- input decoding -------------------------------------------------- */

struct rd {
	const uint8_t *p;
	size_t n;
};

static uint8_t rd8(struct rd *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t rd16(struct rd *r)
{
	uint16_t hi = rd8(r);

	return (uint16_t)(hi << 8 | rd8(r));
}

static uint32_t rd32(struct rd *r)
{
	uint32_t hi = rd16(r);

	return hi << 16 | rd16(r);
}

static __be32 v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return cpu_to_be32((u32)a << 24 | (u32)b << 16 | (u32)c << 8 | d);
}

static void mapped(struct in6_addr *a, __be32 x)
{
	memset(a, 0, sizeof(*a));
	a->s6_addr[10] = 0xff;
	a->s6_addr[11] = 0xff;
	a->s6_addr32[3] = x;
}

static void v6_2001db8(struct in6_addr *a, uint8_t hi, uint8_t lo)
{
	memset(a, 0, sizeof(*a));
	a->s6_addr[0] = 0x20;
	a->s6_addr[1] = 0x01;
	a->s6_addr[2] = 0x0d;
	a->s6_addr[3] = 0xb8;
	a->s6_addr[14] = hi;
	a->s6_addr[15] = lo;
}

/*
 * One address for a socket or packet of @family: @v4a for AF_INET,
 * @v6a for AF_INET6 (the other one is set to something plausible, as the
 * module passes both fields of the socket).
 */
static void dec_addr(struct rd *r, int family, __be32 *v4a,
		     struct in6_addr *v6a)
{
	uint8_t sel = rd8(r), k = (uint8_t)(1 + (sel / 10) % 3);

	*v4a = 0;
	memset(v6a, 0, sizeof(*v6a));
	switch (sel % 10) {
	case 0:			/* wildcard: 0.0.0.0 or :: */
		break;
	case 1:			/* 10.0.0.k, mapped for AF_INET6 */
		*v4a = v4(10, 0, 0, k);
		mapped(v6a, *v4a);
		break;
	case 2:			/* loopback */
		*v4a = v4(127, 0, 0, 1);
		if (family == AF_INET)
			mapped(v6a, *v4a);
		else
			v6a->s6_addr[15] = 1;
		break;
	case 3:			/* ::ffff:0.0.0.0; AF_INET: raw */
		if (family == AF_INET)
			*v4a = rd32(r);
		else
			mapped(v6a, 0);
		break;
	case 4:			/* 2001:db8::k; AF_INET: 10.0.0.k */
		if (family == AF_INET)
			*v4a = v4(10, 0, 0, k);
		else
			v6_2001db8(v6a, 0, k);
		break;
	case 5:			/* ::ffff:raw */
		*v4a = rd32(r);
		mapped(v6a, *v4a);
		break;
	case 6:			/* raw 16 bytes; AF_INET: raw 4 */
		if (family == AF_INET) {
			*v4a = rd32(r);
		} else {
			int i;

			for (i = 0; i < 16; i++)
				v6a->s6_addr[i] = rd8(r);
		}
		break;
	case 7:			/* ::10.0.0.k (v4-compatible); 255.255.255.255 */
		if (family == AF_INET)
			*v4a = v4(255, 255, 255, 255);
		else
			v6a->s6_addr32[3] = v4(10, 0, 0, k);
		break;
	case 8:			/* a group: 239.1.2.k; ff02::fb, ::ffff:239.1.2.2, ff05::1:3 */
		*v4a = v4(239, 1, 2, k);
		if (family == AF_INET) {
			mapped(v6a, *v4a);
		} else if (k == 2) {
			mapped(v6a, *v4a);
		} else {
			v6a->s6_addr[0] = 0xff;
			v6a->s6_addr[1] = k == 1 ? 0x02 : 0x05;
			v6a->s6_addr[13] = k == 1 ? 0 : 1;
			v6a->s6_addr[15] = k == 1 ? 0xfb : 3;
		}
		break;
	default:		/* 10.0.0.255 (a subnet broadcast); ::ffff:255.255.255.255 */
		if (family == AF_INET) {
			*v4a = v4(10, 0, 0, 255);
		} else {
			*v4a = v4(255, 255, 255, 255);
			mapped(v6a, *v4a);
		}
		break;
	}
}

/* A port from a small pool (likely to collide) or raw. */
static u16 dec_port(struct rd *r, bool allow0)
{
	uint8_t sel = rd8(r);

	if (sel >= 0xf0)
		return rd16(r);
	if (allow0 && sel % 5 == 4)
		return 0;
	return (u16)(50 + sel % 4);
}

static bool mapped_any(const struct in6_addr *a)
{
	return ipv6_addr_v4mapped(a) && !a->s6_addr32[3];
}

/* The family bit of a specific address. */
static u8 fam_of(const struct in6_addr *a)
{
	return ipv6_addr_v4mapped(a) ? DDEMUX_FAM_V4 : DDEMUX_FAM_V6;
}

/* Multicast, or 255.255.255.255; from the bytes, not the kernel helpers. */
static bool is_group(const struct in6_addr *a)
{
	if (ipv6_addr_any(a))
		return false;
	if (ipv6_addr_v4mapped(a))
		return (a->s6_addr[12] & 0xf0) == 0xe0 ||
		       (a->s6_addr[12] == 0xff && a->s6_addr[13] == 0xff &&
			a->s6_addr[14] == 0xff && a->s6_addr[15] == 0xff);
	return a->s6_addr[0] == 0xff;
}

/*
 * ddemux_aset_normalise() only canonicalises: ::ffff:0.0.0.0 becomes the
 * wildcard, a specific address narrows the families to its own, ping
 * loses its remote.  Nothing else changes, and it is idempotent.
 */
static void check_normalised(const struct ddemux_aset *pre,
			     const struct ddemux_aset *s)
{
	struct ddemux_aset again = *s;
	bool ping = s->proto == DDEMUX_PING;

	CHECK(s->proto == pre->proto && s->lport == pre->lport &&
	      s->dev == pre->dev && s->mdev == pre->mdev &&
	      s->state == pre->state &&
	      s->flags == pre->flags && uid_eq(s->dom.uid, pre->dom.uid) &&
	      s->dom.cgid == pre->dom.cgid,
	      "normalise changed a field it has no business with");
	CHECK(s->rport == (ping ? 0 : pre->rport),
	      "normalise: rport %u -> %u (proto %u)", pre->rport, s->rport,
	      s->proto);
	CHECK(ipv6_addr_equal(&s->laddr, &pre->laddr) ||
	      (mapped_any(&pre->laddr) && ipv6_addr_any(&s->laddr)),
	      "normalise changed the local address");
	CHECK(ping ? ipv6_addr_any(&s->raddr) :
	      ipv6_addr_equal(&s->raddr, &pre->raddr) ||
	      (mapped_any(&pre->raddr) && ipv6_addr_any(&s->raddr)),
	      "normalise changed the remote address, or kept a ping remote");
	CHECK(!mapped_any(&s->laddr) && !mapped_any(&s->raddr),
	      "normalise left ::ffff:0.0.0.0");
	CHECK(!(s->fam & ~pre->fam), "normalise widened fam %u -> %u",
	      pre->fam, s->fam);
	CHECK(s->fam == (pre->fam &
			 (ipv6_addr_any(&s->laddr) ? 0xff : fam_of(&s->laddr)) &
			 (ipv6_addr_any(&s->raddr) ? 0xff : fam_of(&s->raddr))),
	      "fam %u -> %u, not narrowed to the specific addresses' families",
	      pre->fam, s->fam);
	ddemux_aset_normalise(&again);
	CHECK(ddemux_aset_equal(&again, s), "normalise is not idempotent");
}

/*
 * The documented mapping from socket fields (ddemux_aset_set_local's
 * kernel-doc): AF_INET, or AF_INET6 bound to a v4-mapped address,
 * receives IPv4 only, the address stored mapped (0.0.0.0: all-zero);
 * AF_INET6 on :: receives IPv6, and IPv4 too unless v6only; any other
 * IPv6 address, IPv6 only.  A group address sets DDEMUX_GROUP, any other
 * clears it, and no other flag changes.
 */
static void check_set_local(int family, __be32 v4a, const struct in6_addr *v6a,
			    bool v6only, u8 flags_before,
			    const struct ddemux_aset *s)
{
	struct in6_addr want;
	u8 fam;

	if (family == AF_INET || ipv6_addr_v4mapped(v6a)) {
		__be32 x = family == AF_INET ? v4a : v6a->s6_addr32[3];

		fam = DDEMUX_FAM_V4;
		if (x)
			mapped(&want, x);
		else
			memset(&want, 0, sizeof(want));
	} else if (ipv6_addr_any(v6a)) {
		fam = v6only ? DDEMUX_FAM_V6 : DDEMUX_FAM_DUAL;
		memset(&want, 0, sizeof(want));
	} else {
		fam = DDEMUX_FAM_V6;
		want = *v6a;
	}
	CHECK(s->fam == fam && ipv6_addr_equal(&s->laddr, &want),
	      "set_local(family %d, v6only %d): fam %u, expected %u", family,
	      v6only, s->fam, fam);
	CHECK(s->flags == ((flags_before & ~DDEMUX_GROUP) |
			   (is_group(&want) ? DDEMUX_GROUP : 0)),
	      "set_local: flags %#x -> %#x, group address %d", flags_before,
	      s->flags, is_group(&want));
}

static void check_set_remote(int family, __be32 v4a, const struct in6_addr *v6a,
			     u16 port, const struct ddemux_aset *s)
{
	struct in6_addr want;

	if (family == AF_INET || ipv6_addr_v4mapped(v6a)) {
		__be32 x = family == AF_INET ? v4a : v6a->s6_addr32[3];

		if (x)
			mapped(&want, x);
		else
			memset(&want, 0, sizeof(want));
	} else {
		want = *v6a;
	}
	CHECK(ipv6_addr_equal(&s->raddr, &want) && s->rport == port,
	      "set_remote(family %d) stored another address or port", family);
}

/*
 * The same socket's fields, as ddemux_sk_view() reads them (v6only the
 * socket's own flag), for ddemux_aset_from_view().
 */
struct sock_fields {
	struct ddemux_sock_view sv;
	struct in6_addr l6, r6;
};

/* As ddemux_sk_aset() does it, from socket-like fields. */
static void dec_set(struct rd *r, struct ddemux_aset *s,
		    struct sock_fields *sf)
{
	uint8_t f = rd8(r), o = rd8(r), x;
	int family = (f & 1) ? AF_INET6 : AF_INET;
	bool v6only = f & 2, connected = f & 4;
	const struct topo_dev *td;
	struct ddemux_aset pre;
	struct in6_addr v6a;
	__be32 v4a;

	memset(s, 0, sizeof(*s));
	s->proto = (u8)(rd8(r) % DDEMUX_NPROTO);
	s->lport = dec_port(r, false);
	/* device, l3mdev_accept, the hooks' broadcast mark */
	x = rd8(r);
	td = &topo_devs[x % 8];
	dec_addr(r, family, &v4a, &v6a);
	memset(sf, 0, sizeof(*sf));
	sf->sv.v6only = v6only;
	/* ping_lookup() matches the family: ICMPv6 echo is IPv6 only */
	if (s->proto == DDEMUX_PING && family == AF_INET6)
		v6only = true;
	if (o & 0x80)	/* a stale mark, which set_local() must clear */
		s->flags |= DDEMUX_GROUP;
	pre = *s;
	ddemux_aset_set_local(s, family, v4a, &v6a, v6only);
	check_set_local(family, v4a, &v6a, v6only, pre.flags, s);
	sf->sv.family = family;
	sf->sv.proto = s->proto;
	sf->sv.lport = s->lport;
	sf->sv.v4_rcv_saddr = v4a;
	sf->sv.v4_saddr = (x & 0x10) ? 0 : v4a;
	sf->sv.state = TCP_CLOSE;
	sf->l6 = v6a;
	sf->sv.v6_rcv_saddr = &sf->l6;
	sf->sv.v6_daddr = &sf->r6;
	if (connected) {
		u16 rport = dec_port(r, true);

		dec_addr(r, family, &v4a, &v6a);
		ddemux_aset_set_remote(s, family, v4a, &v6a, rport);
		check_set_remote(family, v4a, &v6a, rport, s);
		s->state = DDEMUX_CONNECTED;
		sf->sv.state = TCP_ESTABLISHED;
		sf->sv.rport = rport;
		sf->sv.v4_daddr = v4a;
		sf->r6 = v6a;
	} else if ((f & 8) && s->proto == DDEMUX_TCP) {
		s->state = DDEMUX_LISTEN;
		sf->sv.state = TCP_LISTEN;
	}
	/* the hooks: an unconnected AF_INET socket whose inet_saddr is 0 */
	if ((x & 0x10) && !connected && family == AF_INET &&
	    sf->sv.v4_rcv_saddr)
		s->flags |= DDEMUX_GROUP;
	if (f & 0x10)
		s->flags |= DDEMUX_REUSEADDR;
	if (f & 0x20)
		s->flags |= DDEMUX_REUSEPORT;
	if (f & 0x40)
		s->flags |= DDEMUX_KERNEL;
	if (f & 0x80)
		s->flags |= DDEMUX_CHILD;
	/*
	 * ddemux_aset_set_dev(): l3mdev_accept for an unbound set (always
	 * for ping); with 0x20 also on a bound set, which the hooks never
	 * do and the model must ignore.
	 */
	s->dev = td->dev;
	s->mdev = td->mdev;
	sf->sv.bound_dev = td->dev;
	sf->sv.flags = s->flags & (DDEMUX_OPTIN | DDEMUX_KERNEL);
	if ((!s->dev && ((x & 8) || s->proto == DDEMUX_PING)) || (x & 0x20))
		s->flags |= DDEMUX_L3ANY;
	s->dom.uid = KUIDT_INIT(1000 + o % 3);
	s->dom.cgid = (o >> 2) % 3;
	pre = *s;
	ddemux_aset_normalise(s);
	check_normalised(&pre, s);
}

/* An outbound packet, as ddemux_egress.c parses one, and an ingress pair. */
static void dec_pkt(struct rd *r, struct ddemux_pkt *pkt, int *pair)
{
	uint8_t f = rd8(r);
	int family = (f & 1) ? AF_INET6 : AF_INET;
	struct in6_addr v6a;
	__be32 v4a;

	memset(pkt, 0, sizeof(*pkt));
	pkt->proto = (u8)((f >> 1) % DDEMUX_NPROTO);
	pkt->fam = family == AF_INET ? DDEMUX_FAM_V4 : DDEMUX_FAM_V6;
	dec_addr(r, family, &v4a, &v6a);
	if (family == AF_INET)
		ddemux_addr_set_v4(&pkt->saddr, v4a);
	else
		pkt->saddr = v6a;
	dec_addr(r, family, &v4a, &v6a);
	if (family == AF_INET)
		ddemux_addr_set_v4(&pkt->daddr, v4a);
	else
		pkt->daddr = v6a;
	pkt->sport = dec_port(r, true);
	pkt->dport = dec_port(r, true);
	*pair = rd8(r) % NPAIRS;
}

/* ---- properties ------------------------------------------------------- */

static void default_addr(struct in6_addr *a, u8 fam, u8 k)
{
	if (fam == DDEMUX_FAM_V4)
		mapped(a, v4(192, 0, 2, k));
	else
		v6_2001db8(a, 0x99, k);
}

/*
 * ddemux_contains() is the field test plus the kernel's device test,
 * with DDEMUX_L3ANY as l3mdev_accept; an unknown device is any.  A ping
 * set's remote is never looked at.
 */
static void check_contains(const struct ddemux_aset *s,
			   const struct ddemux_paddr *pa0)
{
	struct ddemux_paddr pa = *pa0;
	bool fields;
	int p;

	pa.dev = 0;
	pa.sdif = 0;
	fields = ddemux_contains(s, &pa);
	for (p = 1; p < NPAIRS; p++) {
		bool want;

		set_pair(&pa, p);
		want = fields && inet_bound_dev_eq(s->flags & DDEMUX_L3ANY,
						   s->dev, pa.dev, pa.sdif);
		CHECK(ddemux_contains(s, &pa) == want,
		      "contains on (dif %d, sdif %d): %d, inet_bound_dev_eq says %d",
		      pa.dev, pa.sdif, !want, want);
	}
	if (s->proto == DDEMUX_PING) {
		pa = *pa0;
		default_addr(&pa.raddr, pa.fam, 77);
		pa.rport = 7777;
		CHECK(ddemux_contains(s, &pa) == ddemux_contains(s, pa0),
		      "a ping set looks at the remote");
	}
}

/* A packet address in both @a and @b means they overlap. */
static void check_sound(const struct ddemux_aset *a, const struct ddemux_aset *b,
			const struct ddemux_paddr *pa0, const char *what)
{
	bool ov = ddemux_overlap(a, b);
	struct ddemux_paddr pa = *pa0;
	int p;

	/* an unknown device stands for every pair */
	for (p = pa0->dev ? 0 : 1; p < (pa0->dev ? 1 : NPAIRS); p++) {
		if (!pa0->dev)
			set_pair(&pa, p);
		if (!ddemux_contains(a, &pa) || !ddemux_contains(b, &pa))
			continue;
		CHECK(ov, "%s (proto %u fam %u port %u<-%u dif %d sdif %d) is in both sets, yet no overlap",
		      what, pa.proto, pa.fam, pa.lport, pa.rport, pa.dev,
		      pa.sdif);
	}
}

/*
 * A packet address with the sets' fields, defaults where both have a
 * wildcard, and the family they share (@fam, 0: the first common one).
 */
static void witness(const struct ddemux_aset *a, const struct ddemux_aset *b,
		    u8 fam, struct ddemux_paddr *w)
{
	u8 common = a->fam & b->fam;

	memset(w, 0, sizeof(*w));
	w->proto = a->proto;
	w->lport = a->lport;
	w->fam = fam ? fam : (common & DDEMUX_FAM_V4) ? DDEMUX_FAM_V4 :
						      DDEMUX_FAM_V6;
	if (!ipv6_addr_any(&a->laddr))
		w->laddr = a->laddr;
	else if (!ipv6_addr_any(&b->laddr))
		w->laddr = b->laddr;
	else
		default_addr(&w->laddr, w->fam, 1);
	if (!ipv6_addr_any(&a->raddr))
		w->raddr = a->raddr;
	else if (!ipv6_addr_any(&b->raddr))
		w->raddr = b->raddr;
	else
		default_addr(&w->raddr, w->fam, 2);
	w->rport = a->rport ? a->rport : b->rport ? b->rport : 4242;
}

/*
 * Overlapping sets have a packet address in common: build one, on an
 * ingress pair both accept.
 */
static void check_complete(const struct ddemux_aset *a,
			   const struct ddemux_aset *b)
{
	struct ddemux_paddr w;
	int p;

	if (!ddemux_overlap(a, b))
		return;
	CHECK(a->fam & b->fam, "overlap without a common family");
	witness(a, b, 0, &w);
	CHECK(ddemux_contains(a, &w) && ddemux_contains(b, &w),
	      "the sets overlap but the witness (fam %u, port %u<-%u) is in a: %d, b: %d",
	      w.fam, w.lport, w.rport, ddemux_contains(a, &w),
	      ddemux_contains(b, &w));
	for (p = 1; p < NPAIRS; p++) {
		set_pair(&w, p);
		if (inet_bound_dev_eq(a->flags & DDEMUX_L3ANY, a->dev, w.dev,
				      w.sdif) &&
		    inet_bound_dev_eq(b->flags & DDEMUX_L3ANY, b->dev, w.dev,
				      w.sdif)) {
			CHECK(ddemux_contains(a, &w) && ddemux_contains(b, &w),
			      "the witness on (dif %d, sdif %d) is in a: %d, b: %d",
			      w.dev, w.sdif, ddemux_contains(a, &w),
			      ddemux_contains(b, &w));
			return;
		}
	}
	CHECK(0, "the sets overlap but no ingress pair is in both");
}

/* ---- within ------------------------------------------------------------- */

#define NSAMPLES 512

struct samples {
	struct ddemux_paddr pa[NSAMPLES];
	int n;
};

static void add_sample(struct samples *sm, const struct ddemux_paddr *pa)
{
	if (sm->n < NSAMPLES)
		sm->pa[sm->n++] = *pa;
}

/*
 * Packet addresses in @x: of its protocol and port, local and remote
 * addresses from the sets (where specific) or defaults of either family,
 * remote ports from the sets or a default, on every ingress pair; and
 * the extra packet addresses on every pair, where they are in @x.
 */
static void gen_samples(const struct ddemux_aset *const *sets, int nsets,
			const struct ddemux_aset *x,
			const struct ddemux_paddr *extra, int nextra,
			struct samples *sm)
{
	struct in6_addr addrs[8];
	u16 rports[4];
	int na = 0, nr = 0, i, j, k, p;

	for (i = 0; i < nsets; i++) {
		if (!ipv6_addr_any(&sets[i]->laddr) && na < 6)
			addrs[na++] = sets[i]->laddr;
		if (!ipv6_addr_any(&sets[i]->raddr) && na < 6)
			addrs[na++] = sets[i]->raddr;
		if (sets[i]->rport && nr < 3)
			rports[nr++] = sets[i]->rport;
	}
	default_addr(&addrs[na++], DDEMUX_FAM_V4, 5);
	default_addr(&addrs[na++], DDEMUX_FAM_V6, 5);
	rports[nr++] = 4242;

	sm->n = 0;
	for (i = 0; i < nextra; i++) {
		struct ddemux_paddr pa = extra[i];

		for (p = 0; p < NPAIRS; p++) {
			set_pair(&pa, p);
			if (ddemux_contains(x, &pa))
				add_sample(sm, &pa);
		}
	}
	for (i = 0; i < na; i++) {
		u8 fam = fam_of(&addrs[i]);

		if (!(x->fam & fam))
			continue;
		for (j = 0; j < na; j++) {
			if (fam_of(&addrs[j]) != fam)
				continue;
			for (k = 0; k < nr; k++) {
				struct ddemux_paddr pa = { };

				pa.proto = x->proto;
				pa.lport = x->lport;
				pa.fam = fam;
				pa.laddr = addrs[i];
				pa.raddr = addrs[j];
				pa.rport = rports[k];
				for (p = 0; p < NPAIRS; p++) {
					set_pair(&pa, p);
					if (ddemux_contains(x, &pa))
						add_sample(sm, &pa);
				}
			}
		}
	}
}

/*
 * within(a, b) is sound on the samples of a (@sa), transitive through c,
 * and implies overlap; within both ways means the same packet addresses
 * (b's samples, @sb, are in a, and the overlaps agree).
 */
static void check_within(const struct ddemux_aset *a, const struct ddemux_aset *b,
			 const struct ddemux_aset *c, const struct samples *sa,
			 const struct samples *sb)
{
	bool ab = ddemux_aset_within(a, b), ba = ddemux_aset_within(b, a);
	bool bc = ddemux_aset_within(b, c), ac = ddemux_aset_within(a, c);
	const struct ddemux_aset *sets[3] = { a, b, c };
	int i;

	CHECK(!a->fam || ddemux_aset_within(a, a), "a non-empty set not within itself");
	if (ab && a->fam)
		CHECK(ddemux_overlap(a, b), "within, non-empty, yet no overlap");
	if (ab && bc)
		CHECK(ac, "within is not transitive");
	if (!ab)
		return;
	for (i = 0; i < sa->n; i++) {
		const struct ddemux_paddr *pa = &sa->pa[i];

		CHECK(ddemux_contains(b, pa),
		      "within, but a sample (fam %u port %u<-%u dif %d sdif %d) in a is not in b",
		      pa->fam, pa->lport, pa->rport, pa->dev, pa->sdif);
		if (bc)
			CHECK(ddemux_contains(c, pa),
			      "within a b, b c: a sample (fam %u dif %d sdif %d) in a is not in c",
			      pa->fam, pa->dev, pa->sdif);
	}
	if (!ba)
		return;
	for (i = 0; i < sb->n; i++)
		CHECK(ddemux_contains(a, &sb->pa[i]),
		      "within both ways, yet a sample of b is not in a");
	for (i = 0; i < 3; i++)
		CHECK(ddemux_overlap(a, sets[i]) == ddemux_overlap(b, sets[i]),
		      "within both ways, yet overlap with set %d differs", i);
}

/* ---- replies ------------------------------------------------------------ */

static void check_reply(const struct ddemux_pkt *pkt,
			const struct ddemux_aset *s)
{
	struct ddemux_paddr rep;

	ddemux_reply_of(pkt, &rep);
	CHECK(ipv6_addr_equal(&rep.laddr, &pkt->saddr) &&
	      ipv6_addr_equal(&rep.raddr, &pkt->daddr) &&
	      rep.lport == pkt->sport &&
	      rep.rport == (pkt->proto == DDEMUX_PING ? 0 : pkt->dport) &&
	      rep.proto == pkt->proto && rep.fam == pkt->fam && rep.dev == 0 &&
	      rep.sdif == 0,
	      "reply_of does not swap the packet");
	CHECK(ddemux_reply_in_set(pkt, s) == ddemux_contains(s, &rep),
	      "reply_in_set %d, contains(reply_of) %d",
	      ddemux_reply_in_set(pkt, s), ddemux_contains(s, &rep));
}

/*
 * ddemux_aset_from_view(), the one definition of a socket's set that the
 * registry and rule 3 share, gives the set built here from its parts
 * (the VRF, l3mdev_accept, the child mark and the domain are the
 * caller's); for ping, the reply check looks at no remote.
 */
static void check_view(const struct ddemux_pkt *pkt,
		       const struct sock_fields *sf,
		       const struct ddemux_aset *s)
{
	bool in_set = ddemux_reply_in_set(pkt, s);
	struct ddemux_aset got;
	struct ddemux_pkt q;

	ddemux_aset_from_view(&sf->sv, &got);
	got.mdev = s->mdev;
	got.flags |= s->flags & (DDEMUX_L3ANY | DDEMUX_CHILD);
	got.dom = s->dom;
	CHECK(!memcmp(&got, s, sizeof(got)),
	      "aset_from_view() builds another set than its parts");
	if (s->proto != DDEMUX_PING)
		return;

	/* another peer, another destination */
	q = *pkt;
	default_addr(&q.daddr, q.fam, 99);
	q.dport ^= 0x5a5a;
	CHECK(ddemux_reply_in_set(&q, s) == in_set,
	      "ping: the reply check looks at the remote");
}

/*
 * Rule 3 never stops a socket's own traffic: a packet from the set's
 * local address and port to its remote (any, where the set has a
 * wildcard) gets its reply back into the set.
 */
static void check_own_reply(const struct ddemux_aset *s)
{
	struct ddemux_pkt out;

	if (!s->fam)
		return;		/* the empty set (e.g. v6only connected to v4) */
	memset(&out, 0, sizeof(out));
	out.proto = s->proto;
	out.fam = (s->fam & DDEMUX_FAM_V6) ? DDEMUX_FAM_V6 : DDEMUX_FAM_V4;
	if (ipv6_addr_any(&s->laddr))
		default_addr(&out.saddr, out.fam, 3);
	else
		out.saddr = s->laddr;
	if (ipv6_addr_any(&s->raddr))
		default_addr(&out.daddr, out.fam, 4);
	else
		out.daddr = s->raddr;
	out.sport = s->lport;
	out.dport = s->rport ? s->rport : 33333;
	CHECK(ddemux_reply_in_set(&out, s),
	      "the reply to the set's own packet (fam %u) is not in it", out.fam);
}

/* ---- decisions ---------------------------------------------------------- */

static void check_decide(const struct ddemux_policy *pol,
			 const struct ddemux_aset *n, const struct ddemux_aset *o)
{
	enum ddemux_reason reason, reason2;
	enum ddemux_verdict v, v2;
	bool ov = ddemux_overlap(n, o);
	bool same = ddemux_same_domain(&n->dom, &o->dom, pol->domain);
	bool cover = pol->shares &&
		     ddemux_shares_cover(pol->shares, n->proto, n->lport);
	bool optin = (n->flags & DDEMUX_OPTIN) && (o->flags & DDEMUX_OPTIN);
	bool group = (n->flags | o->flags) & DDEMUX_GROUP;

	CHECK(same == ddemux_same_domain(&o->dom, &n->dom, pol->domain),
	      "same_domain is not symmetric");
	v = ddemux_decide(pol, n, o, &reason);
	CHECK(v == DDEMUX_ALLOW || v == DDEMUX_AUDIT || v == DDEMUX_DENY,
	      "verdict %d", v);
	CHECK((unsigned int)reason < DDEMUX_R_NREASONS &&
	      strcmp(ddemux_reason_name(reason), "?"), "reason %d", reason);
	if (v == DDEMUX_DENY)
		CHECK(pol->mode == DDEMUX_MODE_ENFORCE && ov && !same && !group,
		      "DENY with mode %u, overlap %d, same domain %d, group %d",
		      pol->mode, ov, same, group);
	if (v == DDEMUX_AUDIT)
		CHECK(pol->mode == DDEMUX_MODE_AUDIT && ov && !same && !group,
		      "AUDIT with mode %u, overlap %d, same domain %d, group %d",
		      pol->mode, ov, same, group);
	CHECK(ov || (v == DDEMUX_ALLOW && reason == DDEMUX_R_NO_OVERLAP),
	      "no overlap, yet verdict %d reason %s", v,
	      ddemux_reason_name(reason));
	CHECK(!ov || reason != DDEMUX_R_NO_OVERLAP,
	      "overlap, yet reason no-overlap");
	if (ov && !same && group)
		CHECK(v == DDEMUX_ALLOW && reason == DDEMUX_R_GROUP,
		      "a group set overlapping another domain's: verdict %d reason %s",
		      v, ddemux_reason_name(reason));
	if (reason == DDEMUX_R_GROUP)
		CHECK(group && ov && !same, "reason group-address for group %d", group);
	if (ov && !same && !group && !(cover && optin))
		CHECK(v == (pol->mode == DDEMUX_MODE_ENFORCE ? DDEMUX_DENY :
			    pol->mode == DDEMUX_MODE_AUDIT ? DDEMUX_AUDIT :
			    DDEMUX_ALLOW),
		      "cross-domain overlap without an opted-in share rule: verdict %d in mode %u",
		      v, pol->mode);
	if (reason == DDEMUX_R_SHARED)
		CHECK(cover && optin && v == DDEMUX_ALLOW,
		      "shared without a rule (%d) or opt-in (%d)", cover, optin);

	/* which of the two came first does not matter */
	v2 = ddemux_decide(pol, o, n, &reason2);
	CHECK(v == v2 && reason == reason2,
	      "decide(new, old) = %d/%s but decide(old, new) = %d/%s", v,
	      ddemux_reason_name(reason), v2, ddemux_reason_name(reason2));
}

typedef int (*fmt_fn)(const struct ddemux_aset *, char *, size_t);

/* Large, exact, one-short, 1-byte and 0-byte heap buffers. */
static int check_fmt(fmt_fn fn, const char *name, const struct ddemux_aset *s,
		     char *text, size_t text_size)
{
	char *buf;
	int n, r;

	n = fn(s, text, text_size);
	CHECK(n >= 0 && (size_t)n < text_size && strlen(text) == (size_t)n,
	      "%s returned %d for %zu characters", name, n, strlen(text));

	buf = malloc((size_t)n + 1);
	if (!buf)
		abort();
	r = fn(s, buf, (size_t)n + 1);
	CHECK(r == n && !strcmp(buf, text),
	      "%s into %d bytes: %d \"%s\", not \"%s\"", name, n + 1, r, buf,
	      text);
	free(buf);
	if (n > 0) {
		buf = malloc((size_t)n);
		if (!buf)
			abort();
		r = fn(s, buf, (size_t)n);
		CHECK(r == n - 1 && strlen(buf) == (size_t)(n - 1) &&
		      !strncmp(buf, text, (size_t)(n - 1)),
		      "%s into %d bytes (one short): %d", name, n, r);
		free(buf);
	}
	buf = malloc(1);
	if (!buf)
		abort();
	r = fn(s, buf, 1);
	CHECK(r == 0 && buf[0] == '\0', "%s into 1 byte: %d", name, r);
	r = fn(s, buf, 0);
	CHECK(r == 0, "%s into 0 bytes: %d", name, r);
	free(buf);
	return n;
}

static void check_format(const struct ddemux_aset *s)
{
	char all[512], local[256], remote[256], want[1100];

	CHECK(ddemux_addr_any(&s->laddr) == ipv6_addr_any(&s->laddr) &&
	      ddemux_addr_is_v4(&s->laddr) == ipv6_addr_v4mapped(&s->laddr),
	      "ddemux_addr_any/ddemux_addr_is_v4");
	CHECK(!strcmp(ddemux_state_name(s->state), "?") ==
	      (s->state > DDEMUX_CONNECTED), "state name of %u", s->state);
	check_fmt(ddemux_aset_format, "aset_format", s, all, sizeof(all));
	check_fmt(ddemux_aset_format_local, "aset_format_local", s, local,
		  sizeof(local));
	check_fmt(ddemux_aset_format_remote, "aset_format_remote", s, remote,
		  sizeof(remote));
	if (s->dev)
		kshim_snprintf(want, sizeof(want), "%s %s %s dev=%d",
			       ddemux_proto_name(s->proto), local, remote, s->dev);
	else
		kshim_snprintf(want, sizeof(want), "%s %s %s",
			       ddemux_proto_name(s->proto), local, remote);
	CHECK(!strcmp(all, want), "aset_format \"%s\" is not its halves \"%s\"",
	      all, want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rd r = { data, size };
	struct ddemux_aset a, b, c, raw;
	const struct ddemux_aset *sets[3] = { &a, &b, &c };
	struct sock_fields fa, fb, fc;
	struct ddemux_pkt pkt;
	struct ddemux_paddr pa[2];
	struct ddemux_policy pol;
	struct ddemux_shares *shares = NULL;
	static struct samples samples[3];
	uint8_t psel, ssel;
	int pair, i, j;

	g_data = data;
	g_size = size;
	g_a = &a;
	g_b = &b;
	g_c = NULL;

	dec_set(&r, &a, &fa);
	dec_set(&r, &b, &fb);
	dec_pkt(&r, &pkt, &pair);
	psel = rd8(&r);
	ssel = rd8(&r);
	dec_set(&r, &c, &fc);
	g_c = &c;

	/* overlap: symmetric, reflexive on non-empty sets, empty sets */
	for (i = 0; i < 3; i++) {
		const struct ddemux_aset *x = sets[i];

		CHECK(!x->fam || ddemux_overlap(x, x), "set %d does not overlap itself", i);
		for (j = 0; j < 3; j++)
			CHECK(ddemux_overlap(x, sets[j]) == ddemux_overlap(sets[j], x),
			      "overlap(%d, %d) = %d, overlap(%d, %d) = %d", i, j,
			      ddemux_overlap(x, sets[j]), j, i,
			      ddemux_overlap(sets[j], x));
	}
	CHECK(a.fam || !ddemux_overlap(&a, &b), "the empty set a overlaps b");

	/* the packet, received (laddr is its destination), on its pair */
	memset(&pa[0], 0, sizeof(pa[0]));
	pa[0].laddr = pkt.daddr;
	pa[0].raddr = pkt.saddr;
	pa[0].lport = pkt.dport;
	pa[0].rport = pkt.proto == DDEMUX_PING ? 0 : pkt.sport;
	pa[0].proto = pkt.proto;
	pa[0].fam = pkt.fam;
	set_pair(&pa[0], pair);
	/* the reply to it, on the same pair */
	ddemux_reply_of(&pkt, &pa[1]);
	set_pair(&pa[1], pair);
	for (i = 0; i < 3; i++) {
		check_contains(sets[i], &pa[0]);
		check_contains(sets[i], &pa[1]);
	}
	for (i = 0; i < 3; i++)
		gen_samples(sets, 3, sets[i], pa, 2, &samples[i]);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 3; j++) {
			check_sound(sets[i], sets[j], &pa[0], "the packet");
			check_sound(sets[i], sets[j], &pa[1], "the reply");
			check_complete(sets[i], sets[j]);
			if (i != j)
				check_within(sets[i], sets[j], sets[3 - i - j],
					     &samples[i], &samples[j]);
		}
	}

	check_reply(&pkt, &a);
	check_reply(&pkt, &b);
	check_reply(&pkt, &c);
	check_view(&pkt, &fa, &a);
	check_view(&pkt, &fb, &b);
	check_view(&pkt, &fc, &c);
	check_own_reply(&a);
	check_own_reply(&b);
	check_own_reply(&c);

	/* decisions */
	memset(&pol, 0, sizeof(pol));
	pol.mode = psel % 3;
	pol.domain = (u8)(1 + (psel >> 2) % 3);
	if (ssel % 3) {
		shares = calloc(1, sizeof(*shares));
		if (!shares)
			abort();
		if (ssel % 3 == 2 && a.lport) {
			static const char *const sp[DDEMUX_NPROTO] = {
				"tcp", "udp", "udp", "ping", "sctp", "dccp"
			};
			char cmd[32];
			int n = kshim_scnprintf(cmd, sizeof(cmd), "add %s %u",
						sp[a.proto], a.lport);

			CHECK(ddemux_shares_apply(shares, cmd, (size_t)n) == 0,
			      "\"%s\" refused", cmd);
			CHECK(ddemux_shares_cover(shares, a.proto, a.lport),
			      "\"%s\" does not cover its port", cmd);
		}
		pol.shares = shares;
	}
	check_decide(&pol, &a, &b);
	check_decide(&pol, &a, &a);
	check_decide(&pol, &a, &c);
	check_decide(&pol, &b, &c);
	free(shares);

	/* formatting, for the sets and for raw bytes */
	check_format(&a);
	check_format(&b);
	check_format(&c);
	g_a = g_b = g_c = NULL;
	memset(&raw, 0, sizeof(raw));
	memcpy(&raw, r.p, r.n < sizeof(raw) ? r.n : sizeof(raw));
	check_format(&raw);
	{
		struct ddemux_aset pre = raw;

		ddemux_aset_normalise(&raw);
		check_normalised(&pre, &raw);
		check_format(&raw);
	}
	CHECK(ddemux_overlap(&raw, &a) == ddemux_overlap(&a, &raw),
	      "overlap with a raw set is not symmetric");
	CHECK(ddemux_aset_within(&raw, &raw), "a raw set is not within itself");
	return 0;
}
