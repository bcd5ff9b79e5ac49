// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux_bench - a microbenchmark of the ddemux registry, not a test
 *
 * Linked with ddemux_table.o and ddemux_policy.o (the very sources of
 * ddemux.ko, see Kbuild), it drives the registry API the bind hooks use
 * on a registry of its own; the module itself is not involved.  Driven by
 * scripts/bench/registry.sh, which boots a VM, loads this module and
 * parses what it prints.
 *
 * Modes (module parameters):
 *
 *   sizes=1000,10000,100000,1000000 ops=100000 rounds=7
 *	Populate one registry per size and print, for every round and
 *	size, the ns per operation of: lookup-hit and lookup-miss
 *	(ddemux_reg_find_other(), the packet-path lookup, by a domain that
 *	holds nothing), the same over a few hot keys (lookup-hit-hot,
 *	lookup-miss-hot), lookup-owner (ddemux_reg_get(), by socket),
 *	insert (ddemux_reg_claim() of a new socket under enforce: check the
 *	port, record the set) and remove (ddemux_reg_release()); and, once
 *	per size, the registry's bytes per entry as the allocator sees them.
 *	Then free everything and fail the load with -EAGAIN, so nothing
 *	stays loaded.
 *   hold=N
 *	Claim N sets of the same population, print the bytes per entry and
 *	stay loaded, so that /proc/meminfo and /proc/slabinfo can be read
 *	with the registry full; rmmod frees it.
 *
 * The population.  Member i's set is a pure function of (seed, i), so a
 * lookup can rebuild any member's address without storing it:
 *   - protocol: TCP 3/4, UDP 1/4;
 *   - local port: uniform over 1..65535, so at 1M entries each TCP port
 *     holds about 11 sets and each UDP port about 4 (different addresses
 *     and 4-tuples on the same port, as on a busy host);
 *   - local address: uniform over 127.0.0.0/9 (2^23 addresses, never the
 *     wildcard);
 *   - half are connected, to a peer uniform over 127.0.0.0/8 and a port
 *     uniform over 1024..65535; the others listen (TCP) or are bound (UDP);
 *   - owner domain: one of users= (default 64) uids, each in a cgroup of
 *     its own, uniform, so ports mix domains and a check walks the port.
 * Claims are judged under enforce with uid domains and no share rule, as
 * ddemux loads by default.  Two members can overlap (same protocol, port
 * and local address, about one pair in a million); the later one is
 * refused like a real bind and counted in the "populate" info line.
 *
 * Keys.  lookup-hit asks for a uniformly drawn member's own address (the
 * peer of a connected member, a random remote otherwise): the walk stops
 * at the holder.  lookup-miss asks for a drawn member's protocol and port
 * at a local address in 127.128.0.0/9, which no member holds: the whole
 * port is walked and nothing found (the "walk" info line gives the mean
 * number of entries on those ports).  The -hot variants cycle through
 * 64 such keys, so that the memory they touch stays in the caches (and
 * in TCG's software TLB): against the plain cases, they tell the cost of
 * the walk from the cost of reaching cold memory.  lookup-owner asks for
 * a drawn member's socket.  insert claims fresh sets of the same
 * distribution, in batches of a tenth of the size (at most ops), and
 * remove releases them, so the registry stays between N and 1.1 N
 * entries.
 *
 * Timing.  ktime_get_ns() around chunks of 1024 operations (never per
 * operation), cond_resched() between chunks, outside the clock; the keys
 * are built before the clock starts.  The rhashtables' deferred resizes
 * are finished (flush_work) before anything is measured.  A round runs
 * each case at every size back to back, sizes ascending in odd rounds
 * and descending in even ones, so the per-round ratio of two sizes
 * compares measurements taken moments apart.
 *
 * Registry.  Each size gets a registry bounded as the module's is by
 * default (DDEMUX_MAX_ENTRIES, max_entries), or by the size if larger,
 * since the owner table stops growing at that bound.
 *
 * Memory.  ksize() of every entry and port node (found by walking the
 * registry's own rhashtables), plus the two bucket tables (ksize() if
 * kmalloc()ed, the page-rounded size if vmalloc()ed), over the entries
 * recorded.
 *
 * Output, one line each (after the "ddemux_bench: " prefix):
 *   R CASE ROUND VALUE UNIT      a result, e.g. "R lookup-hit-1000 1 93.4 ns/op"
 *   I ...                        information (counts, the breakdown)
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/rhashtable.h>
#include <linux/sched.h>
#include <linux/sort.h>
#include <linux/socket.h>
#include <linux/workqueue.h>

#include "ddemux.h"

#define BENCH_MAX_SIZES		8
#define BENCH_CHUNK		1024	/* operations per timed chunk */
#define BENCH_FRESH		BIT_ULL(40)	/* first index of insert sets */
#define BENCH_FRESH_OWNER	BIT_ULL(32)	/* first owner of insert sets */
#define BENCH_HOT		64	/* distinct keys of the hot cases */
#define BENCH_KEYS		(2 << 16)	/* port keys: TCP and UDP */

static unsigned int sizes[BENCH_MAX_SIZES] = { 1000, 10000, 100000, 1000000 };
static int nr_sizes = 4;
module_param_array(sizes, uint, &nr_sizes, 0444);
MODULE_PARM_DESC(sizes, "Registry sizes to measure at (default 1000,10000,100000,1000000)");

static unsigned int ops = 100000;
module_param(ops, uint, 0444);
MODULE_PARM_DESC(ops, "Operations per case, size and round (default 100000)");

static unsigned int rounds = 7;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "Repetitions of every case (default 7)");

static unsigned int users = 64;
module_param(users, uint, 0444);
MODULE_PARM_DESC(users, "Owner domains of the population (default 64)");

static ulong seed = 1;
module_param(seed, ulong, 0444);
MODULE_PARM_DESC(seed, "Seed of the population (default 1)");

static unsigned int hold;
module_param(hold, uint, 0444);
MODULE_PARM_DESC(hold, "Populate this many entries and stay loaded (memory check)");

/* Judged like a bind under ddemux's defaults: enforce, uid domains. */
static const struct ddemux_policy bench_pol = {
	.mode = DDEMUX_MODE_ENFORCE,
	.domain = DDEMUX_DOM_UID,
};

/* The domain asking the lookups: no member belongs to it. */
static const struct ddemux_domain bench_asker = {
	.uid = KUIDT_INIT(999),
	.cgid = 99,
};

/* One registry, holding the first @size members of the population. */
struct bench_reg {
	struct ddemux_registry reg;
	unsigned int size;
	u64 denied;			/* population claims refused */
	u64 unrecorded;			/* population claims not recorded */
	u32 *port_nr;			/* members recorded per port key */
	u64 walk;			/* sum over rounds: see bench_pkeys() */
};

/* What the cases share: the keys, built before each timed case. */
struct bench {
	struct rnd_state rnd;
	u64 fresh;			/* insert sets claimed so far */
	struct ddemux_paddr *pkeys;	/* ops packet addresses */
	const void **okeys;		/* ops owners */
	struct ddemux_aset *sets;	/* one insert batch */
};

static struct bench_reg *held;		/* hold mode: freed at exit */

/* splitmix64's finaliser: every bit of @x moves every bit of the result */
static u64 mix64(u64 x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* The socket of member @i: never dereferenced, spaced like struct sock. */
static const void *bench_owner(u64 i)
{
	return (const void *)(uintptr_t)((i + 1) * 2048);
}

/* The address set of member @i (see the header for the distribution). */
static void bench_set(u64 i, struct ddemux_aset *s)
{
	u64 h = mix64(seed ^ i), h2 = mix64(h);
	u32 user = (h2 >> 24) % users;

	memset(s, 0, sizeof(*s));
	s->proto = (h & 3) ? DDEMUX_TCP : DDEMUX_UDP;
	s->lport = 1 + ((h >> 2) & 0xffff) % 65535;
	ddemux_aset_set_local(s, AF_INET,
			      htonl(0x7f000000 | ((h >> 18) & 0x7fffff)),
			      NULL, false);
	if (h & BIT_ULL(41)) {
		ddemux_aset_set_remote(s, AF_INET,
				       htonl(0x7f000000 | (h2 & 0xffffff)),
				       NULL,
				       1024 + ((h >> 42) & 0xffff) % 64512);
		s->state = DDEMUX_CONNECTED;
	} else {
		s->state = s->proto == DDEMUX_TCP ? DDEMUX_LISTEN : DDEMUX_BOUND;
	}
	s->dom.uid = KUIDT_INIT(1000 + user);
	s->dom.cgid = 100 + user;
	ddemux_aset_normalise(s);
}

/* The registry's port key of @s, as an index of bench_reg->port_nr. */
static u32 bench_key(u8 proto, u16 port)
{
	return (u32)proto << 16 | port;
}

/*
 * A packet address on member @i's port: its own address (@hit) or one in
 * 127.128.0.0/9, where no member is bound.
 */
static void bench_paddr(struct bench *b, u64 i, bool hit,
			struct ddemux_paddr *pa)
{
	u32 r = prandom_u32_state(&b->rnd);
	struct ddemux_aset s;

	bench_set(i, &s);
	memset(pa, 0, sizeof(*pa));
	pa->proto = s.proto;
	pa->fam = DDEMUX_FAM_V4;
	pa->lport = s.lport;
	if (hit)
		pa->laddr = s.laddr;
	else
		ddemux_addr_set_v4(&pa->laddr, htonl(0x7f800000 | (r & 0x7fffff)));
	if (!ddemux_addr_any(&s.raddr)) {
		pa->raddr = s.raddr;
		pa->rport = s.rport;
	} else {
		r = prandom_u32_state(&b->rnd);
		ddemux_addr_set_v4(&pa->raddr, htonl(0x7f000000 | (r & 0xffffff)));
		pa->rport = 1024 + (r >> 24) * 251;
	}
}

/* A uniformly drawn member among the first @n. */
static u64 bench_draw(struct bench *b, unsigned int n)
{
	return prandom_u32_state(&b->rnd) % n;
}

/* Print a result: @ns over @n operations, one decimal. */
static void bench_result(const char *what, unsigned int size,
			 unsigned int round, u64 ns, u64 n)
{
	u64 v = div64_u64(ns * 10, max_t(u64, n, 1));

	pr_info("R %s-%u %u %llu.%llu ns/op\n", what, size, round,
		div_u64(v, 10), v % 10);
}

/* Claim the members of @g: the population is recorded as binds are. */
static void bench_populate(struct bench_reg *g)
{
	u64 i, t0 = ktime_get_ns(), t = 0, v;
	struct ddemux_conflict c;
	struct ddemux_aset s;

	for (i = 0; i < g->size; i++) {
		bench_set(i, &s);
		if (ddemux_reg_claim(&g->reg, bench_owner(i), &s, 1, 0,
				     &bench_pol, GFP_KERNEL, &c) == DDEMUX_DENY)
			g->denied++;
		else if (c.unrecorded)
			g->unrecorded++;
		else
			g->port_nr[bench_key(s.proto, s.lport)]++;
		if (!((i + 1) % BENCH_CHUNK)) {
			t += ktime_get_ns() - t0;
			cond_resched();
			t0 = ktime_get_ns();
		}
	}
	t += ktime_get_ns() - t0;
	v = div64_u64(t * 10, max(g->size, 1U));
	pr_info("I populate size=%u ns_per_claim=%llu.%llu denied=%llu unrecorded=%llu nomem=%lld full=%lld entries=%u\n",
		g->size, div_u64(v, 10), v % 10, g->denied, g->unrecorded,
		(s64)atomic64_read(&g->reg.nomem),
		(s64)atomic64_read(&g->reg.full), ddemux_reg_count(&g->reg));
}

/* Let @ht finish its deferred resizes, so that lookups see one table. */
static bool bench_settle(struct rhashtable *ht)
{
	struct bucket_table *tbl;
	unsigned int i;
	bool busy = true;

	for (i = 0; i < 64 && busy; i++) {
		flush_work(&ht->run_work);
		rcu_read_lock();
		tbl = rcu_dereference(ht->tbl);
		busy = tbl->nest || rcu_access_pointer(tbl->future_tbl) ||
		       atomic_read(&ht->nelems) > tbl->size / 4 * 3;
		rcu_read_unlock();
		if (busy)	/* what an insert does when it needs a resize */
			schedule_work(&ht->run_work);
	}
	return !busy;
}

/* Count the objects of @ht and add up their ksize(). */
static void bench_walk(struct rhashtable *ht, u64 *objs, u64 *bytes)
{
	struct rhashtable_iter it;
	void *obj;

	*objs = 0;
	*bytes = 0;
	rhashtable_walk_enter(ht, &it);
	rhashtable_walk_start(&it);
	while ((obj = rhashtable_walk_next(&it))) {
		if (IS_ERR(obj)) {
			if (PTR_ERR(obj) != -EAGAIN)
				break;
			*objs = 0;	/* a resize: the walk starts over */
			*bytes = 0;
			continue;
		}
		*bytes += ksize(obj);
		if (!(++*objs % BENCH_CHUNK)) {
			rhashtable_walk_stop(&it);
			cond_resched();
			rhashtable_walk_start(&it);
		}
	}
	rhashtable_walk_stop(&it);
	rhashtable_walk_exit(&it);
}

/* Bytes of @ht's bucket table; @buckets its size, @flat no resize/nest. */
static u64 bench_table_bytes(struct rhashtable *ht, unsigned int *buckets,
			     bool *flat)
{
	struct bucket_table *tbl;
	size_t size;
	u64 bytes;

	rcu_read_lock();
	tbl = rcu_dereference(ht->tbl);
	*buckets = tbl->size;
	*flat = !tbl->nest && !rcu_access_pointer(tbl->future_tbl);
	size = struct_size(tbl, buckets, tbl->size);
	bytes = is_vmalloc_addr(tbl) ? PAGE_ALIGN(size) : ksize(tbl);
	rcu_read_unlock();
	return bytes;
}

/* What the registry of @g holds, from the allocator; one result line. */
static void bench_mem(struct bench_reg *g)
{
	u64 ents, ebytes, ports, pbytes, otbl, ptbl, total, per;
	unsigned int nr = ddemux_reg_count(&g->reg), obk, pbk;
	bool oflat, pflat;

	bench_walk(&g->reg.owners, &ents, &ebytes);
	bench_walk(&g->reg.ports, &ports, &pbytes);
	otbl = bench_table_bytes(&g->reg.owners, &obk, &oflat);
	ptbl = bench_table_bytes(&g->reg.ports, &pbk, &pflat);
	total = ebytes + pbytes + otbl + ptbl;
	nr = max(nr, 1U);
	pr_info("I mem size=%u entries=%u walked=%llu entry_bytes=%llu ports=%llu port_bytes=%llu owner_buckets=%u owner_table=%llu port_buckets=%u port_table=%llu%s\n",
		g->size, nr, ents, ebytes, ports, pbytes, obk, otbl, pbk, ptbl,
		oflat && pflat ? "" : " (a table was resizing or nested)");
	pr_info("I mem-per-entry size=%u entry=%llu port=%llu.%02llu owner_table=%llu.%02llu port_table=%llu.%02llu\n",
		g->size, div_u64(ebytes, max_t(u64, ents, 1)),
		div_u64(pbytes, nr), div_u64(pbytes * 100, nr) % 100,
		div_u64(otbl, nr), div_u64(otbl * 100, nr) % 100,
		div_u64(ptbl, nr), div_u64(ptbl * 100, nr) % 100);
	per = div_u64(total * 10, nr);
	pr_info("R bytes-per-entry-%u 1 %llu.%llu bytes\n", g->size,
		div_u64(per, 10), per % 10);
}

/* ns for ddemux_reg_find_other() over the ops keys; @hits out. */
static u64 bench_lookups(struct bench *b, struct bench_reg *g, u64 *hits)
{
	struct ddemux_aset found;
	unsigned int i, j, end;
	u64 t = 0, t0;

	*hits = 0;
	for (i = 0; i < ops; i = end) {
		end = min(ops, i + BENCH_CHUNK);
		t0 = ktime_get_ns();
		for (j = i; j < end; j++)
			*hits += ddemux_reg_find_other(&g->reg, &b->pkeys[j],
						       &bench_asker,
						       bench_pol.domain, &found);
		t += ktime_get_ns() - t0;
		cond_resched();
	}
	return t;
}

/* ns for ddemux_reg_get() over the ops owner keys; @hits out. */
static u64 bench_gets(struct bench *b, struct bench_reg *g, u64 *hits)
{
	struct ddemux_aset found;
	unsigned int i, j, end;
	bool pending;
	u64 t = 0, t0;

	*hits = 0;
	for (i = 0; i < ops; i = end) {
		end = min(ops, i + BENCH_CHUNK);
		t0 = ktime_get_ns();
		for (j = i; j < end; j++)
			*hits += ddemux_reg_get(&g->reg, b->okeys[j], &found,
						&pending);
		t += ktime_get_ns() - t0;
		cond_resched();
	}
	return t;
}

/*
 * Claim @n fresh sets (new sockets binding) and release them again; the
 * ns of each half are added to @tins and @trm.  Returns the claims that
 * were refused or not recorded.
 */
static unsigned int bench_insert_remove(struct bench *b, struct bench_reg *g,
					unsigned int n, u64 *tins, u64 *trm)
{
	unsigned int i, j, end, bad = 0;
	struct ddemux_conflict c;
	u64 t0;

	for (i = 0; i < n; i++)
		bench_set(BENCH_FRESH + b->fresh++, &b->sets[i]);
	for (i = 0; i < n; i = end) {
		end = min(n, i + BENCH_CHUNK);
		t0 = ktime_get_ns();
		for (j = i; j < end; j++)
			if (ddemux_reg_claim(&g->reg,
					     bench_owner(BENCH_FRESH_OWNER + j),
					     &b->sets[j], 1, 0, &bench_pol,
					     GFP_KERNEL, &c) == DDEMUX_DENY ||
			    c.unrecorded)
				bad++;
		*tins += ktime_get_ns() - t0;
		cond_resched();
	}
	for (i = 0; i < n; i = end) {
		end = min(n, i + BENCH_CHUNK);
		t0 = ktime_get_ns();
		for (j = i; j < end; j++)
			ddemux_reg_release(&g->reg,
					   bench_owner(BENCH_FRESH_OWNER + j));
		*trm += ktime_get_ns() - t0;
		cond_resched();
	}
	return bad;
}

/*
 * Fill the ops packet-address keys for @g: members' own addresses (@hit)
 * or absent ones on members' ports; @hot: only BENCH_HOT distinct keys,
 * cycled, so that what they touch stays cached.  Returns the mean number
 * of entries on the keys' ports, times ten: what a miss walks.
 */
static u64 bench_pkeys(struct bench *b, struct bench_reg *g, bool hit,
		       bool hot)
{
	unsigned int i, n = hot ? min(ops, BENCH_HOT) : ops;
	u64 walk = 0;

	for (i = 0; i < n; i++) {
		bench_paddr(b, bench_draw(b, g->size), hit, &b->pkeys[i]);
		walk += g->port_nr[bench_key(b->pkeys[i].proto,
					     b->pkeys[i].lport)];
	}
	for (; i < ops; i++)
		b->pkeys[i] = b->pkeys[i % n];
	return div_u64(walk * 10, n);
}

enum bench_case {
	BC_HIT,
	BC_MISS,
	BC_HIT_HOT,
	BC_MISS_HOT,
	BC_OWNER,
	BC_INSERT,	/* and remove */
	BC_NR,
};

static const char * const bench_case_name[BC_NR] = {
	[BC_HIT] = "lookup-hit",
	[BC_MISS] = "lookup-miss",
	[BC_HIT_HOT] = "lookup-hit-hot",
	[BC_MISS_HOT] = "lookup-miss-hot",
	[BC_OWNER] = "lookup-owner",
	[BC_INSERT] = "insert",
};

/* One case on @g, round @r: build the keys, time, print. */
static void bench_case(struct bench *b, struct bench_reg *g,
		       enum bench_case bc, unsigned int r)
{
	const char *name = bench_case_name[bc];
	unsigned int i, done, bad, batch;
	u64 t, found, tins = 0, trm = 0, want = ops;

	switch (bc) {
	case BC_HIT:
	case BC_MISS:
	case BC_HIT_HOT:
	case BC_MISS_HOT:
		t = bench_pkeys(b, g, bc == BC_HIT || bc == BC_HIT_HOT,
				bc == BC_HIT_HOT || bc == BC_MISS_HOT);
		if (bc == BC_MISS)
			g->walk += t;
		if (bc == BC_MISS || bc == BC_MISS_HOT)
			want = 0;
		t = bench_lookups(b, g, &found);
		break;
	case BC_OWNER:
		for (i = 0; i < ops; i++)
			b->okeys[i] = bench_owner(bench_draw(b, g->size));
		t = bench_gets(b, g, &found);
		break;
	default:
		/* batches of a tenth of the size keep it within 10% */
		batch = clamp(g->size / 10, 1U, ops);
		bad = 0;
		for (done = 0; done < ops; done += batch)
			bad += bench_insert_remove(b, g, batch, &tins, &trm);
		bench_result("insert", g->size, r, tins, done);
		bench_result("remove", g->size, r, trm, done);
		if (bad)
			pr_info("I insert-%u round=%u refused_or_unrecorded=%u of %u\n",
				g->size, r, bad, done);
		return;
	}
	bench_result(name, g->size, r, t, ops);
	if (found != want)
		pr_info("I %s-%u round=%u found=%llu of %u\n", name, g->size, r,
			found, ops);
}

static void bench_reg_free(struct bench_reg *g)
{
	if (!g)
		return;
	ddemux_reg_destroy(&g->reg);
	kvfree(g->port_nr);
	kfree(g);
}

/* A registry for the first @size members, populated and settled. */
static struct bench_reg *bench_reg_new(unsigned int size)
{
	struct bench_reg *g = kzalloc(sizeof(*g), GFP_KERNEL);

	if (!g)
		return NULL;
	if (ddemux_reg_init(&g->reg, max(size, DDEMUX_MAX_ENTRIES))) {
		kfree(g);
		return NULL;
	}
	g->size = size;
	g->port_nr = kvcalloc(BENCH_KEYS, sizeof(*g->port_nr), GFP_KERNEL);
	if (!g->port_nr) {
		bench_reg_free(g);
		return NULL;
	}
	bench_populate(g);
	if (!bench_settle(&g->reg.owners) || !bench_settle(&g->reg.ports))
		pr_info("I settle size=%u: a table is still resizing\n", size);
	bench_mem(g);
	return g;
}

static int bench_cmp(const void *a, const void *b)
{
	unsigned int x = *(const unsigned int *)a, y = *(const unsigned int *)b;

	return x < y ? -1 : x > y;
}

/*
 * The timed cases: one registry per size, all populated first, then
 * every round measures each case at every size back to back (ascending
 * sizes in odd rounds, descending in even ones), so that a round's ratio
 * between two sizes compares measurements taken moments apart.
 */
static int bench_run(unsigned int n)
{
	struct bench_reg *g[BENCH_MAX_SIZES] = { NULL };
	unsigned int i, r, batch = 1;
	struct bench b = { 0 };
	enum bench_case bc;
	int err = -ENOMEM;

	for (i = 0; i < n; i++)
		batch = max(batch, clamp(sizes[i] / 10, 1U, ops));
	prandom_seed_state(&b.rnd, get_random_u64());
	b.pkeys = kvmalloc_array(ops, sizeof(*b.pkeys), GFP_KERNEL);
	b.okeys = kvmalloc_array(ops, sizeof(*b.okeys), GFP_KERNEL);
	b.sets = kvmalloc_array(batch, sizeof(*b.sets), GFP_KERNEL);
	if (!b.pkeys || !b.okeys || !b.sets)
		goto out;
	for (i = 0; i < n; i++) {
		g[i] = bench_reg_new(sizes[i]);
		if (!g[i])
			goto out;
	}

	for (r = 1; r <= rounds; r++)
		for (bc = 0; bc < BC_NR; bc++)
			for (i = 0; i < n; i++)
				bench_case(&b, g[r % 2 ? i : n - 1 - i], bc, r);
	for (i = 0; i < n; i++) {
		u64 walk = div_u64(g[i]->walk, rounds);

		pr_info("I walk size=%u entries_on_a_members_port=%llu.%llu\n",
			g[i]->size, div_u64(walk, 10), walk % 10);
	}
	err = 0;
out:
	for (i = 0; i < n; i++)
		bench_reg_free(g[i]);
	kvfree(b.pkeys);
	kvfree(b.okeys);
	kvfree(b.sets);
	return err;
}

static int __init bench_init(void)
{
	unsigned int i, n = 0;
	int err;

	if (!users || !rounds || !ops)
		return -EINVAL;
	err = ddemux_reg_module_init();	/* the entry cache, port counters */
	if (err)
		return err;
	if (hold) {
		held = bench_reg_new(hold);
		if (!held) {
			ddemux_reg_module_exit();
			return -ENOMEM;
		}
		pr_info("I holding %u entries until rmmod\n",
			ddemux_reg_count(&held->reg));
		return 0;
	}

	/* ascending, without zeros or repeats */
	sort(sizes, nr_sizes, sizeof(sizes[0]), bench_cmp, NULL);
	for (i = 0; i < nr_sizes; i++)
		if (sizes[i] && (!n || sizes[i] != sizes[n - 1]))
			sizes[n++] = sizes[i];
	if (!n) {
		ddemux_reg_module_exit();
		return -EINVAL;
	}

	pr_info("I start sizes=%u..%u ops=%u rounds=%u users=%u seed=%lu\n",
		sizes[0], sizes[n - 1], ops, rounds, users, seed);
	err = bench_run(n);
	ddemux_reg_module_exit();
	if (err)
		return err;
	pr_info("I done\n");
	/* the results are printed: do not stay loaded */
	return -EAGAIN;
}

static void __exit bench_exit(void)
{
	bench_reg_free(held);
	ddemux_reg_module_exit();
}

module_init(bench_init);
module_exit(bench_exit);

MODULE_DESCRIPTION("ddemux registry microbenchmark");
MODULE_LICENSE("GPL");
