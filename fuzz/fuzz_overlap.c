// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the address-set model -- ddemux_overlap(),
 * ddemux_contains(), ddemux_reply_of()/ddemux_reply_in_set(),
 * ddemux_decide() and the set formatters.
 *
 * The input is read as a byte stream (exhausted: zeros).  Two address
 * sets are built the way ddemux_sk_aset() builds them from socket fields
 * -- ddemux_aset_set_local(), then ddemux_aset_set_remote() if the socket
 * is connected, then ddemux_aset_normalise() -- from a family, v6only,
 * local and remote addresses drawn from a small pool (wildcards, 10.0.0.x,
 * loopback, v4-mapped, ::ffff:0.0.0.0, ::a.b.c.d, 2001:db8::x) or raw
 * bytes, ports, a device, flags and a domain.  Then one packet (proto,
 * family, addresses, ports, device) and a policy.  Properties (abort on
 * violation):
 *
 *  - overlap is symmetric, and a non-empty set overlaps itself;
 *  - soundness: a packet address contained in both sets means overlap
 *    (for a packet with a known ingress device; with dev 0, "any
 *    device", unless the sets are bound to two different devices);
 *  - completeness: when the sets overlap, a witness packet address built
 *    from them is contained in both;
 *  - ddemux_reply_in_set(pkt, set) == ddemux_contains(set, reply_of(pkt)),
 *    and reply_of() swaps the packet as documented;
 *  - the egress fast path, ddemux_reply_in_sock() from the socket's
 *    fields, agrees with ddemux_reply_in_set() on the set built from them;
 *  - ddemux_decide(): DENY only in enforce mode with overlap and
 *    different domains, AUDIT only in audit mode likewise, no overlap
 *    means ALLOW/no-overlap, a cross-domain overlap without an opted-in
 *    share rule is refused in enforce mode, and the verdict does not
 *    depend on which set is the new one;
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

#include "ddemux.h"

static const uint8_t *g_data;
static size_t g_size;

static void dump_set(const char *name, const struct ddemux_aset *s)
{
	char buf[256];

	ddemux_aset_format(s, buf, sizeof(buf));
	fprintf(stderr, "  %s: %s fam=%u state=%u flags=%#x uid=%u cgid=%llu\n",
		name, buf, s->fam, s->state, s->flags, s->dom.uid.val,
		(unsigned long long)s->dom.cgid);
}

static const struct ddemux_aset *g_a, *g_b;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_overlap: property violated: %s\n  ", #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		if (g_a)						\
			dump_set("a", g_a);				\
		if (g_b)						\
			dump_set("b", g_b);				\
		fprintf(stderr, "  input: %zu bytes\n", g_size);	\
		abort();						\
	}								\
} while (0)

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

/*
 * One address for a socket or packet of @family: @v4a for AF_INET,
 * @v6a for AF_INET6 (the other one is set to something plausible, as the
 * module passes both fields of the socket).
 */
static void dec_addr(struct rd *r, int family, __be32 *v4a,
		     struct in6_addr *v6a)
{
	uint8_t sel = rd8(r), k = (uint8_t)(1 + (sel >> 3) % 3);

	*v4a = 0;
	memset(v6a, 0, sizeof(*v6a));
	switch (sel % 8) {
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
		if (family == AF_INET) {
			*v4a = v4(10, 0, 0, k);
		} else {
			v6a->s6_addr[0] = 0x20;
			v6a->s6_addr[1] = 0x01;
			v6a->s6_addr[2] = 0x0d;
			v6a->s6_addr[3] = 0xb8;
			v6a->s6_addr[15] = k;
		}
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
	default:		/* ::10.0.0.k (v4-compatible); 255.255.255.255 */
		if (family == AF_INET) {
			*v4a = v4(255, 255, 255, 255);
		} else {
			v6a->s6_addr32[3] = v4(10, 0, 0, k);
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

static int dec_dev(struct rd *r)
{
	uint8_t sel = rd8(r);

	if (sel >= 0xf0)
		return (int)rd32(r);
	return sel % 4;
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

/*
 * ddemux_aset_normalise() only canonicalises: ::ffff:0.0.0.0 becomes the
 * wildcard, a specific address narrows the families to its own, ping
 * loses its remote ident.  Nothing else changes, and it is idempotent.
 */
static void check_normalised(const struct ddemux_aset *pre,
			     const struct ddemux_aset *s)
{
	struct ddemux_aset again = *s;

	CHECK(s->proto == pre->proto && s->lport == pre->lport &&
	      s->dev == pre->dev && s->state == pre->state &&
	      s->flags == pre->flags && uid_eq(s->dom.uid, pre->dom.uid) &&
	      s->dom.cgid == pre->dom.cgid,
	      "normalise changed a field it has no business with");
	CHECK(s->rport == (s->proto == DDEMUX_PING ? 0 : pre->rport),
	      "normalise: rport %u -> %u (proto %u)", pre->rport, s->rport,
	      s->proto);
	CHECK(ipv6_addr_equal(&s->laddr, &pre->laddr) ||
	      (mapped_any(&pre->laddr) && ipv6_addr_any(&s->laddr)),
	      "normalise changed the local address");
	CHECK(ipv6_addr_equal(&s->raddr, &pre->raddr) ||
	      (mapped_any(&pre->raddr) && ipv6_addr_any(&s->raddr)),
	      "normalise changed the remote address");
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
 * IPv6 address, IPv6 only.
 */
static void check_set_local(int family, __be32 v4a, const struct in6_addr *v6a,
			    bool v6only, const struct ddemux_aset *s)
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

/* The same socket fields, as the egress fast path reads them. */
struct sock_fields {
	struct ddemux_sock_view sv;
	struct in6_addr l6, r6;
};

/* As ddemux_sk_aset() does it, from socket-like fields. */
static void dec_set(struct rd *r, struct ddemux_aset *s,
		    struct sock_fields *sf)
{
	uint8_t f = rd8(r), o = rd8(r);
	int family = (f & 1) ? AF_INET6 : AF_INET;
	bool v6only = f & 2, connected = f & 4;
	struct ddemux_aset pre;
	struct in6_addr v6a;
	__be32 v4a;

	memset(s, 0, sizeof(*s));
	s->proto = (u8)(rd8(r) % DDEMUX_NPROTO);
	s->lport = dec_port(r, false);
	s->dev = dec_dev(r);
	dec_addr(r, family, &v4a, &v6a);
	ddemux_aset_set_local(s, family, v4a, &v6a, v6only);
	check_set_local(family, v4a, &v6a, v6only, s);
	memset(sf, 0, sizeof(*sf));
	sf->sv.family = family;
	sf->sv.v6only = v6only;
	sf->sv.proto = s->proto;
	sf->sv.lport = s->lport;
	sf->sv.v4_saddr = v4a;
	sf->l6 = v6a;
	sf->sv.v6_rcv_saddr = &sf->l6;
	sf->sv.v6_daddr = &sf->r6;
	if (connected) {
		u16 rport = dec_port(r, true);

		dec_addr(r, family, &v4a, &v6a);
		ddemux_aset_set_remote(s, family, v4a, &v6a, rport);
		check_set_remote(family, v4a, &v6a, rport, s);
		s->state = DDEMUX_CONNECTED;
		sf->sv.connected = true;
		sf->sv.rport = rport;
		sf->sv.v4_daddr = v4a;
		sf->r6 = v6a;
	} else if ((f & 8) && s->proto == DDEMUX_TCP) {
		s->state = DDEMUX_LISTEN;
	}
	if (f & 0x10)
		s->flags |= DDEMUX_REUSEADDR;
	if (f & 0x20)
		s->flags |= DDEMUX_REUSEPORT;
	if (f & 0x40)
		s->flags |= DDEMUX_KERNEL;
	if (f & 0x80)
		s->flags |= DDEMUX_CHILD;
	s->dom.uid = KUIDT_INIT(1000 + o % 3);
	s->dom.cgid = (o >> 2) % 3;
	pre = *s;
	ddemux_aset_normalise(s);
	check_normalised(&pre, s);
}

/* An outbound packet, as ddemux_egress.c parses one. */
static void dec_pkt(struct rd *r, struct ddemux_pkt *pkt, int *dev)
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
	*dev = dec_dev(r);
}

/* ---- properties ------------------------------------------------------- */

static bool devs_conflict(const struct ddemux_aset *a,
			  const struct ddemux_aset *b)
{
	return a->dev && b->dev && a->dev != b->dev;
}

/* A packet address in both @a and @b means they overlap. */
static void check_sound(const struct ddemux_aset *a, const struct ddemux_aset *b,
			const struct ddemux_paddr *pa, const char *what)
{
	bool ov = ddemux_overlap(a, b);

	if (!ddemux_contains(a, pa) || !ddemux_contains(b, pa))
		return;
	if (!pa->dev && devs_conflict(a, b))
		return;	/* "any device" is not one packet address */
	CHECK(ov, "%s (proto %u fam %u port %u<-%u dev %d) is in both sets, yet no overlap",
	      what, pa->proto, pa->fam, pa->lport, pa->rport, pa->dev);
}

static void default_addr(struct in6_addr *a, u8 fam, u8 k)
{
	if (fam == DDEMUX_FAM_V4) {
		mapped(a, v4(192, 0, 2, k));
	} else {
		memset(a, 0, sizeof(*a));
		a->s6_addr[0] = 0x20;
		a->s6_addr[1] = 0x01;
		a->s6_addr[2] = 0x0d;
		a->s6_addr[3] = 0xb8;
		a->s6_addr[14] = 0x99;
		a->s6_addr[15] = k;
	}
}

/* Overlapping sets have a packet address in common: build one. */
static void check_complete(const struct ddemux_aset *a,
			   const struct ddemux_aset *b)
{
	struct ddemux_paddr w;
	u8 common = a->fam & b->fam;

	if (!ddemux_overlap(a, b))
		return;
	CHECK(common, "overlap without a common family");
	memset(&w, 0, sizeof(w));
	w.proto = a->proto;
	w.lport = a->lport;
	w.fam = (common & DDEMUX_FAM_V4) ? DDEMUX_FAM_V4 : DDEMUX_FAM_V6;
	if (!ipv6_addr_any(&a->laddr))
		w.laddr = a->laddr;
	else if (!ipv6_addr_any(&b->laddr))
		w.laddr = b->laddr;
	else
		default_addr(&w.laddr, w.fam, 1);
	if (!ipv6_addr_any(&a->raddr))
		w.raddr = a->raddr;
	else if (!ipv6_addr_any(&b->raddr))
		w.raddr = b->raddr;
	else
		default_addr(&w.raddr, w.fam, 2);
	w.rport = a->rport ? a->rport : b->rport ? b->rport : 4242;
	w.dev = a->dev ? a->dev : b->dev ? b->dev : 7;
	CHECK(ddemux_contains(a, &w) && ddemux_contains(b, &w),
	      "the sets overlap but the witness (fam %u, port %u<-%u, dev %d) is in a: %d, b: %d",
	      w.fam, w.lport, w.rport, w.dev, ddemux_contains(a, &w),
	      ddemux_contains(b, &w));
}

static void check_reply(const struct ddemux_pkt *pkt,
			const struct ddemux_aset *s)
{
	struct ddemux_paddr rep;

	ddemux_reply_of(pkt, &rep);
	CHECK(ipv6_addr_equal(&rep.laddr, &pkt->saddr) &&
	      ipv6_addr_equal(&rep.raddr, &pkt->daddr) &&
	      rep.lport == pkt->sport &&
	      rep.rport == (pkt->proto == DDEMUX_PING ? 0 : pkt->dport) &&
	      rep.proto == pkt->proto && rep.fam == pkt->fam && rep.dev == 0,
	      "reply_of does not swap the packet");
	CHECK(ddemux_reply_in_set(pkt, s) == ddemux_contains(s, &rep),
	      "reply_in_set %d, contains(reply_of) %d",
	      ddemux_reply_in_set(pkt, s), ddemux_contains(s, &rep));
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

	CHECK(same == ddemux_same_domain(&o->dom, &n->dom, pol->domain),
	      "same_domain is not symmetric");
	v = ddemux_decide(pol, n, o, &reason);
	CHECK(v == DDEMUX_ALLOW || v == DDEMUX_AUDIT || v == DDEMUX_DENY,
	      "verdict %d", v);
	CHECK((unsigned int)reason < DDEMUX_R_NREASONS &&
	      strcmp(ddemux_reason_name(reason), "?"), "reason %d", reason);
	if (v == DDEMUX_DENY)
		CHECK(pol->mode == DDEMUX_MODE_ENFORCE && ov && !same,
		      "DENY with mode %u, overlap %d, same domain %d",
		      pol->mode, ov, same);
	if (v == DDEMUX_AUDIT)
		CHECK(pol->mode == DDEMUX_MODE_AUDIT && ov && !same,
		      "AUDIT with mode %u, overlap %d, same domain %d",
		      pol->mode, ov, same);
	CHECK(ov || (v == DDEMUX_ALLOW && reason == DDEMUX_R_NO_OVERLAP),
	      "no overlap, yet verdict %d reason %s", v,
	      ddemux_reason_name(reason));
	CHECK(!ov || reason != DDEMUX_R_NO_OVERLAP,
	      "overlap, yet reason no-overlap");
	if (ov && !same && !(cover && optin))
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
	struct ddemux_aset a, b, raw;
	struct sock_fields fa, fb;
	struct ddemux_pkt pkt;
	struct ddemux_paddr pa;
	struct ddemux_policy pol;
	struct ddemux_shares *shares = NULL;
	uint8_t psel, ssel;
	int dev;

	g_data = data;
	g_size = size;
	g_a = &a;
	g_b = &b;

	dec_set(&r, &a, &fa);
	dec_set(&r, &b, &fb);
	dec_pkt(&r, &pkt, &dev);
	psel = rd8(&r);
	ssel = rd8(&r);

	/* overlap: symmetric, reflexive on non-empty sets, empty sets */
	CHECK(ddemux_overlap(&a, &b) == ddemux_overlap(&b, &a),
	      "overlap(a, b) = %d, overlap(b, a) = %d", ddemux_overlap(&a, &b),
	      ddemux_overlap(&b, &a));
	CHECK(!a.fam || ddemux_overlap(&a, &a), "a does not overlap itself");
	CHECK(!b.fam || ddemux_overlap(&b, &b), "b does not overlap itself");
	CHECK(a.fam || !ddemux_overlap(&a, &b), "the empty set a overlaps b");

	/* the packet, received: laddr is its destination */
	memset(&pa, 0, sizeof(pa));
	pa.laddr = pkt.daddr;
	pa.raddr = pkt.saddr;
	pa.lport = pkt.dport;
	pa.rport = pkt.sport;
	pa.proto = pkt.proto;
	pa.fam = pkt.fam;
	pa.dev = dev;
	check_sound(&a, &b, &pa, "the packet");
	/* the reply to it, on its device */
	ddemux_reply_of(&pkt, &pa);
	pa.dev = dev;
	check_sound(&a, &b, &pa, "the reply");
	check_complete(&a, &b);
	check_complete(&b, &a);

	check_reply(&pkt, &a);
	check_reply(&pkt, &b);
	CHECK(ddemux_reply_in_sock(&pkt, &fa.sv) == ddemux_reply_in_set(&pkt, &a),
	      "reply_in_sock %d, reply_in_set %d",
	      ddemux_reply_in_sock(&pkt, &fa.sv), ddemux_reply_in_set(&pkt, &a));
	CHECK(ddemux_reply_in_sock(&pkt, &fb.sv) == ddemux_reply_in_set(&pkt, &b),
	      "reply_in_sock %d, reply_in_set %d (b)",
	      ddemux_reply_in_sock(&pkt, &fb.sv), ddemux_reply_in_set(&pkt, &b));
	check_own_reply(&a);
	check_own_reply(&b);

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
				"tcp", "udp", "udp", "ping"
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
	free(shares);

	/* formatting, for the two sets and for raw bytes */
	check_format(&a);
	check_format(&b);
	g_a = g_b = NULL;
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
	return 0;
}
