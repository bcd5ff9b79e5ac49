// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux KUnit - suite ddemux_fast: rule 3's fast path against the model
 *
 * The egress hooks accept most packets through ddemux_fast_own4() and
 * ddemux_fast_own6(), which read the sending socket and the packet's
 * headers directly.  The model says the same thing in three steps: the
 * socket's set (ddemux_sk_view(), ddemux_aset_from_view(), as the
 * registry records it), the packet's reply (ddemux_reply_of()), and
 * ddemux_contains().  This suite builds real struct socks and real
 * headers, from a small pool of values so that matches are frequent, and
 * requires the same answer from both wherever the fast path applies --
 * and "no" from it everywhere else:
 *
 *   fast == applies && model
 *
 * applies: a TCP, DCCP, UDP or UDP-Lite socket of the packet's family,
 * bound to no device, that cannot send from a foreign address (IPv4: not
 * IP_TRANSPARENT; IPv6: ipv6_can_nonlocal_bind() false); a packet of
 * its own protocol, version right, not a later fragment, no IPv6
 * extension header, no v4-mapped IPv6 address, the ports within the
 * bytes given.  model: the socket holds a port (a socket without one
 * holds no set) and its set contains the reply, on an ordinary device.
 */
#include <kunit/test.h>
#include <linux/random.h>
#include <linux/inet.h>
#include <linux/slab.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/tcp.h>

#include "../ddemux_compat.h"
#include "../ddemux_fast.h"

#define SOCK_BYTES 4096		/* more than any struct *6_sock */

struct fast_case {
	struct sock *sk;
	u8 hdr[64];
	unsigned int len;
	struct ddemux_pkt pkt;
	bool plain;		/* the packet as the fast path takes it */
};

static const char *const v4_pool[] = {
	"0.0.0.0", "10.0.0.1", "10.0.0.2", "127.0.0.1", "224.0.0.5",
	"255.255.255.255",
};

static const char *const v6_pool[] = {
	"::", "2001:db8::1", "2001:db8::2", "::1", "::ffff:10.0.0.1",
	"::ffff:0.0.0.0", "ff02::1",
};

static __be32 pick4(u32 r)
{
	__be32 a = 0;

	in4_pton(v4_pool[r % ARRAY_SIZE(v4_pool)], -1, (u8 *)&a, -1, NULL);
	return a;
}

static void pick6(u32 r, struct in6_addr *a)
{
	memset(a, 0, sizeof(*a));
	in6_pton(v6_pool[r % ARRAY_SIZE(v6_pool)], -1, a->s6_addr, -1, NULL);
}

static const struct {
	int type;
	int protocol;
} kinds[] = {
	{ SOCK_STREAM, IPPROTO_TCP },
	{ SOCK_DCCP, IPPROTO_DCCP },
	{ SOCK_DGRAM, IPPROTO_UDP },
	{ SOCK_DGRAM, IPPROTO_UDPLITE },
	{ SOCK_DGRAM, IPPROTO_ICMP },
	{ SOCK_DGRAM, IPPROTO_ICMPV6 },
	{ SOCK_RAW, IPPROTO_UDP },
};

static const int states[] = {
	TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_SENT,
	TCP_MAX_STATES,		/* DCCP_PARTOPEN */
};

static const u16 ports[] = { 0, 1000, 2000 };

/* A zeroed socket with random fields, in init_net. */
static void random_sock(struct rnd_state *rnd, struct sock *sk)
{
	u32 r = prandom_u32_state(rnd), q = prandom_u32_state(rnd);
	struct inet_sock *inet = inet_sk(sk);
	int k = r % ARRAY_SIZE(kinds);

	memset(sk, 0, SOCK_BYTES);
	sock_net_set(sk, &init_net);
	sk->sk_family = (r >> 4) & 1 ? AF_INET6 : AF_INET;
	sk->sk_type = kinds[k].type;
	sk->sk_protocol = kinds[k].protocol;
	sk->sk_state = states[(r >> 5) % ARRAY_SIZE(states)];
	sk->sk_bound_dev_if = (r >> 7) % 8 ? 0 : 3;
	sk->sk_ipv6only = (r >> 10) & 1;
	inet->inet_num = ports[(r >> 11) % ARRAY_SIZE(ports)];
	inet->inet_dport = htons(ports[(r >> 13) % ARRAY_SIZE(ports)]);
	sk->sk_rcv_saddr = pick4(q);
	sk->sk_daddr = pick4(q >> 4);
	inet->inet_saddr = (r >> 15) % 4 ? sk->sk_rcv_saddr : 0;
	pick6(q >> 8, &sk->sk_v6_rcv_saddr);
	pick6(q >> 12, &sk->sk_v6_daddr);
	ddemux_set_transparent(sk, (r >> 17) % 8 == 0);
	ddemux_set_freebind(sk, (r >> 20) % 8 == 0);
}

/*
 * A packet, mostly one the socket could send: its family, protocol and
 * port; the addresses from the pools; now and then a broken or unusual
 * header (another version, IP options, a fragment, an extension header,
 * too few bytes).
 */
static void random_packet(struct rnd_state *rnd, const struct sock *sk,
			  struct fast_case *c)
{
	u32 r = prandom_u32_state(rnd), q = prandom_u32_state(rnd);
	bool v6 = (r & 7) ? sk->sk_family == AF_INET6 : r & 8;
	static const u8 l4[] = {
		IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPPROTO_DCCP,
	};
	u8 proto = (r >> 4) % 6 ? sk->sk_protocol : l4[(r >> 7) % 4];
	u16 sport = (r >> 9) % 4 ? inet_sk(sk)->inet_num :
				   ports[(r >> 11) % ARRAY_SIZE(ports)];
	u16 dport = (r >> 13) % 4 ? ntohs(inet_sk(sk)->inet_dport) :
				    ports[(r >> 15) % ARRAY_SIZE(ports)];
	struct ddemux_pkt *pkt = &c->pkt;
	unsigned int thoff;
	__be16 *p;

	memset(c->hdr, 0, sizeof(c->hdr));
	memset(pkt, 0, sizeof(*pkt));
	c->plain = true;
	if (!v6) {
		struct iphdr *iph = (struct iphdr *)c->hdr;
		__be32 s = pick4(q), d = pick4(q >> 4);

		iph->version = (q >> 8) % 16 ? 4 : 6;
		iph->ihl = (q >> 12) % 8 ? 5 : 6;	/* one word of options */
		iph->protocol = proto;
		iph->saddr = s;
		iph->daddr = d;
		if (!((q >> 15) % 8))
			iph->frag_off = htons((q >> 18) & 1 ? IP_MF : 100);
		thoff = iph->ihl * 4;
		c->plain = iph->version == 4 &&
			   !(iph->frag_off & htons(IP_OFFSET));
		pkt->fam = DDEMUX_FAM_V4;
		ddemux_addr_set_v4(&pkt->saddr, s);
		ddemux_addr_set_v4(&pkt->daddr, d);
	} else {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)c->hdr;

		ip6->version = (q >> 8) % 16 ? 6 : 4;
		ip6->nexthdr = (q >> 12) % 8 ? proto : NEXTHDR_HOP;
		pick6(q, &ip6->saddr);
		pick6(q >> 4, &ip6->daddr);
		thoff = sizeof(*ip6);
		c->plain = ip6->version == 6 && ip6->nexthdr == proto &&
			   !ipv6_addr_v4mapped(&ip6->saddr) &&
			   !ipv6_addr_v4mapped(&ip6->daddr);
		pkt->fam = DDEMUX_FAM_V6;
		pkt->saddr = ip6->saddr;
		pkt->daddr = ip6->daddr;
	}
	p = (__be16 *)(c->hdr + thoff);
	p[0] = htons(sport);
	p[1] = htons(dport);
	c->len = (r >> 17) % 8 ? thoff + 8 : thoff + 2;	/* ports cut off */
	c->plain = c->plain && c->len >= thoff + 4 && proto == sk->sk_protocol;
	pkt->proto = proto == IPPROTO_TCP ? DDEMUX_TCP :
		     proto == IPPROTO_UDP ? DDEMUX_UDP :
		     proto == IPPROTO_DCCP ? DDEMUX_DCCP : DDEMUX_UDPLITE;
	pkt->sport = sport;
	pkt->dport = dport;
}

/* Where the fast path applies at all (see the top of the file). */
static bool applies(struct sock *sk, const struct fast_case *c)
{
	int proto = ddemux_sk_proto(sk);

	if (proto != DDEMUX_TCP && proto != DDEMUX_UDP &&
	    proto != DDEMUX_UDPLITE && proto != DDEMUX_DCCP)
		return false;
	if (sk->sk_bound_dev_if || !c->plain)
		return false;
	if (c->pkt.fam == DDEMUX_FAM_V4)
		return sk->sk_family == AF_INET && !inet_sk_transparent(sk);
	return sk->sk_family == AF_INET6 &&
	       !ipv6_can_nonlocal_bind(sock_net(sk), inet_sk(sk));
}

/* The model: the reply is in the socket's set, on an ordinary device. */
static bool model_own(struct sock *sk, const struct fast_case *c)
{
	int proto = ddemux_sk_proto(sk);
	u16 lport = inet_sk(sk)->inet_num;
	struct ddemux_sock_view sv;
	struct ddemux_paddr reply;
	struct ddemux_aset set;

	if (proto < 0 || !lport)
		return false;
	ddemux_sk_view(sk, proto, lport, &sv);
	ddemux_aset_from_view(&sv, &set);
	ddemux_reply_of(&c->pkt, &reply);
	reply.dev = 7;
	return ddemux_contains(&set, &reply);
}

static void dump_case(struct kunit *test, const struct fast_case *c)
{
	const struct sock *sk = c->sk;
	const struct ddemux_pkt *pkt = &c->pkt;

	kunit_err(test, "socket: family %d type %d protocol %d state %d dev %d\n",
		  sk->sk_family, sk->sk_type, sk->sk_protocol, sk->sk_state,
		  sk->sk_bound_dev_if);
	kunit_err(test, "  port %u peer port %u, %pI4 -> %pI4, [%pI6c] -> [%pI6c]\n",
		  inet_sk(sk)->inet_num, ntohs(inet_sk(sk)->inet_dport),
		  &sk->sk_rcv_saddr, &sk->sk_daddr, &sk->sk_v6_rcv_saddr,
		  &sk->sk_v6_daddr);
	kunit_err(test, "packet: fam %u %pI6c:%u > %pI6c:%u, %u bytes\n",
		  pkt->fam, &pkt->saddr, pkt->sport, &pkt->daddr, pkt->dport,
		  c->len);
}

static void run_cases(struct kunit *test, u64 seed, int n)
{
	struct fast_case c = { };
	struct rnd_state rnd;
	int i, hits = 0, applied = 0;
	bool fast, want;

	c.sk = kunit_kzalloc(test, SOCK_BYTES, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c.sk);
	prandom_seed_state(&rnd, seed);
	for (i = 0; i < n; i++) {
		random_sock(&rnd, c.sk);
		random_packet(&rnd, c.sk, &c);
		if (c.pkt.fam == DDEMUX_FAM_V4)
			fast = ddemux_fast_own4(c.sk, (struct iphdr *)c.hdr,
						c.len);
		else
			fast = ddemux_fast_own6(c.sk, (struct ipv6hdr *)c.hdr,
						c.len);
		want = applies(c.sk, &c) && model_own(c.sk, &c);
		if (fast != want) {
			dump_case(test, &c);
			KUNIT_FAIL(test, "seed %llu case %d: fast %d, model %d (applies %d)",
				   seed, i, fast, want, applies(c.sk, &c));
			return;
		}
		applied += applies(c.sk, &c);
		hits += fast;
	}
	/* and the sample was not trivially "no" */
	KUNIT_EXPECT_GT(test, applied, n / 20);
	KUNIT_EXPECT_GT(test, hits, n / 100);
}

static void test_fast_matches_model(struct kunit *test)
{
	run_cases(test, 1, 100000);
	run_cases(test, 0x5eed, 100000);
}

/* Cases worth naming, whatever the random sample holds. */
static void test_fast_named(struct kunit *test)
{
	struct sock *sk = kunit_kzalloc(test, SOCK_BYTES, GFP_KERNEL);
	struct fast_case c = { };
	struct iphdr *iph = (struct iphdr *)c.hdr;
	__be16 *p = (__be16 *)(c.hdr + sizeof(*iph));

	KUNIT_ASSERT_NOT_NULL(test, sk);
	sock_net_set(sk, &init_net);
	sk->sk_family = AF_INET;
	sk->sk_type = SOCK_DGRAM;
	sk->sk_protocol = IPPROTO_UDP;
	sk->sk_state = TCP_CLOSE;
	inet_sk(sk)->inet_num = 53;
	iph->version = 4;
	iph->ihl = 5;
	iph->protocol = IPPROTO_UDP;
	iph->saddr = pick4(1);
	iph->daddr = pick4(2);
	p[0] = htons(53);
	p[1] = htons(9999);

	/* a wildcard UDP socket: any source address of the host, its port */
	KUNIT_EXPECT_TRUE(test, ddemux_fast_own4(sk, iph, 28));
	/* another port: not its reply */
	p[0] = htons(54);
	KUNIT_EXPECT_FALSE(test, ddemux_fast_own4(sk, iph, 28));
	p[0] = htons(53);
	/* bound to another address (IP_PKTINFO chose this one) */
	sk->sk_rcv_saddr = pick4(2);
	KUNIT_EXPECT_FALSE(test, ddemux_fast_own4(sk, iph, 28));
	sk->sk_rcv_saddr = 0;
	/* device-bound: its replies may arrive elsewhere */
	sk->sk_bound_dev_if = 3;
	KUNIT_EXPECT_FALSE(test, ddemux_fast_own4(sk, iph, 28));
	sk->sk_bound_dev_if = 0;
	/* IP_TRANSPARENT: it may send from any address */
	ddemux_set_transparent(sk, true);
	KUNIT_EXPECT_FALSE(test, ddemux_fast_own4(sk, iph, 28));
	ddemux_set_transparent(sk, false);
	/* connected: a datagram elsewhere is not answered into its set */
	sk->sk_state = TCP_ESTABLISHED;
	sk->sk_daddr = pick4(1);
	inet_sk(sk)->inet_dport = htons(9999);
	KUNIT_EXPECT_FALSE(test, ddemux_fast_own4(sk, iph, 28));
	sk->sk_daddr = pick4(2);
	KUNIT_EXPECT_TRUE(test, ddemux_fast_own4(sk, iph, 28));
	/* the ports beyond the bytes given */
	KUNIT_EXPECT_FALSE(test, ddemux_fast_own4(sk, iph, 22));
	/* a raw socket never */
	sk->sk_type = SOCK_RAW;
	KUNIT_EXPECT_FALSE(test, ddemux_fast_own4(sk, iph, 28));
}

static struct kunit_case ddemux_fast_cases[] = {
	KUNIT_CASE(test_fast_matches_model),
	KUNIT_CASE(test_fast_named),
	{}
};

static struct kunit_suite ddemux_fast_suite = {
	.name = "ddemux_fast",
	.test_cases = ddemux_fast_cases,
};

kunit_test_suite(ddemux_fast_suite);
