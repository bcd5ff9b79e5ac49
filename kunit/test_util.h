/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ddemux KUnit - address sets and packets written as short strings
 *
 * Set:    PROTO LOCAL:PORT [REMOTE:PORT] [OPTION ...]
 *   PROTO   tcp, udp, udplite or ping (PORT is then the echo ident)
 *   LOCAL   an IPv4 address (AF_INET socket) or an IPv6 address in
 *           brackets (AF_INET6 socket): 0.0.0.0, 10.0.0.1, [::], [::1],
 *           [::ffff:10.0.0.1]
 *   REMOTE  the same; PORT may be * (any)
 *   OPTION  v6only, ra (SO_REUSEADDR), rp (SO_REUSEPORT), listen,
 *           dev=N, mdev=N (the VRF that device N is or is enslaved to),
 *           l3any (the protocol's l3mdev_accept sysctl is on), group (the
 *           hooks found a subnet broadcast address), uid=N, cg=N
 * Packet: PROTO SRC:PORT > DST:PORT
 * Received packet address (tu_paddr()): the same, then dev=N (the
 *           kernel's dif, 0: unknown) and sdif=N (the VRF slave it
 *           arrived on); the local address is DST.
 *
 * Sets are built as ddemux_sk_aset() builds them from socket fields:
 * ddemux_aset_set_local()/_remote(), an ICMPv6 echo socket v6only
 * whatever IPV6_V6ONLY says, DDEMUX_GROUP for a subnet broadcast, the
 * device part as ddemux_aset_set_dev() (an unbound set gets DDEMUX_L3ANY
 * when l3mdev_accept is on, always for ping; a bound one never), then
 * ddemux_aset_normalise(); so the tables test that path too.  The
 * device numbers the tables use: 2 and 3 ordinary devices, 10 a VRF
 * with slaves 11 and 12, 20 another VRF with slave 21.
 */
#ifndef _DDEMUX_KUNIT_TEST_UTIL_H
#define _DDEMUX_KUNIT_TEST_UTIL_H

#include <kunit/test.h>
#include <linux/inet.h>
#include <linux/socket.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <net/ipv6.h>

#include "../ddemux_compat.h"
#include "../ddemux.h"

struct tu_addr {
	int family;
	__be32 v4;
	struct in6_addr v6;
	u16 port;
};

static inline int tu_proto(const char *t, size_t n)
{
	static const char *const names[] = { "tcp", "udp", "udplite", "ping" };
	int i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (strlen(names[i]) == n && !strncmp(t, names[i], n))
			return i;
	return -1;
}

/* "1.2.3.4:80", "[::1]:80", "[::]:*" */
static inline int tu_parse_addr(const char *t, size_t n, struct tu_addr *a)
{
	const char *end, *colon;
	unsigned int port;
	char num[8];

	memset(a, 0, sizeof(*a));
	if (n && t[0] == '[') {
		a->family = AF_INET6;
		if (!in6_pton(t + 1, n - 1, a->v6.s6_addr, ']', &end))
			return -EINVAL;
		colon = end + 1;
	} else {
		a->family = AF_INET;
		if (!in4_pton(t, n, (u8 *)&a->v4, ':', &end))
			return -EINVAL;
		colon = end;
	}
	if (colon >= t + n || *colon != ':')
		return -EINVAL;
	n -= colon + 1 - t;
	if (n == 1 && colon[1] == '*')
		return 0;
	if (!n || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, colon + 1, n);
	num[n] = '\0';
	if (kstrtouint(num, 10, &port) || port > 65535)
		return -EINVAL;
	a->port = port;
	return 0;
}

static inline bool tu_word(const char **p, const char **t, size_t *n)
{
	while (**p == ' ')
		(*p)++;
	if (!**p)
		return false;
	*t = *p;
	while (**p && **p != ' ')
		(*p)++;
	*n = *p - *t;
	return true;
}

static inline bool tu_opt(const char *t, size_t n, const char *key,
			  unsigned long long *val)
{
	size_t k = strlen(key);
	char num[24];

	if (n <= k + 1 || strncmp(t, key, k) || t[k] != '=' ||
	    n - k - 1 >= sizeof(num))
		return false;
	memcpy(num, t + k + 1, n - k - 1);
	num[n - k - 1] = '\0';
	return !kstrtoull(num, 10, val);
}

/* Parse a set description; a malformed one fails the test. */
static inline struct ddemux_aset tu_set(struct kunit *test, const char *desc)
{
	struct ddemux_aset s = { };
	struct tu_addr local, remote = { };
	bool v6only = false, have_remote = false, l3any = false, group = false;
	unsigned long long v;
	const char *p = desc, *t;
	size_t n;
	int proto;

	KUNIT_ASSERT_TRUE_MSG(test, tu_word(&p, &t, &n), "empty set: %s", desc);
	proto = tu_proto(t, n);
	KUNIT_ASSERT_GE_MSG(test, proto, 0, "bad protocol: %s", desc);
	KUNIT_ASSERT_TRUE_MSG(test, tu_word(&p, &t, &n), "no local: %s", desc);
	KUNIT_ASSERT_EQ_MSG(test, tu_parse_addr(t, n, &local), 0,
			    "bad local: %s", desc);

	while (tu_word(&p, &t, &n)) {
		if ((t[0] == '[' || (t[0] >= '0' && t[0] <= '9')) &&
		    !have_remote && memchr(t, ':', n) && !memchr(t, '=', n)) {
			KUNIT_ASSERT_EQ_MSG(test, tu_parse_addr(t, n, &remote),
					    0, "bad remote: %s", desc);
			have_remote = true;
		} else if (n == 6 && !strncmp(t, "v6only", 6)) {
			v6only = true;
		} else if (n == 2 && !strncmp(t, "ra", 2)) {
			s.flags |= DDEMUX_REUSEADDR;
		} else if (n == 2 && !strncmp(t, "rp", 2)) {
			s.flags |= DDEMUX_REUSEPORT;
		} else if (n == 6 && !strncmp(t, "listen", 6)) {
			s.state = DDEMUX_LISTEN;
		} else if (n == 5 && !strncmp(t, "l3any", 5)) {
			l3any = true;
		} else if (n == 5 && !strncmp(t, "group", 5)) {
			group = true;
		} else if (tu_opt(t, n, "dev", &v)) {
			s.dev = v;
		} else if (tu_opt(t, n, "mdev", &v)) {
			s.mdev = v;
		} else if (tu_opt(t, n, "uid", &v)) {
			s.dom.uid = KUIDT_INIT((uid_t)v);
		} else if (tu_opt(t, n, "cg", &v)) {
			s.dom.cgid = v;
		} else {
			KUNIT_FAIL_AND_ABORT(test, "bad option in: %s", desc);
		}
	}

	KUNIT_ASSERT_TRUE_MSG(test, s.dev || !s.mdev, "mdev without dev: %s",
			      desc);
	s.proto = proto;
	s.lport = local.port;
	/* ping_lookup() matches the family: ICMPv6 echo is IPv6 only */
	if (proto == DDEMUX_PING && local.family == AF_INET6)
		v6only = true;
	ddemux_aset_set_local(&s, local.family, local.v4, &local.v6, v6only);
	if (have_remote) {
		KUNIT_ASSERT_EQ_MSG(test, remote.family, local.family,
				    "remote of another family: %s", desc);
		ddemux_aset_set_remote(&s, remote.family, remote.v4,
				       &remote.v6, remote.port);
		s.state = DDEMUX_CONNECTED;
	}
	if (group)
		s.flags |= DDEMUX_GROUP;
	/* ping_lookup() ignores l3mdev_accept: as if it were on */
	if (!s.dev && (l3any || proto == DDEMUX_PING))
		s.flags |= DDEMUX_L3ANY;
	ddemux_aset_normalise(&s);
	return s;
}

/* Parse "PROTO SRC:PORT > DST:PORT". */
static inline struct ddemux_pkt tu_pkt(struct kunit *test, const char *desc)
{
	struct ddemux_pkt pkt = { };
	struct tu_addr src, dst;
	const char *p = desc, *t;
	size_t n;
	int proto;

	KUNIT_ASSERT_TRUE_MSG(test, tu_word(&p, &t, &n), "empty: %s", desc);
	proto = tu_proto(t, n);
	KUNIT_ASSERT_GE_MSG(test, proto, 0, "bad protocol: %s", desc);
	KUNIT_ASSERT_TRUE(test, tu_word(&p, &t, &n));
	KUNIT_ASSERT_EQ_MSG(test, tu_parse_addr(t, n, &src), 0, "src: %s", desc);
	KUNIT_ASSERT_TRUE(test, tu_word(&p, &t, &n));
	KUNIT_ASSERT_TRUE_MSG(test, n == 1 && *t == '>', "no '>': %s", desc);
	KUNIT_ASSERT_TRUE(test, tu_word(&p, &t, &n));
	KUNIT_ASSERT_EQ_MSG(test, tu_parse_addr(t, n, &dst), 0, "dst: %s", desc);
	KUNIT_ASSERT_EQ(test, src.family, dst.family);

	pkt.proto = proto;
	if (src.family == AF_INET) {
		pkt.fam = DDEMUX_FAM_V4;
		ddemux_addr_set_v4(&pkt.saddr, src.v4);
		ddemux_addr_set_v4(&pkt.daddr, dst.v4);
	} else {
		pkt.fam = DDEMUX_FAM_V6;
		pkt.saddr = src.v6;
		pkt.daddr = dst.v6;
	}
	pkt.sport = src.port;
	pkt.dport = dst.port;
	return pkt;
}

/* Parse "PROTO SRC:PORT > DST:PORT [dev=N] [sdif=N]", as received. */
static inline struct ddemux_paddr tu_paddr(struct kunit *test,
					   const char *desc)
{
	struct ddemux_paddr pa = { };
	struct tu_addr src, dst;
	unsigned long long v;
	const char *p = desc, *t;
	size_t n;
	int proto;

	KUNIT_ASSERT_TRUE_MSG(test, tu_word(&p, &t, &n), "empty: %s", desc);
	proto = tu_proto(t, n);
	KUNIT_ASSERT_GE_MSG(test, proto, 0, "bad protocol: %s", desc);
	KUNIT_ASSERT_TRUE(test, tu_word(&p, &t, &n));
	KUNIT_ASSERT_EQ_MSG(test, tu_parse_addr(t, n, &src), 0, "src: %s", desc);
	KUNIT_ASSERT_TRUE(test, tu_word(&p, &t, &n));
	KUNIT_ASSERT_TRUE_MSG(test, n == 1 && *t == '>', "no '>': %s", desc);
	KUNIT_ASSERT_TRUE(test, tu_word(&p, &t, &n));
	KUNIT_ASSERT_EQ_MSG(test, tu_parse_addr(t, n, &dst), 0, "dst: %s", desc);
	KUNIT_ASSERT_EQ(test, src.family, dst.family);
	while (tu_word(&p, &t, &n)) {
		if (tu_opt(t, n, "dev", &v))
			pa.dev = v;
		else if (tu_opt(t, n, "sdif", &v))
			pa.sdif = v;
		else
			KUNIT_FAIL_AND_ABORT(test, "bad option in: %s", desc);
	}

	pa.proto = proto;
	if (src.family == AF_INET) {
		pa.fam = DDEMUX_FAM_V4;
		ddemux_addr_set_v4(&pa.raddr, src.v4);
		ddemux_addr_set_v4(&pa.laddr, dst.v4);
	} else {
		pa.fam = DDEMUX_FAM_V6;
		pa.raddr = src.v6;
		pa.laddr = dst.v6;
	}
	pa.rport = proto == DDEMUX_PING ? 0 : src.port;
	pa.lport = dst.port;
	return pa;
}

#endif /* _DDEMUX_KUNIT_TEST_UTIL_H */
