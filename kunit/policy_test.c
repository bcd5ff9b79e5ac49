// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux KUnit - suite ddemux_policy: the address-set model and decisions
 *
 * Every rule is a row of a table: overlap (rules 1 and 2), the decision
 * between domains (rule 4, modes, share rules), reply-in-set (rule 3),
 * the share-rule language, and Linux's own bind-conflict matrix replayed
 * against the overlap test.
 */
#include <kunit/test.h>
#include <linux/random.h>
#include <linux/bitmap.h>
#include <linux/slab.h>

#include <net/tcp_states.h>

#include "test_util.h"

/* ---- rules 1 and 2: overlap ------------------------------------------- */

struct overlap_case {
	const char *a, *b;
	bool overlap;
	const char *desc;
};

static const struct overlap_case overlap_cases[] = {
	/* IPv4 */
	{ "udp 0.0.0.0:53", "udp 0.0.0.0:53", true, "v4 wildcard twice" },
	{ "udp 0.0.0.0:53", "udp 10.0.0.1:53", true, "v4 wildcard vs specific" },
	{ "udp 10.0.0.1:53", "udp 10.0.0.1:53", true, "v4 same specific" },
	{ "udp 10.0.0.1:53", "udp 10.0.0.2:53", false, "v4 different specifics" },
	{ "udp 10.0.0.1:53", "udp 10.0.0.1:54", false, "different ports" },
	{ "udp 0.0.0.0:53", "tcp 0.0.0.0:53", false, "udp vs tcp" },
	{ "udp 0.0.0.0:53", "udplite 0.0.0.0:53", false, "udp vs udplite" },
	/* IPv6 */
	{ "udp [::]:53 v6only", "udp [::1]:53", true, "v6 wildcard vs specific" },
	{ "udp [::1]:53", "udp [::1]:53", true, "v6 same specific" },
	{ "udp [::1]:53", "udp [2001:db8::1]:53", false, "v6 different specifics" },
	{ "tcp [::]:80 v6only", "tcp [::]:80 v6only", true, "v6only wildcard twice" },
	/* dual stack */
	{ "udp [::]:53 v6only", "udp 0.0.0.0:53", false, "v6only vs v4 wildcard" },
	{ "udp [::]:53 v6only", "udp 10.0.0.1:53", false, "v6only vs v4 specific" },
	{ "udp [::]:53", "udp 0.0.0.0:53", true, "dual vs v4 wildcard" },
	{ "udp [::]:53", "udp 127.0.0.1:53", true, "dual vs v4 specific" },
	{ "udp [::]:53", "udp [::1]:53", true, "dual vs v6 specific" },
	{ "udp [::]:53", "udp [::]:53 v6only", true, "dual vs v6only" },
	{ "tcp [::]:80", "tcp [::]:80", true, "dual twice" },
	/* v4-mapped */
	{ "udp [::ffff:127.0.0.1]:53", "udp 127.0.0.1:53", true, "mapped vs same v4" },
	{ "udp [::ffff:127.0.0.1]:53", "udp 127.0.0.2:53", false, "mapped vs other v4" },
	{ "udp [::ffff:127.0.0.1]:53", "udp 0.0.0.0:53", true, "mapped vs v4 wildcard" },
	{ "udp [::ffff:127.0.0.1]:53", "udp [::]:53", true, "mapped vs dual" },
	{ "udp [::ffff:127.0.0.1]:53", "udp [::]:53 v6only", false, "mapped vs v6only" },
	{ "udp [::ffff:127.0.0.1]:53", "udp [::1]:53", false, "mapped vs v6 specific" },
	{ "udp [::ffff:0.0.0.0]:53", "udp 10.0.0.1:53", true, "mapped any is the v4 wildcard" },
	{ "udp [::ffff:0.0.0.0]:53", "udp [::1]:53", false, "mapped any is not v6" },
	/* connected vs unconnected */
	{ "udp 0.0.0.0:53", "udp 10.0.0.1:53 10.0.0.2:4000", true, "connected inside wildcard" },
	{ "udp 10.0.0.1:53", "udp 10.0.0.1:53 10.0.0.2:4000", true, "connected inside specific" },
	{ "udp 10.0.0.3:53", "udp 10.0.0.1:53 10.0.0.2:4000", false, "connected elsewhere" },
	{ "udp 10.0.0.1:53 10.0.0.2:4000", "udp 10.0.0.1:53 10.0.0.3:4000", false, "two peers" },
	{ "udp 10.0.0.1:53 10.0.0.2:4000", "udp 10.0.0.1:53 10.0.0.2:4001", false,
	  "two peer ports" },
	{ "udp 10.0.0.1:53 10.0.0.2:*", "udp 10.0.0.1:53 10.0.0.2:4001", true, "any peer port" },
	{ "tcp 0.0.0.0:80 listen", "tcp 10.0.0.1:80 10.0.0.2:5555", true,
	  "listener vs established" },
	{ "tcp 10.0.0.1:80 10.0.0.2:5555", "tcp 10.0.0.1:80 10.0.0.2:5555", true, "same 4-tuple" },
	{ "tcp 10.0.0.1:80 10.0.0.2:5555", "tcp 10.0.0.1:80 10.0.0.2:5556", false, "two 4-tuples" },
	{ "udp [::]:53", "udp 10.0.0.1:53 10.0.0.2:4000", true, "dual vs v4 connected" },
	{ "udp [::]:53 v6only", "udp [::ffff:10.0.0.1]:53 [::ffff:10.0.0.2]:4000", false,
	  "v6only vs v4 connected through a mapped socket" },
	{ "udp [::]:53", "udp [2001:db8::1]:53 [2001:db8::2]:4000", true, "dual vs v6 connected" },
	{ "udp 0.0.0.0:53", "udp [2001:db8::1]:53 [2001:db8::2]:4000", false,
	  "v4 vs v6 connected" },
	/* devices: 2, 3 ordinary; VRF 10 with slaves 11, 12; VRF 20, slave 21 */
	{ "udp 0.0.0.0:53 dev=2", "udp 0.0.0.0:53 dev=3", false, "two devices" },
	{ "udp 0.0.0.0:53 dev=2", "udp 0.0.0.0:53", true, "device-bound vs unbound" },
	{ "udp 0.0.0.0:53 dev=2", "udp 10.0.0.1:53 dev=2", true, "same device" },
	{ "udp 10.0.0.1:53 dev=2", "udp 10.0.0.2:53", false, "device does not widen" },
	{ "udp 0.0.0.0:53", "udp 0.0.0.0:53 dev=10 mdev=10", false,
	  "unbound vs bound to a VRF" },
	{ "udp 0.0.0.0:53", "udp 0.0.0.0:53 dev=11 mdev=10", false,
	  "unbound vs bound to a VRF slave" },
	{ "tcp 0.0.0.0:80 listen", "tcp 0.0.0.0:80 dev=10 mdev=10 listen", false,
	  "tcp listener unbound vs in a VRF" },
	{ "udp 0.0.0.0:53 l3any", "udp 0.0.0.0:53 dev=10 mdev=10", true,
	  "unbound with l3mdev_accept vs bound to a VRF" },
	{ "udp 0.0.0.0:53 l3any", "udp 0.0.0.0:53 dev=11 mdev=10", true,
	  "unbound with l3mdev_accept vs a VRF slave" },
	{ "udp 0.0.0.0:53 l3any", "udp 0.0.0.0:53 dev=2", true,
	  "unbound with l3mdev_accept vs a plain device" },
	{ "udp 0.0.0.0:53 l3any", "udp 0.0.0.0:53", true,
	  "unbound with and without l3mdev_accept" },
	{ "udp 0.0.0.0:53 dev=10 mdev=10", "udp 0.0.0.0:53 dev=11 mdev=10", true,
	  "VRF vs its slave" },
	{ "udp 0.0.0.0:53 dev=10 mdev=10", "udp 10.0.0.1:53 dev=10 mdev=10", true,
	  "same VRF" },
	{ "udp 0.0.0.0:53 dev=11 mdev=10", "udp 0.0.0.0:53 dev=12 mdev=10", false,
	  "two slaves of one VRF" },
	{ "udp 0.0.0.0:53 dev=11 mdev=10", "udp 0.0.0.0:53 dev=20 mdev=20", false,
	  "slave vs another VRF" },
	{ "udp 0.0.0.0:53 dev=11 mdev=10", "udp 0.0.0.0:53 dev=21 mdev=20", false,
	  "slaves of two VRFs" },
	{ "udp 0.0.0.0:53 dev=10 mdev=10", "udp 0.0.0.0:53 dev=20 mdev=20", false,
	  "two VRFs" },
	{ "udp 0.0.0.0:53 dev=2", "udp 0.0.0.0:53 dev=10 mdev=10", false,
	  "plain device vs VRF" },
	{ "udp 10.0.0.1:53 dev=11 mdev=10", "udp 10.0.0.2:53 dev=10 mdev=10", false,
	  "VRF and slave, two addresses" },
	/* group addresses overlap; ddemux_decide() lets them */
	{ "udp 239.1.2.3:5000", "udp 239.1.2.3:5000", true, "one multicast group twice" },
	{ "udp 0.0.0.0:5000", "udp 239.1.2.3:5000", true, "wildcard vs multicast group" },
	{ "udp 239.1.2.3:5000", "udp 239.1.2.4:5000", false, "two multicast groups" },
	{ "udp [::]:5353", "udp [ff02::fb]:5353", true, "dual vs mDNS group" },
	{ "udp [::]:5353 v6only", "udp [ff02::fb]:5353", true, "v6only vs mDNS group" },
	{ "udp 0.0.0.0:5353", "udp [ff02::fb]:5353", false, "v4 vs IPv6 group" },
	{ "udp [::ffff:239.1.2.3]:5000", "udp 239.1.2.3:5000", true,
	  "mapped group vs v4 group" },
	{ "udp 0.0.0.0:67", "udp 255.255.255.255:67", true, "wildcard vs limited broadcast" },
	/* ping: echo replies are matched by ident and local address alone */
	{ "ping 0.0.0.0:1234", "ping 0.0.0.0:1234", true, "ping same ident" },
	{ "ping 0.0.0.0:1234", "ping 0.0.0.0:1235", false, "ping different idents" },
	{ "ping 10.0.0.1:1234", "ping 10.0.0.2:1234", false, "ping ident on two addresses" },
	{ "ping 10.0.0.1:1234", "ping 0.0.0.0:1234", true, "ping ident specific vs wildcard" },
	{ "ping 0.0.0.0:1234 10.0.0.9:*", "ping 0.0.0.0:1234", true, "ping connected vs not" },
	{ "ping 0.0.0.0:1234 10.0.0.9:*", "ping 0.0.0.0:1234 10.0.0.8:*", true,
	  "ping to two remotes" },
	{ "ping 10.0.0.1:1234 10.0.0.9:*", "ping 10.0.0.2:1234", false,
	  "ping connected, other local address" },
	{ "ping 0.0.0.0:1234", "ping [::]:1234 v6only", false, "icmp vs icmpv6 echo" },
	{ "ping 0.0.0.0:1234", "ping [::]:1234", false,
	  "icmp vs icmpv6 echo without v6only" },
	{ "ping [::]:1234 v6only", "ping [::1]:1234", true, "icmpv6 echo same ident" },
	{ "ping [::]:1234", "ping [::1]:1234 [::2]:*", true, "icmpv6 echo connected" },
	{ "ping 0.0.0.0:1234", "ping 0.0.0.0:1234 dev=11 mdev=10", true,
	  "unbound ping receives from VRFs" },
};

static void overlap_desc(const struct overlap_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(overlap, overlap_cases, overlap_desc);

static void test_overlap(struct kunit *test)
{
	const struct overlap_case *c = test->param_value;
	struct ddemux_aset a = tu_set(test, c->a), b = tu_set(test, c->b);

	KUNIT_EXPECT_EQ_MSG(test, ddemux_overlap(&a, &b), c->overlap,
			    "%s vs %s", c->a, c->b);
	KUNIT_EXPECT_EQ_MSG(test, ddemux_overlap(&b, &a), c->overlap,
			    "symmetry: %s vs %s", c->b, c->a);
}

/* ---- devices: the kernel's inet_bound_dev_eq() --------------------------- */

/*
 * The ingress device pairs (dif, sdif) of the tables' topology: (0, 0) is
 * "unknown", then ordinary devices 2 and 3, VRF 10's slaves 11 and 12 and
 * a packet looped back inside it, VRF 20's slave 21 and loopback.
 */
static const int dev_pairs[][2] = {
	{ 0, 0 }, { 2, 0 }, { 3, 0 }, { 10, 11 }, { 10, 12 }, { 10, 10 },
	{ 20, 21 }, { 20, 20 },
};

struct dev_row {
	const char *set;
	const char *in;	/* per pair of dev_pairs: y or n */
};

/*
 * Which pairs each set receives: a bound set those that name its device
 * (dif or sdif), an unbound one those with sdif 0, and all with
 * l3mdev_accept (ping: always).
 */
static const struct dev_row dev_rows[] = {
	/*                                       0,0 2,0 3,0 10,11 10,12 10,10 20,21 20,20 */
	{ "udp 0.0.0.0:53",                     "yyynnnnn" },
	{ "udp 0.0.0.0:53 l3any",               "yyyyyyyy" },
	{ "udp 0.0.0.0:53 dev=2",               "yynnnnnn" },
	{ "udp 0.0.0.0:53 dev=3",               "ynynnnnn" },
	{ "udp 0.0.0.0:53 dev=10 mdev=10",      "ynnyyynn" },
	{ "udp 0.0.0.0:53 dev=11 mdev=10",      "ynnynnnn" },
	{ "udp 0.0.0.0:53 dev=12 mdev=10",      "ynnnynnn" },
	{ "udp 0.0.0.0:53 dev=20 mdev=20",      "ynnnnnyy" },
	{ "udp 0.0.0.0:53 dev=21 mdev=20",      "ynnnnnyn" },
	{ "tcp 0.0.0.0:53 listen",              "yyynnnnn" },
	{ "tcp 0.0.0.0:53 listen l3any",        "yyyyyyyy" },
	{ "tcp 0.0.0.0:53 dev=11 mdev=10 listen", "ynnynnnn" },
	{ "ping 0.0.0.0:53",                    "yyyyyyyy" },
	{ "ping 0.0.0.0:53 dev=10 mdev=10",     "ynnyyynn" },
};

static void dev_row_desc(const struct dev_row *r, char *desc)
{
	strscpy(desc, r->set, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(dev_row, dev_rows, dev_row_desc);

/* A packet address for @s (10.0.0.2 -> 10.0.0.1) on the pair @p. */
static struct ddemux_paddr dev_paddr(const struct ddemux_aset *s, int p)
{
	struct ddemux_paddr pa = { };

	pa.proto = s->proto;
	pa.fam = DDEMUX_FAM_V4;
	ddemux_addr_set_v4(&pa.laddr, htonl(0x0a000001));
	ddemux_addr_set_v4(&pa.raddr, htonl(0x0a000002));
	pa.lport = s->lport;
	pa.rport = s->proto == DDEMUX_PING ? 0 : 4000;
	pa.dev = dev_pairs[p][0];
	pa.sdif = dev_pairs[p][1];
	return pa;
}

static void test_contains_dev(struct kunit *test)
{
	const struct dev_row *r = test->param_value;
	struct ddemux_aset s = tu_set(test, r->set);
	int p;

	KUNIT_ASSERT_EQ(test, strlen(r->in), ARRAY_SIZE(dev_pairs));
	for (p = 0; p < ARRAY_SIZE(dev_pairs); p++) {
		struct ddemux_paddr pa = dev_paddr(&s, p);

		KUNIT_EXPECT_EQ_MSG(test, ddemux_contains(&s, &pa), r->in[p] == 'y',
				    "%s on (dif %d, sdif %d)", r->set,
				    dev_pairs[p][0], dev_pairs[p][1]);
	}
}

/*
 * The rows above as the definition: two sets overlap exactly when a
 * known pair (not "unknown") is in both, and one is within the other
 * exactly when every pair of the first is in the second.
 */
static void test_dev_model(struct kunit *test)
{
	int i, j, p;

	for (i = 0; i < ARRAY_SIZE(dev_rows); i++) {
		struct ddemux_aset a = tu_set(test, dev_rows[i].set);

		for (j = 0; j < ARRAY_SIZE(dev_rows); j++) {
			struct ddemux_aset b = tu_set(test, dev_rows[j].set);
			bool same = a.proto == b.proto, meet = false, sub = true;

			for (p = 1; p < ARRAY_SIZE(dev_pairs); p++) {
				bool in_a = dev_rows[i].in[p] == 'y';
				bool in_b = dev_rows[j].in[p] == 'y';

				meet |= in_a && in_b;
				sub &= !in_a || in_b;
			}
			KUNIT_EXPECT_EQ_MSG(test, ddemux_overlap(&a, &b), same && meet,
					    "overlap: %s vs %s", dev_rows[i].set,
					    dev_rows[j].set);
			KUNIT_EXPECT_EQ_MSG(test, ddemux_aset_within(&a, &b),
					    same && sub, "within: %s in %s",
					    dev_rows[i].set, dev_rows[j].set);
		}
	}
}

/* ---- packet addresses -------------------------------------------------- */

struct contains_case {
	const char *set, *pa;
	bool in;
	const char *desc;
};

static const struct contains_case contains_cases[] = {
	{ "udp 0.0.0.0:53", "udp 10.0.0.2:4000 > 10.0.0.1:53", true, "v4 wildcard" },
	{ "udp 10.0.0.1:53", "udp 10.0.0.2:4000 > 10.0.0.3:53", false, "other address" },
	{ "udp [::]:53", "udp 10.0.0.2:4000 > 10.0.0.1:53", true, "v4 in dual" },
	{ "udp [::]:53 v6only", "udp 10.0.0.2:4000 > 10.0.0.1:53", false, "v4 not in v6only" },
	{ "udp 10.0.0.1:53 10.0.0.2:4000", "udp 10.0.0.2:4001 > 10.0.0.1:53", false,
	  "connected, other peer port" },
	{ "udp 10.0.0.1:53 10.0.0.2:*", "udp 10.0.0.2:4001 > 10.0.0.1:53", true,
	  "connected to any port" },
	{ "udp 0.0.0.0:53 dev=2", "udp 10.0.0.2:4000 > 10.0.0.1:53", true,
	  "unknown device: any" },
	{ "udp 0.0.0.0:53 dev=11 mdev=10", "udp 10.0.0.2:4000 > 10.0.0.1:53 dev=10 sdif=11",
	  true, "slave-bound, arrived on the slave" },
	{ "udp 0.0.0.0:53", "udp 10.0.0.2:4000 > 10.0.0.1:53 dev=10 sdif=11", false,
	  "unbound, arrived in a VRF" },
	{ "ping 0.0.0.0:7 10.0.0.9:*", "ping 10.0.0.2:0 > 10.0.0.1:7", true,
	  "connected ping, reply from anyone" },
	{ "ping 10.0.0.1:7", "ping 10.0.0.2:0 > 10.0.0.1:8", false, "ping, other ident" },
	{ "ping [::]:7", "ping 10.0.0.2:0 > 10.0.0.1:7", false, "ICMP echo, ICMPv6 socket" },
	{ "ping [::]:7", "ping [2001:db8::2]:0 > [2001:db8::1]:7", true,
	  "ICMPv6 echo, ICMPv6 socket" },
	{ "udp 239.1.2.3:5000", "udp 10.0.0.2:4000 > 239.1.2.3:5000", true,
	  "datagram to its group" },
};

static void contains_desc(const struct contains_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(contains, contains_cases, contains_desc);

static void test_contains(struct kunit *test)
{
	const struct contains_case *c = test->param_value;
	struct ddemux_aset s = tu_set(test, c->set);
	struct ddemux_paddr pa = tu_paddr(test, c->pa);

	KUNIT_EXPECT_EQ_MSG(test, ddemux_contains(&s, &pa), c->in, "%s / %s",
			    c->set, c->pa);
}

/* ---- within: a change that needs no new judgment ------------------------ */

struct within_case {
	const char *a, *b;
	bool within;
	const char *desc;
};

static const struct within_case within_cases[] = {
	{ "udp 0.0.0.0:53", "udp 0.0.0.0:53", true, "itself" },
	{ "udp 10.0.0.1:53 10.0.0.2:4000", "udp 10.0.0.1:53", true, "connect narrows" },
	{ "udp 10.0.0.1:53 10.0.0.2:4000", "udp 0.0.0.0:53", true,
	  "connect picks a source address" },
	{ "udp 10.0.0.1:53", "udp 10.0.0.1:53 10.0.0.2:4000", false, "disconnect widens" },
	{ "udp 10.0.0.1:53 10.0.0.2:4000", "udp 10.0.0.1:53 10.0.0.2:*", true,
	  "peer port within any port" },
	{ "udp 10.0.0.1:53 10.0.0.2:*", "udp 10.0.0.1:53 10.0.0.2:4000", false,
	  "any peer port not within one" },
	{ "udp 10.0.0.1:53 10.0.0.2:4000", "udp 10.0.0.1:53 10.0.0.3:4000", false,
	  "another peer" },
	{ "udp 10.0.0.1:53", "udp 10.0.0.2:53", false, "another address" },
	{ "udp 10.0.0.1:53", "udp 10.0.0.1:54", false, "another port" },
	{ "udp 10.0.0.1:53", "udplite 10.0.0.1:53", false, "another protocol" },
	{ "udp 0.0.0.0:53", "udp 10.0.0.1:53", false, "wildcard not within specific" },
	/* families */
	{ "udp 10.0.0.1:53", "udp [::]:53", true, "v4 within dual" },
	{ "udp 0.0.0.0:53", "udp [::]:53", true, "v4 wildcard within dual" },
	{ "udp [::]:53", "udp 0.0.0.0:53", false, "dual not within v4" },
	{ "udp [::]:53", "udp [::]:53 v6only", false, "dual not within v6only" },
	{ "udp [::]:53 v6only", "udp [::]:53", true, "v6only within dual" },
	{ "udp 10.0.0.1:53", "udp [::]:53 v6only", false, "v4 not within v6only" },
	{ "udp [::1]:53", "udp 0.0.0.0:53", false, "v6 not within v4 wildcard" },
	{ "udp [::ffff:10.0.0.1]:53", "udp 10.0.0.1:53", true, "mapped within v4" },
	{ "udp 10.0.0.1:53", "udp [::ffff:10.0.0.1]:53", true, "v4 within mapped" },
	{ "udp [::]:53 [::ffff:10.0.0.2]:4000", "udp 0.0.0.0:53", true,
	  "dual connected to v4 within v4 wildcard" },
	/* devices */
	{ "udp 0.0.0.0:53 dev=2", "udp 0.0.0.0:53", true, "binding to a device narrows" },
	{ "udp 0.0.0.0:53", "udp 0.0.0.0:53 dev=2", false, "unbinding widens" },
	{ "udp 0.0.0.0:53 dev=2", "udp 0.0.0.0:53 dev=3", false, "another device" },
	{ "udp 0.0.0.0:53 dev=11 mdev=10", "udp 0.0.0.0:53 dev=10 mdev=10", true,
	  "slave within its VRF" },
	{ "udp 0.0.0.0:53 dev=10 mdev=10", "udp 0.0.0.0:53 dev=11 mdev=10", false,
	  "VRF not within a slave" },
	{ "udp 0.0.0.0:53 dev=11 mdev=10", "udp 0.0.0.0:53 dev=12 mdev=10", false,
	  "slave not within another slave" },
	{ "udp 0.0.0.0:53 dev=11 mdev=10", "udp 0.0.0.0:53", false,
	  "VRF slave not within unbound" },
	{ "udp 0.0.0.0:53 dev=10 mdev=10", "udp 0.0.0.0:53", false, "VRF not within unbound" },
	{ "udp 0.0.0.0:53 dev=11 mdev=10", "udp 0.0.0.0:53 l3any", true,
	  "VRF slave within l3mdev_accept" },
	{ "udp 0.0.0.0:53 dev=10 mdev=10", "udp 0.0.0.0:53 l3any", true,
	  "VRF within l3mdev_accept" },
	{ "udp 0.0.0.0:53 dev=2", "udp 0.0.0.0:53 l3any", true,
	  "plain device within l3mdev_accept" },
	{ "udp 0.0.0.0:53", "udp 0.0.0.0:53 l3any", true, "unbound within l3mdev_accept" },
	{ "udp 0.0.0.0:53 l3any", "udp 0.0.0.0:53", false, "l3mdev_accept not within unbound" },
	{ "udp 0.0.0.0:53 l3any", "udp 0.0.0.0:53 dev=10 mdev=10", false,
	  "l3mdev_accept not within a VRF" },
	/* ping: the remote plays no part */
	{ "ping 0.0.0.0:7 10.0.0.1:*", "ping 0.0.0.0:7", true, "ping connect" },
	{ "ping 0.0.0.0:7", "ping 0.0.0.0:7 10.0.0.1:*", true, "ping disconnect" },
	{ "ping 0.0.0.0:7 10.0.0.1:*", "ping 0.0.0.0:7 10.0.0.2:*", true,
	  "ping to another remote" },
	{ "ping 10.0.0.1:7 10.0.0.2:*", "ping 10.0.0.3:7", false,
	  "ping, other local address" },
	{ "ping [::]:7", "ping 0.0.0.0:7", false, "icmpv6 not within icmp" },
	/* neither domain nor state nor opt-in */
	{ "tcp 0.0.0.0:80 listen uid=1", "tcp 0.0.0.0:80 uid=2 ra", true,
	  "listen, other domain and flags" },
	{ "udp 10.0.0.255:137 group", "udp 10.0.0.255:137", true, "group flag" },
};

static void within_desc(const struct within_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(within, within_cases, within_desc);

static void test_within(struct kunit *test)
{
	const struct within_case *c = test->param_value;
	struct ddemux_aset a = tu_set(test, c->a), b = tu_set(test, c->b);

	KUNIT_EXPECT_EQ_MSG(test, ddemux_aset_within(&a, &b), c->within,
			    "%s in %s", c->a, c->b);
	KUNIT_EXPECT_TRUE_MSG(test, ddemux_aset_within(&a, &a), "%s in itself", c->a);
	/* a non-empty set within another overlaps it */
	if (c->within && a.fam)
		KUNIT_EXPECT_TRUE_MSG(test, ddemux_overlap(&a, &b), "%s / %s",
				      c->a, c->b);
}

/* ---- Linux's bind-conflict matrix (bind_wildcard.c) ------------------- */

struct bind_matrix_row {
	const char *name;
	int family[2];
	const char *addr[2];
	bool v6only[2];
	u8 inuse[8];
	u8 inuse_reuse[8];
};

#include "bind_wildcard_matrix.h"

static void matrix_desc(const struct bind_matrix_row *r, char *desc)
{
	strscpy(desc, r->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bind_matrix, bind_matrix, matrix_desc);

/* the fixed six binds that follow the variant's two */
static const struct {
	int family;
	const char *addr;
} matrix_tail[6] = {
	{ 4, "0.0.0.0" }, { 4, "127.0.0.1" }, { 6, "::" }, { 6, "::1" },
	{ 6, "::ffff:0.0.0.0" }, { 6, "::ffff:127.0.0.1" },
};

static struct ddemux_aset matrix_set(struct kunit *test, int family,
				     const char *addr, bool v6only)
{
	char desc[64];

	if (family == 4)
		snprintf(desc, sizeof(desc), "tcp %s:4000", addr);
	else
		snprintf(desc, sizeof(desc), "tcp [%s]:4000%s", addr,
			 v6only ? " v6only" : "");
	return tu_set(test, desc);
}

/*
 * Replay the selftest: eight TCP binds to one port, each refused by the
 * kernel when it conflicts with a socket bound before it.  Without reuse
 * options a conflict is an overlap; with SO_REUSEADDR (or SO_REUSEPORT,
 * same uid) on the first two, those two never conflict with each other.
 */
static void test_bind_matrix(struct kunit *test)
{
	const struct bind_matrix_row *r = test->param_value;
	struct ddemux_aset s[8];
	int reuse, i, j;

	for (i = 0; i < 8; i++)
		s[i] = i < 2 ? matrix_set(test, r->family[i], r->addr[i],
					  r->v6only[i]) :
			       matrix_set(test, matrix_tail[i - 2].family,
					  matrix_tail[i - 2].addr, false);

	for (reuse = 0; reuse <= 1; reuse++) {
		bool bound[8] = { };

		for (i = 0; i < 8; i++) {
			bool conflict = false;

			for (j = 0; j < i; j++)
				if (bound[j] && ddemux_overlap(&s[i], &s[j]) &&
				    !(reuse && i < 2 && j < 2))
					conflict = true;
			KUNIT_EXPECT_EQ_MSG(test, conflict,
					    (bool)(reuse ? r->inuse_reuse[i] :
							   r->inuse[i]),
					    "%s bind #%d%s", r->name, i,
					    reuse ? " (reuse)" : "");
			bound[i] = !conflict;
		}
	}
}

/* ---- rules 2 and 4: decisions ----------------------------------------- */

struct decide_case {
	u8 mode, domain;
	const char *shares;
	const char *new, *old;
	enum ddemux_verdict verdict;
	enum ddemux_reason reason;
	const char *desc;
};

#define ENF DDEMUX_MODE_ENFORCE
#define AUD DDEMUX_MODE_AUDIT
#define OFF DDEMUX_MODE_OFF
#define UID DDEMUX_DOM_UID
#define CG DDEMUX_DOM_CGROUP
#define BOTH DDEMUX_DOM_ALL

static const struct decide_case decide_cases[] = {
	/* the holes of stock Linux, refused across users */
	{ ENF, UID, NULL, "udp 0.0.0.0:53 uid=1001 ra", "udp 0.0.0.0:53 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "udp SO_REUSEADDR co-bind across users" },
	{ ENF, UID, NULL, "udp [::]:53 uid=1001 ra", "udp [::]:53 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "udp6 dual co-bind across users" },
	{ ENF, UID, NULL, "udp [::1]:53 uid=1001 ra", "udp [::]:53 v6only uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "udp6 specific under a v6only wildcard" },
	{ ENF, UID, NULL, "udp 127.0.0.1:53 uid=1001 ra", "udp [::]:53 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "udp4 specific under a dual wildcard" },
	{ ENF, UID, NULL, "udp 10.0.0.1:53 uid=1001 ra", "udp 0.0.0.0:53 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "specific address shadowing a wildcard" },
	{ ENF, UID, NULL, "udp 0.0.0.0:53 uid=1001 ra", "udp 10.0.0.1:53 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "wildcard over a specific address" },
	{ ENF, UID, NULL, "udp 10.0.0.1:53 10.0.0.2:4000 uid=1001 ra",
	  "udp 0.0.0.0:53 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "connected socket shadowing a wildcard" },
	{ ENF, UID, NULL, "tcp 0.0.0.0:8080 uid=1001 ra", "tcp 0.0.0.0:8080 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "tcp squat before listen" },
	{ ENF, UID, NULL, "tcp 10.0.0.1:8080 uid=1001 ra", "tcp 0.0.0.0:8080 listen uid=1000",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "tcp specific bind under a listener" },
	{ ENF, UID, NULL, "ping 0.0.0.0:77 uid=1001 ra", "ping 0.0.0.0:77 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "ping ident shared across users" },
	{ ENF, UID, NULL, "udp 0.0.0.0:53 uid=1001 rp", "udp 0.0.0.0:53 uid=1000 rp",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "SO_REUSEPORT across users" },
	{ ENF, UID, NULL, "udp 0.0.0.0:53 dev=3 uid=1001", "udp 0.0.0.0:53 uid=1000",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "device-bound under an unbound socket" },
	/* what stays allowed */
	{ ENF, UID, NULL, "udp 0.0.0.0:53 uid=1000 ra", "udp 0.0.0.0:53 uid=1000 ra",
	  DDEMUX_ALLOW, DDEMUX_R_SAME_DOMAIN, "same user co-bind" },
	{ ENF, UID, NULL, "udp 0.0.0.0:53 uid=1000", "udp 0.0.0.0:53 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_SAME_DOMAIN, "same user without opt-in: kernel decides" },
	{ ENF, UID, NULL, "udp 10.0.0.2:53 uid=1001", "udp 10.0.0.1:53 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "two addresses, two users" },
	{ ENF, UID, NULL, "udp 127.0.0.1:53 uid=1001", "udp [::]:53 v6only uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "v4 next to a v6only wildcard" },
	{ ENF, UID, NULL, "udp 0.0.0.0:53 dev=3 uid=1001", "udp 0.0.0.0:53 dev=2 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "two devices, two users" },
	{ ENF, UID, NULL, "tcp 10.0.0.1:80 10.0.0.2:5000 uid=1001",
	  "tcp 10.0.0.1:80 10.0.0.2:5001 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "two tcp connections, two users" },
	{ ENF, UID, NULL, "ping 0.0.0.0:78 uid=1001", "ping 0.0.0.0:77 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "two ping idents, two users" },
	{ ENF, UID, NULL, "ping 0.0.0.0:77 10.0.0.2:* uid=1001",
	  "ping 0.0.0.0:77 10.0.0.3:* uid=1000",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "ping ident connected to two hosts" },
	{ ENF, UID, NULL, "ping [::]:77 uid=1001", "ping 0.0.0.0:77 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "ICMPv6 and ICMP echo, one ident" },
	/* VRFs: an unbound socket receives their traffic only with l3mdev_accept */
	{ ENF, UID, NULL, "udp 0.0.0.0:53 dev=10 mdev=10 uid=1001", "udp 0.0.0.0:53 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "VRF-bound next to an unbound socket" },
	{ ENF, UID, NULL, "udp 0.0.0.0:53 dev=10 mdev=10 uid=1001",
	  "udp 0.0.0.0:53 l3any uid=1000",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "VRF-bound under an l3mdev_accept socket" },
	{ ENF, UID, NULL, "tcp 0.0.0.0:80 dev=11 mdev=10 uid=1001",
	  "tcp 0.0.0.0:80 dev=10 mdev=10 listen uid=1000",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "slave-bound under a VRF listener" },
	{ ENF, UID, NULL, "tcp 0.0.0.0:80 dev=11 mdev=10 uid=1001",
	  "tcp 0.0.0.0:80 dev=12 mdev=10 listen uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "two slaves of one VRF, two users" },
	{ ENF, UID, NULL, "ping 0.0.0.0:77 dev=10 mdev=10 uid=1001", "ping 0.0.0.0:77 uid=1000",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "ping in a VRF under an unbound ping socket" },
	/* group addresses: every member receives every datagram */
	{ ENF, UID, NULL, "udp 239.1.2.3:5000 uid=1001", "udp 239.1.2.3:5000 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "two users on one multicast group" },
	{ ENF, UID, NULL, "udp 239.1.2.3:5000 uid=1001", "udp 0.0.0.0:5000 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "multicast group under a wildcard" },
	{ ENF, UID, NULL, "udp 0.0.0.0:5000 uid=1001", "udp 239.1.2.3:5000 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "wildcard over a multicast group" },
	{ ENF, UID, NULL, "udp [ff02::fb]:5353 uid=1001", "udp [::]:5353 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "mDNS group under a dual wildcard" },
	{ ENF, UID, NULL, "udp [::ffff:224.0.0.251]:5353 uid=1001", "udp [::]:5353 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "mapped IPv4 group under a dual wildcard" },
	{ ENF, UID, NULL, "udp 255.255.255.255:67 uid=1001", "udp 0.0.0.0:67 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "limited broadcast under a wildcard" },
	{ ENF, UID, NULL, "udp 10.0.0.255:137 group uid=1001", "udp 0.0.0.0:137 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "subnet broadcast the hooks recognised" },
	{ ENF, UID, NULL, "udp 10.0.0.255:137 uid=1001", "udp 0.0.0.0:137 uid=1000",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "an address the hooks did not mark" },
	{ ENF, UID, NULL, "udp 239.1.2.3:5000 10.0.0.9:6000 uid=1001",
	  "udp 239.1.2.3:5000 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "connected on a multicast group" },
	{ ENF, UID, NULL, "udp 239.1.2.3:5000 uid=1000", "udp 239.1.2.3:5000 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_SAME_DOMAIN, "one user on a group: same-domain first" },
	{ ENF, UID, NULL, "udp 239.1.2.3:5000 uid=1001", "udp 239.1.2.4:5000 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "two groups: no overlap first" },
	{ ENF, UID, NULL, "udp [ff02::fb]:5353 uid=1001", "udp 0.0.0.0:5353 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_NO_OVERLAP, "IPv6 group next to a v4 wildcard" },
	{ AUD, UID, NULL, "udp 239.1.2.3:5000 uid=1001", "udp 0.0.0.0:5000 uid=1000",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "group in audit mode: nothing to report" },
	{ ENF, UID, "add udp 5000", "udp 239.1.2.3:5000 uid=1001",
	  "udp 0.0.0.0:5000 uid=1000 ra",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "group on a shared port needs no opt-in" },
	{ ENF, CG, NULL, "udp 239.1.2.3:5000 uid=1 cg=8", "udp 239.1.2.3:5000 uid=1 cg=7",
	  DDEMUX_ALLOW, DDEMUX_R_GROUP, "one group, two cgroups" },
	/* modes */
	{ AUD, UID, NULL, "udp 0.0.0.0:53 uid=1001 ra", "udp 0.0.0.0:53 uid=1000 ra",
	  DDEMUX_AUDIT, DDEMUX_R_CROSS_DOMAIN, "audit mode allows and reports" },
	{ OFF, UID, NULL, "udp 0.0.0.0:53 uid=1001 ra", "udp 0.0.0.0:53 uid=1000 ra",
	  DDEMUX_ALLOW, DDEMUX_R_CROSS_DOMAIN, "off mode allows" },
	{ AUD, UID, NULL, "udp 0.0.0.0:53 uid=1000 ra", "udp 0.0.0.0:53 uid=1000 ra",
	  DDEMUX_ALLOW, DDEMUX_R_SAME_DOMAIN, "audit mode, same user" },
	/* domains */
	{ ENF, CG, NULL, "udp 0.0.0.0:53 uid=1000 cg=7 rp", "udp 0.0.0.0:53 uid=1000 cg=8 rp",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "cgroup domain: same user, two cgroups" },
	{ ENF, UID, NULL, "udp 0.0.0.0:53 uid=1000 cg=7 rp", "udp 0.0.0.0:53 uid=1000 cg=8 rp",
	  DDEMUX_ALLOW, DDEMUX_R_SAME_DOMAIN, "uid domain: cgroups do not matter" },
	{ ENF, CG, NULL, "udp 0.0.0.0:53 uid=1001 cg=7 ra", "udp 0.0.0.0:53 uid=1000 cg=7 ra",
	  DDEMUX_ALLOW, DDEMUX_R_SAME_DOMAIN, "cgroup domain: two users, one cgroup" },
	{ ENF, BOTH, NULL, "udp 0.0.0.0:53 uid=1000 cg=7 ra", "udp 0.0.0.0:53 uid=1000 cg=7 ra",
	  DDEMUX_ALLOW, DDEMUX_R_SAME_DOMAIN, "both: same user and cgroup" },
	{ ENF, BOTH, NULL, "udp 0.0.0.0:53 uid=1000 cg=8 ra", "udp 0.0.0.0:53 uid=1000 cg=7 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "both: other cgroup" },
	{ ENF, BOTH, NULL, "udp 0.0.0.0:53 uid=1001 cg=7 ra", "udp 0.0.0.0:53 uid=1000 cg=7 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "both: other user" },
	/* share rules */
	{ ENF, UID, "add udp 5353", "udp 0.0.0.0:5353 uid=1001 ra", "udp 0.0.0.0:5353 uid=1000 ra",
	  DDEMUX_ALLOW, DDEMUX_R_SHARED, "shared port, both SO_REUSEADDR" },
	{ ENF, UID, "add udp 5353", "udp 0.0.0.0:5353 uid=1001 rp", "udp 0.0.0.0:5353 uid=1000 ra",
	  DDEMUX_ALLOW, DDEMUX_R_SHARED, "shared port, SO_REUSEPORT counts" },
	{ ENF, UID, "add udp 5353", "udp 0.0.0.0:5353 uid=1001", "udp 0.0.0.0:5353 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_NOT_OPTED_IN, "shared port, new socket did not opt in" },
	{ ENF, UID, "add udp 5353", "udp 0.0.0.0:5353 uid=1001 ra", "udp 0.0.0.0:5353 uid=1000",
	  DDEMUX_DENY, DDEMUX_R_NOT_OPTED_IN, "shared port, holder did not opt in" },
	{ AUD, UID, "add udp 5353", "udp 0.0.0.0:5353 uid=1001", "udp 0.0.0.0:5353 uid=1000 ra",
	  DDEMUX_AUDIT, DDEMUX_R_NOT_OPTED_IN, "shared port without opt-in, audit mode" },
	{ ENF, UID, "add udp 5000-6000", "udp 0.0.0.0:5353 uid=1001 ra",
	  "udp 0.0.0.0:5353 uid=1000 ra",
	  DDEMUX_ALLOW, DDEMUX_R_SHARED, "port inside a shared range" },
	{ ENF, UID, "add udp 5354", "udp 0.0.0.0:5353 uid=1001 ra", "udp 0.0.0.0:5353 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "another port is shared" },
	{ ENF, UID, "add tcp 5353", "udp 0.0.0.0:5353 uid=1001 ra", "udp 0.0.0.0:5353 uid=1000 ra",
	  DDEMUX_DENY, DDEMUX_R_CROSS_DOMAIN, "the port is shared for tcp only" },
	{ ENF, UID, "add udp 5353", "udplite 0.0.0.0:5353 uid=1001 ra",
	  "udplite 0.0.0.0:5353 uid=1000 ra",
	  DDEMUX_ALLOW, DDEMUX_R_SHARED, "udp rules cover udplite" },
	{ ENF, UID, "add tcp 80", "tcp 0.0.0.0:80 uid=1001 rp", "tcp 0.0.0.0:80 uid=1000 rp",
	  DDEMUX_ALLOW, DDEMUX_R_SHARED, "shared tcp port" },
	{ ENF, UID, "add ping 77", "ping 0.0.0.0:77 uid=1001 ra", "ping 0.0.0.0:77 uid=1000 ra",
	  DDEMUX_ALLOW, DDEMUX_R_SHARED, "shared ping ident" },
	{ ENF, CG, "add udp 1900", "udp 0.0.0.0:1900 uid=1 cg=8 rp",
	  "udp 0.0.0.0:1900 uid=1 cg=7 rp",
	  DDEMUX_ALLOW, DDEMUX_R_SHARED, "shared port across cgroups" },
};

static void decide_desc(const struct decide_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(decide, decide_cases, decide_desc);

static void test_decide(struct kunit *test)
{
	const struct decide_case *c = test->param_value;
	struct ddemux_aset new = tu_set(test, c->new), old = tu_set(test, c->old);
	struct ddemux_policy pol = { .mode = c->mode, .domain = c->domain };
	struct ddemux_shares *shares = NULL;
	enum ddemux_reason reason;

	if (c->shares) {
		shares = kunit_kzalloc(test, sizeof(*shares), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, shares);
		KUNIT_ASSERT_EQ(test, ddemux_shares_apply(shares, c->shares,
							  strlen(c->shares)), 0);
		pol.shares = shares;
	}
	KUNIT_EXPECT_EQ(test, ddemux_decide(&pol, &new, &old, &reason),
			c->verdict);
	KUNIT_EXPECT_EQ_MSG(test, reason, c->reason, "got %s",
			    ddemux_reason_name(reason));
}

/* ---- rule 3: replies ---------------------------------------------------- */

struct reply_case {
	const char *pkt, *set;
	bool in_set;
	const char *desc;
};

static const struct reply_case reply_cases[] = {
	{ "udp 10.0.0.1:5000 > 10.0.0.2:53", "udp 0.0.0.0:5000", true,
	  "from its own port, wildcard socket" },
	{ "udp 10.0.0.1:5000 > 10.0.0.2:53", "udp 10.0.0.1:5000", true,
	  "from its own address and port" },
	{ "udp 10.0.0.3:5000 > 10.0.0.2:53", "udp 10.0.0.1:5000", false,
	  "IP_PKTINFO source onto another address" },
	{ "udp 10.0.0.1:5001 > 10.0.0.2:53", "udp 0.0.0.0:5000", false,
	  "forged source port" },
	{ "udp 10.0.0.1:5000 > 10.0.0.2:53", "udp 10.0.0.1:5000 10.0.0.2:53", true,
	  "connected, to its peer" },
	{ "udp 10.0.0.1:5000 > 10.0.0.9:53", "udp 10.0.0.1:5000 10.0.0.2:53", false,
	  "connected, sendto() another peer" },
	{ "udp 10.0.0.1:5000 > 10.0.0.2:99", "udp 10.0.0.1:5000 10.0.0.2:*", true,
	  "connected to any port of the peer" },
	{ "tcp 10.0.0.1:40000 > 10.0.0.2:80", "tcp 10.0.0.1:40000 10.0.0.2:80", true,
	  "tcp segment of its connection" },
	{ "tcp 10.0.0.1:80 > 10.0.0.2:5555", "tcp 0.0.0.0:80 listen", true,
	  "syn-ack of a listener" },
	{ "tcp 10.0.0.1:80 > 10.0.0.2:5555", "tcp 10.0.0.1:40000 10.0.0.2:80", false,
	  "rst from a port that is not its own" },
	{ "udp 10.0.0.1:5000 > 10.0.0.2:53", "tcp 0.0.0.0:5000", false, "other protocol" },
	{ "ping 10.0.0.1:77 > 10.0.0.2:0", "ping 0.0.0.0:77", true, "echo with its ident" },
	{ "ping 10.0.0.1:78 > 10.0.0.2:0", "ping 0.0.0.0:77", false, "echo with another ident" },
	{ "ping 10.0.0.1:77 > 10.0.0.2:0", "ping 0.0.0.0:77 10.0.0.2:*", true,
	  "echo to the connected peer" },
	{ "ping 10.0.0.1:77 > 10.0.0.3:0", "ping 0.0.0.0:77 10.0.0.2:*", true,
	  "echo to another host: ping ignores the remote" },
	{ "ping 10.0.0.3:77 > 10.0.0.2:0", "ping 10.0.0.1:77 10.0.0.2:*", false,
	  "echo from another local address" },
	{ "ping [2001:db8::1]:77 > [2001:db8::2]:0", "ping [::]:77", true,
	  "icmpv6 echo from an ICMPv6 socket" },
	{ "ping 10.0.0.1:77 > 10.0.0.2:0", "ping [::]:77", false,
	  "icmp echo: not in an ICMPv6 socket's set" },
	{ "udp [2001:db8::1]:5000 > [2001:db8::2]:53", "udp [::]:5000", true, "v6 from dual" },
	{ "udp [2001:db8::1]:5000 > [2001:db8::2]:53", "udp [::]:5000 v6only", true,
	  "v6 from v6only" },
	{ "udp [2001:db8::1]:5000 > [2001:db8::2]:53", "udp 0.0.0.0:5000", false,
	  "v6 packet, v4 socket" },
	{ "udp [2001:db8::3]:5000 > [2001:db8::2]:53", "udp [2001:db8::1]:5000", false,
	  "IPV6_PKTINFO source onto another address" },
	{ "udp 10.0.0.1:5000 > 10.0.0.2:53", "udp [::]:5000", true, "v4 from dual" },
	{ "udp 10.0.0.1:5000 > 10.0.0.2:53", "udp [::]:5000 v6only", false,
	  "v4 packet, v6only socket" },
	{ "udp 10.0.0.1:5000 > 10.0.0.2:53", "udp [::ffff:10.0.0.1]:5000", true,
	  "v4 from a mapped address" },
	{ "udp 10.0.0.1:5000 > 10.0.0.2:53", "udp 0.0.0.0:5000 dev=4", true,
	  "device is not part of the reply check" },
	{ "udp 10.0.0.1:5000 > 10.0.0.2:53", "udp 0.0.0.0:5000 dev=11 mdev=10", true,
	  "nor is a VRF" },
	{ "udp 239.1.2.3:5000 > 10.0.0.2:53", "udp 239.1.2.3:5000", true,
	  "from its multicast group" },
};

static void reply_desc(const struct reply_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(reply, reply_cases, reply_desc);

static void test_reply_in_set(struct kunit *test)
{
	const struct reply_case *c = test->param_value;
	struct ddemux_pkt pkt = tu_pkt(test, c->pkt);
	struct ddemux_aset set = tu_set(test, c->set);

	KUNIT_EXPECT_EQ_MSG(test, ddemux_reply_in_set(&pkt, &set), c->in_set,
			    "%s / %s", c->pkt, c->set);
}

static void test_reply_of(struct kunit *test)
{
	struct ddemux_pkt pkt = tu_pkt(test, "tcp 10.0.0.1:1000 > 10.0.0.2:80");
	struct ddemux_paddr r;
	struct ddemux_aset a = tu_set(test, "tcp 10.0.0.1:1000 10.0.0.2:80");

	ddemux_reply_of(&pkt, &r);
	KUNIT_EXPECT_EQ(test, r.lport, 1000);
	KUNIT_EXPECT_EQ(test, r.rport, 80);
	KUNIT_EXPECT_TRUE(test, ipv6_addr_equal(&r.laddr, &a.laddr));
	KUNIT_EXPECT_TRUE(test, ipv6_addr_equal(&r.raddr, &a.raddr));
	KUNIT_EXPECT_EQ(test, r.dev, 0);
	KUNIT_EXPECT_EQ(test, r.sdif, 0);

	pkt = tu_pkt(test, "ping 10.0.0.1:9 > 10.0.0.2:5");
	ddemux_reply_of(&pkt, &r);
	KUNIT_EXPECT_EQ(test, r.lport, 9);
	KUNIT_EXPECT_EQ(test, r.rport, 0);
}

/*
 * ddemux_aset_from_view(), the one definition of a socket's set, against
 * the same set put together by hand from the parts it is made of: the
 * local part, the peer when connected (TCP and DCCP: neither closed nor
 * listening; datagram: established), the state, the group mark of an
 * unconnected AF_INET socket whose inet_saddr is 0, the device, the
 * flags, ICMPv6 echo IPv6 only.
 */
static void test_aset_from_view(struct kunit *test)
{
	static const char *const v4s[] = { "0.0.0.0", "10.0.0.1", "224.0.0.9" };
	static const char *const v6s[] = { "::", "::1", "::ffff:0.0.0.0",
					   "::ffff:10.0.0.1", "ff02::1" };
	static const int states[] = { TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN,
				      TCP_SYN_SENT };
	struct rnd_state rnd;
	int i, connected_seen = 0, group_seen = 0;

	prandom_seed_state(&rnd, 11);
	for (i = 0; i < 20000; i++) {
		u32 r = prandom_u32_state(&rnd), q = prandom_u32_state(&rnd);
		struct in6_addr l6 = { }, r6 = { };
		struct ddemux_sock_view sv = { };
		struct ddemux_aset got, want = { };
		bool connected;

		sv.family = r & 1 ? AF_INET6 : AF_INET;
		sv.v6only = r & 2;
		sv.proto = (r >> 2) % DDEMUX_NPROTO;
		sv.state = states[(r >> 4) % ARRAY_SIZE(states)];
		sv.lport = 1 + (r >> 6) % 2;
		sv.rport = (r >> 7) % 3;
		sv.bound_dev = (r >> 9) % 3;
		sv.flags = (r >> 11) & (DDEMUX_OPTIN | DDEMUX_KERNEL |
					DDEMUX_MPTCP);
		in4_pton(v4s[q % 3], -1, (u8 *)&sv.v4_rcv_saddr, -1, NULL);
		in4_pton(v4s[(q >> 2) % 3], -1, (u8 *)&sv.v4_daddr, -1, NULL);
		sv.v4_saddr = (q >> 4) & 1 ? sv.v4_rcv_saddr : 0;
		in6_pton(v6s[(q >> 5) % 5], -1, l6.s6_addr, -1, NULL);
		in6_pton(v6s[(q >> 8) % 5], -1, r6.s6_addr, -1, NULL);
		sv.v6_rcv_saddr = &l6;
		sv.v6_daddr = &r6;

		ddemux_aset_from_view(&sv, &got);

		want.proto = sv.proto;
		want.lport = sv.lport;
		ddemux_aset_set_local(&want, sv.family, sv.v4_rcv_saddr, &l6,
				      sv.v6only || sv.proto == DDEMUX_PING);
		/* DCCP's states are TCP's numbers */
		if (sv.proto == DDEMUX_TCP || sv.proto == DDEMUX_DCCP)
			connected = sv.state != TCP_CLOSE &&
				    sv.state != TCP_LISTEN;
		else
			connected = sv.state == TCP_ESTABLISHED;
		if (connected) {
			ddemux_aset_set_remote(&want, sv.family, sv.v4_daddr,
					       &r6, sv.rport);
			want.state = DDEMUX_CONNECTED;
		} else if ((sv.proto == DDEMUX_TCP ||
			    sv.proto == DDEMUX_DCCP) &&
			   sv.state == TCP_LISTEN) {
			want.state = DDEMUX_LISTEN;
		}
		if (!connected && sv.family == AF_INET && sv.v4_rcv_saddr &&
		    !sv.v4_saddr)
			want.flags |= DDEMUX_GROUP;
		want.dev = sv.bound_dev;
		want.flags |= sv.flags;
		ddemux_aset_normalise(&want);

		if (memcmp(&got, &want, sizeof(got))) {
			KUNIT_FAIL(test, "case %d (r=%08x q=%08x): the view gives another set",
				   i, r, q);
			return;
		}
		connected_seen += connected;
		group_seen += !!(got.flags & DDEMUX_GROUP);
	}
	KUNIT_EXPECT_GT(test, connected_seen, 1000);
	KUNIT_EXPECT_GT(test, group_seen, 1000);
}

/* ---- the share-rule language ----------------------------------------- */

struct shares_case {
	const char *init;	/* applied first (may be NULL) */
	const char *in;
	size_t len;		/* 0: strlen(in) */
	int err;
	const char *out;	/* formatted afterwards when err == 0 */
	const char *desc;
};

static const struct shares_case shares_cases[] = {
	{ NULL, "add udp 5353", 0, 0, "add udp 5353\n", "one port" },
	{ NULL, "add udp 5353\n", 0, 0, "add udp 5353\n", "trailing newline" },
	{ NULL, "add tcp 1000-2000\nadd tcp 2001\n", 0, 0, "add tcp 1000-2001\n",
	  "adjacent ranges merge" },
	{ NULL, "add tcp 10-20\nadd tcp 15-30\nadd tcp 5", 0, 0,
	  "add tcp 5\nadd tcp 10-30\n", "overlapping ranges merge, order kept" },
	{ NULL, "add tcp 30\nadd tcp 10\nadd tcp 20", 0, 0,
	  "add tcp 10\nadd tcp 20\nadd tcp 30\n", "sorted" },
	{ NULL, "add tcp 10\nadd tcp 30\nadd tcp 11-29", 0, 0, "add tcp 10-30\n",
	  "a range bridging two" },
	{ NULL, "add ping 1-65535\nadd udp 53\nadd tcp 80", 0, 0,
	  "add tcp 80\nadd udp 53\nadd ping 1-65535\n", "three protocols" },
	{ NULL, "\n\n# a comment\n\t\n  add \t udp   53  ", 0, 0, "add udp 53\n",
	  "blanks, empty lines and comments" },
	{ NULL, "# saved by the admin, five words or more\nadd udp 1", 0, 0,
	  "add udp 1\n", "a long comment" },
	{ "add udp 1000-2000", "del udp 1500", 0, 0,
	  "add udp 1000-1499\nadd udp 1501-2000\n", "del splits a range" },
	{ "add udp 1000-2000", "del udp 500-1200", 0, 0, "add udp 1201-2000\n",
	  "del trims the front" },
	{ "add udp 1000-2000", "del udp 1900-3000", 0, 0, "add udp 1000-1899\n",
	  "del trims the back" },
	{ "add udp 1000-2000\nadd udp 3000", "del udp 1-65535", 0, 0, "",
	  "del everything" },
	{ "add udp 1000-2000\nadd tcp 5", "flush", 0, 0, "", "flush" },
	{ "add udp 53", "del udp 54", 0, -ENOENT, NULL, "del of a port not shared" },
	{ "add udp 53", "del tcp 53", 0, -ENOENT, NULL, "del in the wrong protocol" },
	{ NULL, "add udp 0", 0, -EINVAL, NULL, "port 0" },
	{ NULL, "add udp 65536", 0, -EINVAL, NULL, "port 65536" },
	{ NULL, "add udp 100000", 0, -EINVAL, NULL, "six digits" },
	{ NULL, "add udp -5", 0, -EINVAL, NULL, "negative" },
	{ NULL, "add udp +5", 0, -EINVAL, NULL, "plus sign" },
	{ NULL, "add udp 0x10", 0, -EINVAL, NULL, "hex" },
	{ NULL, "add udp 5-", 0, -EINVAL, NULL, "open range" },
	{ NULL, "add udp -", 0, -EINVAL, NULL, "just a dash" },
	{ NULL, "add udp 6-5", 0, -EINVAL, NULL, "reversed range" },
	{ NULL, "add udp 1-2-3", 0, -EINVAL, NULL, "two dashes" },
	{ NULL, "add icmp 5", 0, -EINVAL, NULL, "unknown protocol" },
	{ NULL, "add UDP 5", 0, -EINVAL, NULL, "upper case" },
	{ NULL, "add udp", 0, -EINVAL, NULL, "missing port" },
	{ NULL, "add", 0, -EINVAL, NULL, "missing everything" },
	{ NULL, "add udp 5 6", 0, -EINVAL, NULL, "extra argument" },
	{ NULL, "add udp 5 6 7 8", 0, -EINVAL, NULL, "many extra arguments" },
	{ NULL, "flush now", 0, -EINVAL, NULL, "flush with an argument" },
	{ NULL, "ad udp 5", 0, -EINVAL, NULL, "unknown command" },
	{ NULL, "", 0, -EINVAL, NULL, "empty write" },
	{ NULL, "add udp 5\0", 10, -EINVAL, NULL, "embedded NUL" },
	{ NULL, "add udp 5\r\n", 0, -EINVAL, NULL, "carriage return" },
	{ NULL, "add udp 5\x80", 0, -EINVAL, NULL, "non-ASCII byte" },
	{ NULL, "add udp 53\nbogus\n", 0, -EINVAL, NULL, "a bad line after a good one" },
};

static void shares_desc(const struct shares_case *c, char *desc)
{
	strscpy(desc, c->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(shares, shares_cases, shares_desc);

static void test_shares_parse(struct kunit *test)
{
	const struct shares_case *c = test->param_value;
	struct ddemux_shares *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	char *buf = kunit_kzalloc(test, 4096, GFP_KERNEL);
	int n;

	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	if (c->init)
		KUNIT_ASSERT_EQ(test, ddemux_shares_apply(s, c->init,
							  strlen(c->init)), 0);
	KUNIT_EXPECT_EQ(test, ddemux_shares_apply(s, c->in,
						  c->len ? c->len : strlen(c->in)),
			c->err);
	if (c->err)
		return;
	n = ddemux_shares_format(s, buf, 4096);
	KUNIT_EXPECT_GE(test, n, 0);
	KUNIT_EXPECT_STREQ(test, buf, c->out);

	/* what is printed reads back to the same rules */
	if (n > 0) {
		struct ddemux_shares *t = kunit_kzalloc(test, sizeof(*t),
							GFP_KERNEL);
		int sp, i;

		KUNIT_ASSERT_NOT_NULL(test, t);
		KUNIT_EXPECT_EQ(test, ddemux_shares_apply(t, buf, n), 0);
		for (sp = 0; sp < DDEMUX_SHARE_NPROTO; sp++) {
			KUNIT_ASSERT_EQ(test, s->nr[sp], t->nr[sp]);
			for (i = 0; i < s->nr[sp]; i++) {
				KUNIT_EXPECT_EQ(test, s->r[sp][i].lo, t->r[sp][i].lo);
				KUNIT_EXPECT_EQ(test, s->r[sp][i].hi, t->r[sp][i].hi);
			}
		}
	}
}

static void test_shares_limits(struct kunit *test)
{
	struct ddemux_shares *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	char *big = kunit_kzalloc(test, DDEMUX_SHARES_WRITE_MAX + 1, GFP_KERNEL);
	char cmd[32];
	int i, n;

	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, big);
	for (i = 0; i < DDEMUX_SHARES_MAX; i++) {
		n = scnprintf(cmd, sizeof(cmd), "add udp %d", 2 * i + 1);
		KUNIT_ASSERT_EQ(test, ddemux_shares_apply(s, cmd, n), 0);
	}
	KUNIT_EXPECT_EQ(test, s->nr[DDEMUX_SHARE_UDP], DDEMUX_SHARES_MAX);
	n = scnprintf(cmd, sizeof(cmd), "add udp 1000");
	KUNIT_EXPECT_EQ(test, ddemux_shares_apply(s, cmd, n), -ENOSPC);
	n = scnprintf(cmd, sizeof(cmd), "del udp 1");
	KUNIT_EXPECT_EQ(test, ddemux_shares_apply(s, cmd, n), 0);
	/* merging does not need a slot: 2 joins 3 */
	n = scnprintf(cmd, sizeof(cmd), "add udp 2");
	KUNIT_EXPECT_EQ(test, ddemux_shares_apply(s, cmd, n), 0);
	/* a split needs one and there is one */
	n = scnprintf(cmd, sizeof(cmd), "add udp 1000-1010");
	KUNIT_EXPECT_EQ(test, ddemux_shares_apply(s, cmd, n), 0);
	n = scnprintf(cmd, sizeof(cmd), "del udp 1005");
	KUNIT_EXPECT_EQ(test, ddemux_shares_apply(s, cmd, n), -ENOSPC);
	/* the other protocols have their own room */
	n = scnprintf(cmd, sizeof(cmd), "add tcp 1005");
	KUNIT_EXPECT_EQ(test, ddemux_shares_apply(s, cmd, n), 0);

	/* overlong writes are refused before anything is parsed */
	memset(big, '\n', DDEMUX_SHARES_WRITE_MAX + 1);
	KUNIT_EXPECT_EQ(test, ddemux_shares_apply(s, big, DDEMUX_SHARES_WRITE_MAX), 0);
	KUNIT_EXPECT_EQ(test, ddemux_shares_apply(s, big, DDEMUX_SHARES_WRITE_MAX + 1),
			-EINVAL);
	/* the formatter reports a short buffer instead of truncating */
	KUNIT_EXPECT_EQ(test, ddemux_shares_format(s, cmd, 8), -ENOSPC);
}

/*
 * Random adds and deletes against a bitmap model: coverage agrees for
 * every port, and the ranges stay sorted, disjoint and non-adjacent.
 */
static void test_shares_model(struct kunit *test)
{
	struct ddemux_shares *s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	struct ddemux_shares *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	unsigned long *model = kunit_kzalloc(test, BITS_TO_LONGS(65536) *
					     sizeof(long), GFP_KERNEL);
	struct rnd_state rnd;
	char cmd[48];
	int round, i;

	KUNIT_ASSERT_NOT_NULL(test, s);
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_NOT_NULL(test, model);
	prandom_seed_state(&rnd, 42);

	for (round = 0; round < 400; round++) {
		bool add = prandom_u32_state(&rnd) % 3;
		u32 lo = 1 + prandom_u32_state(&rnd) % 2000;
		u32 hi = min_t(u32, lo + prandom_u32_state(&rnd) % 40, 65535);
		bool any = false;
		int n, err, want;

		for (i = lo; i <= hi; i++)
			any |= test_bit(i, model);
		*t = *s;
		n = scnprintf(cmd, sizeof(cmd), "%s udp %u-%u",
			      add ? "add" : "del", lo, hi);
		err = ddemux_shares_apply(t, cmd, n);
		want = add || any ? 0 : -ENOENT;
		if (err == -ENOSPC)
			continue;	/* model unchanged, as is s */
		KUNIT_ASSERT_EQ_MSG(test, err, want, "%s", cmd);
		*s = *t;
		if (add)
			bitmap_set(model, lo, hi - lo + 1);
		else
			bitmap_clear(model, lo, hi - lo + 1);

		for (i = 1; i < s->nr[DDEMUX_SHARE_UDP]; i++)
			KUNIT_ASSERT_GT(test, (u32)s->r[DDEMUX_SHARE_UDP][i].lo,
					(u32)s->r[DDEMUX_SHARE_UDP][i - 1].hi + 1);
	}
	for (i = 1; i <= 65535; i++)
		if (ddemux_shares_cover(s, DDEMUX_UDP, i) != test_bit(i, model))
			KUNIT_FAIL(test, "port %d: rules and model disagree", i);
	KUNIT_EXPECT_FALSE(test, ddemux_shares_cover(s, DDEMUX_TCP, 1));
}

/* ---- model plumbing ---------------------------------------------------- */

static void test_normalise(struct kunit *test)
{
	struct ddemux_aset s = tu_set(test, "udp [::ffff:0.0.0.0]:53");

	KUNIT_EXPECT_EQ(test, s.fam, DDEMUX_FAM_V4);
	KUNIT_EXPECT_TRUE(test, ddemux_addr_any(&s.laddr));

	s = tu_set(test, "udp [::]:53");
	KUNIT_EXPECT_EQ(test, s.fam, DDEMUX_FAM_DUAL);
	s = tu_set(test, "udp [::]:53 v6only");
	KUNIT_EXPECT_EQ(test, s.fam, DDEMUX_FAM_V6);
	s = tu_set(test, "udp [::1]:53");
	KUNIT_EXPECT_EQ(test, s.fam, DDEMUX_FAM_V6);
	/* a dual socket connected to an IPv4 peer receives IPv4 only */
	s = tu_set(test, "udp [::]:53 [::ffff:10.0.0.2]:4000");
	KUNIT_EXPECT_EQ(test, s.fam, DDEMUX_FAM_V4);
	KUNIT_EXPECT_TRUE(test, ddemux_addr_is_v4(&s.raddr));
	/* ping keeps no remote: ping_lookup() does not look at it */
	s = tu_set(test, "ping 0.0.0.0:7 10.0.0.1:99");
	KUNIT_EXPECT_EQ(test, s.rport, 0);
	KUNIT_EXPECT_TRUE(test, ddemux_addr_any(&s.raddr));
	KUNIT_EXPECT_EQ(test, s.fam, DDEMUX_FAM_V4);
	KUNIT_EXPECT_EQ(test, s.state, DDEMUX_CONNECTED);
	s = tu_set(test, "ping [::]:7 [2001:db8::1]:*");
	KUNIT_EXPECT_TRUE(test, ddemux_addr_any(&s.raddr));
	KUNIT_EXPECT_EQ(test, s.fam, DDEMUX_FAM_V6);
	/* an ICMPv6 echo socket receives ICMPv6 alone, v6only or not */
	s = tu_set(test, "ping [::]:7");
	KUNIT_EXPECT_EQ(test, s.fam, DDEMUX_FAM_V6);
	/* and its remote does not narrow the family */
	s = tu_set(test, "udp [::]:7");
	s.proto = DDEMUX_PING;
	ddemux_addr_set_v4(&s.raddr, htonl(0x0a000001));
	s.rport = 9;
	ddemux_aset_normalise(&s);
	KUNIT_EXPECT_EQ(test, s.fam, DDEMUX_FAM_DUAL);
	KUNIT_EXPECT_TRUE(test, ddemux_addr_any(&s.raddr));
	KUNIT_EXPECT_EQ(test, s.rport, 0);
}

struct group_case {
	const char *set;
	bool group;
};

/* DDEMUX_GROUP as ddemux_aset_set_local() (and the hooks) set it */
static void test_group_flag(struct kunit *test)
{
	static const struct group_case cases[] = {
		{ "udp 239.1.2.3:5000", true },
		{ "udp 224.0.0.251:5353", true },
		{ "udp 224.0.0.0:1", true },
		{ "udp 239.255.255.255:1", true },
		{ "udp 255.255.255.255:67", true },
		{ "udp [ff02::fb]:5353", true },
		{ "udp [ff05::1:3]:547", true },
		{ "udp [::ffff:239.1.2.3]:5000", true },
		{ "udp [::ffff:255.255.255.255]:67", true },
		{ "udp 239.1.2.3:5000 10.0.0.2:4000", true },
		{ "tcp 239.1.2.3:80", true },
		{ "udp 10.0.0.255:137 group", true },
		{ "udp 10.0.0.255:137", false },
		{ "udp 223.255.255.255:1", false },
		{ "udp 240.0.0.1:1", false },
		{ "udp 255.255.255.254:1", false },
		{ "udp 0.0.0.0:5000", false },
		{ "udp 10.0.0.1:5000", false },
		{ "udp [::]:5000", false },
		{ "udp [::]:5000 v6only", false },
		{ "udp [::1]:5000", false },
		{ "udp [::ffff:0.0.0.0]:5000", false },
		{ "udp [::239.1.2.3]:5000", false },
		{ "udp [fe80::1]:5000", false },
		{ "udp 10.0.0.1:5000 239.1.2.3:4000", false },
	};
	const struct in6_addr any = { };
	struct ddemux_aset s;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		s = tu_set(test, cases[i].set);
		KUNIT_EXPECT_EQ_MSG(test, !!(s.flags & DDEMUX_GROUP), cases[i].group,
				    "%s", cases[i].set);
	}
	/* set again to a unicast address, the set loses the flag */
	s = tu_set(test, "udp 239.1.2.3:5000");
	ddemux_aset_set_local(&s, AF_INET, htonl(0x0a000001), &any, false);
	KUNIT_EXPECT_FALSE(test, s.flags & DDEMUX_GROUP);
	ddemux_aset_set_local(&s, AF_INET6, 0, &any, false);
	KUNIT_EXPECT_FALSE(test, s.flags & DDEMUX_GROUP);
	/* and the other flags stay */
	s = tu_set(test, "udp 0.0.0.0:5000 ra l3any");
	ddemux_aset_set_local(&s, AF_INET, htonl(0xe0000001), &any, false);
	KUNIT_EXPECT_EQ(test, s.flags, DDEMUX_REUSEADDR | DDEMUX_L3ANY | DDEMUX_GROUP);
}

static void expect_differs(struct kunit *test, const struct ddemux_aset *a,
			   const struct ddemux_aset *b, const char *field)
{
	KUNIT_EXPECT_FALSE_MSG(test, ddemux_aset_equal(a, b), "%s changed", field);
	KUNIT_EXPECT_FALSE_MSG(test, ddemux_aset_equal(b, a), "%s changed", field);
}

/* Equality is of every field: change any one and the records differ. */
static void test_aset_equal(struct kunit *test)
{
	const struct ddemux_aset a = tu_set(test, "udp 10.0.0.1:53 10.0.0.2:4000");
	struct ddemux_aset b = a;

	KUNIT_EXPECT_TRUE(test, ddemux_aset_equal(&a, &b));
	b.laddr.s6_addr[15]++;
	expect_differs(test, &a, &b, "laddr");
	b = a;
	b.raddr.s6_addr[15]++;
	expect_differs(test, &a, &b, "raddr");
	b = a;
	b.dom.uid = KUIDT_INIT(__kuid_val(a.dom.uid) + 1);
	expect_differs(test, &a, &b, "uid");
	b = a;
	b.dom.cgid++;
	expect_differs(test, &a, &b, "cgid");
	b = a;
	b.dev++;
	expect_differs(test, &a, &b, "dev");
	b = a;
	b.mdev++;
	expect_differs(test, &a, &b, "mdev");
	b = a;
	b.lport++;
	expect_differs(test, &a, &b, "lport");
	b = a;
	b.rport++;
	expect_differs(test, &a, &b, "rport");
	b = a;
	b.proto = DDEMUX_TCP;
	expect_differs(test, &a, &b, "proto");
	b = a;
	b.fam = DDEMUX_FAM_DUAL;
	expect_differs(test, &a, &b, "fam");
	b = a;
	b.state++;
	expect_differs(test, &a, &b, "state");
	b = a;
	b.flags ^= 1;
	expect_differs(test, &a, &b, "flags");
	b = a;
	b.flags ^= DDEMUX_L3ANY;
	expect_differs(test, &a, &b, "l3any");
	b = a;
	b.flags ^= DDEMUX_GROUP;
	expect_differs(test, &a, &b, "group");
}

static void test_format(struct kunit *test)
{
	static const struct {
		const char *set, *text;
	} cases[] = {
		{ "udp 0.0.0.0:53", "udp 0.0.0.0:53 *:*" },
		{ "tcp [::]:80", "tcp *:80 *:*" },
		{ "tcp [::]:80 v6only", "tcp [::]:80 *:*" },
		{ "udp [::1]:53", "udp [::1]:53 *:*" },
		{ "udp [::ffff:10.0.0.1]:53", "udp 10.0.0.1:53 *:*" },
		{ "udp 10.0.0.1:53 10.0.0.2:4000 dev=2", "udp 10.0.0.1:53 10.0.0.2:4000 dev=2" },
		{ "udp 10.0.0.1:53 10.0.0.2:*", "udp 10.0.0.1:53 10.0.0.2:*" },
		{ "ping 0.0.0.0:77", "ping 0.0.0.0:77 *:*" },
	};
	char buf[128];
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ddemux_aset s = tu_set(test, cases[i].set);

		ddemux_aset_format(&s, buf, sizeof(buf));
		KUNIT_EXPECT_STREQ(test, buf, cases[i].text);
	}
	KUNIT_EXPECT_STREQ(test, ddemux_reason_name(DDEMUX_R_CROSS_DOMAIN),
			   "cross-domain");
	KUNIT_EXPECT_STREQ(test, ddemux_reason_name(DDEMUX_R_GROUP), "group-address");
	KUNIT_EXPECT_STREQ(test, ddemux_reason_name(DDEMUX_R_NREASONS), "?");
}

static struct kunit_case ddemux_policy_cases[] = {
	KUNIT_CASE_PARAM(test_overlap, overlap_gen_params),
	KUNIT_CASE_PARAM(test_contains_dev, dev_row_gen_params),
	KUNIT_CASE(test_dev_model),
	KUNIT_CASE_PARAM(test_contains, contains_gen_params),
	KUNIT_CASE_PARAM(test_within, within_gen_params),
	KUNIT_CASE_PARAM(test_bind_matrix, bind_matrix_gen_params),
	KUNIT_CASE_PARAM(test_decide, decide_gen_params),
	KUNIT_CASE_PARAM(test_reply_in_set, reply_gen_params),
	KUNIT_CASE(test_reply_of),
	KUNIT_CASE(test_aset_from_view),
	KUNIT_CASE_PARAM(test_shares_parse, shares_gen_params),
	KUNIT_CASE(test_shares_limits),
	KUNIT_CASE(test_shares_model),
	KUNIT_CASE(test_normalise),
	KUNIT_CASE(test_group_flag),
	KUNIT_CASE(test_aset_equal),
	KUNIT_CASE(test_format),
	{}
};

static struct kunit_suite ddemux_policy_suite = {
	.name = "ddemux_policy",
	.test_cases = ddemux_policy_cases,
};

kunit_test_suite(ddemux_policy_suite);
