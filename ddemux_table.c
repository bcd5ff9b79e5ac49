// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - the registry of address sets of one network namespace
 *
 * Shape.  Every entry is one socket's address set.  Entries hang off an
 * address node, one per (protocol, port, local address) in use -- the
 * wildcard is an address too -- and address nodes off a port node, one
 * per (protocol, port).  A set with a specific local address can only
 * overlap sets on that address or on the wildcard, so a claim, and a
 * packet-path lookup, look at two address nodes and nothing else; only a
 * claim of the wildcard itself walks the whole port.  Three rhashtables
 * find a port node by (protocol << 16 | port), an address node by
 * (port key, address), and an entry by its owner (the socket pointer, or
 * its reservation key) for updates and removal.  A fourth counts the
 * entries of each uid and each cgroup, for the per-domain quota.  A port
 * holds one or two addresses as a rule: its address nodes enter the
 * address table only once it holds more than ADDR_WALK of them
 * (port_index()); until then they are found on its list.
 *
 * Locking.  Each port node has a spinlock, taken with spin_lock_bh()
 * (sockets are released from softirq), that serialises every change of
 * the port's entries and address nodes: the check of a claim and its
 * insertion happen under one hold of it, so of two racing claims that
 * overlap across domains exactly one is recorded, and claims on other
 * ports do not wait.  The rhashtables serialise their own buckets.
 * Under a port lock nothing sleeps: what a claim may need (an entry,
 * an address node, a port node, a domain counter) is allocated before
 * the lock where the caller may sleep (a claim that finds it needs more
 * lets go, allocates and comes back), or atomically under it where the
 * caller may not sleep anyway; a spare is given back if unused.  Lock
 * order: a port's lock, then reg->dom_lock; or a port's lock, then
 * reg->park_lock, under which another port's lock is only tried
 * (port_park()).  The inner ones are taken with BH off, under a port's
 * lock.  A release runs in softirq (a TCP socket closed by a segment),
 * where a plain spin_lock() of a lock held by the task it interrupted
 * would spin for ever.
 *
 * Readers.  The packet path (ddemux_reg_find_other()) and lookups by
 * owner take only rcu_read_lock(): entries are immutable once published;
 * a changed set is a new entry, linked before the old one is unlinked,
 * and removed entries and nodes are freed after a grace period, or, for
 * the one entry a port keeps, reused once one has passed (entry_keep()).
 * (The one change in place: a reservation that becomes its socket's
 * entry trades its key for the socket, ddemux_reg_commit(); readers
 * compare owners with ddemux_key_owner(), which is the socket for
 * both.)  The fields only writers read (an entry's pid, pending and
 * adopted flags, the back link of its list node) share their memory
 * with the rcu_head, which the free writes once the entry is unlinked
 * (or, for a kept one, the state of RCU then); lock-free readers touch
 * only the set, the owner and the forward links.  Writers change
 * them under the port's lock, but for one: the owner's own next change
 * clears the pending flag of the reservation it made, without the lock
 * (ddemux_reg_settle()); only its owner's changes unlink an entry.
 *
 * Memory.  An entry is 104 bytes; a port node (88) and an address node
 * (72) are shared by the entries on them; each kind, and the domain
 * counters, has a slab of its own.  An emptied port node is parked
 * (port_park()), a live port keeps one emptied address node
 * (addr_idle()), and a port keeps one unlinked entry (entry_keep()),
 * for the next claim.  Each rhashtable adds between 4/3 and 8/3 bucket
 * pointers per element (it doubles when three quarters full), but the
 * owner table stops at one bucket an entry the registry may hold
 * (ddemux_reg_init()), and the address table holds only the nodes of
 * ports with more than ADDR_WALK addresses.  With a memory cgroup, what
 * a task claims is charged to it (a kept entry, to whoever allocated
 * it).
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/rhashtable.h>
#include <linux/jhash.h>
#include <linux/hash.h>
#include <net/ipv6.h>

#include "ddemux.h"

/*
 * A port node also summarises the domains on it: @dom0 is the domain of
 * the claim that created the node (fixed for its life), and @uid_other and
 * @cg_other count the entries whose uid, or cgroup, differ from it.  When
 * both are zero and the claimer is @dom0, every set on the port is the
 * claimer's own: nothing to walk.  That keeps a port with thousands of
 * one user's sockets (a reuseport group, a listener's children) O(1) for
 * that user's binds and for the packet path.
 */
struct ddemux_port {
	struct rhash_head node;		/* in reg->ports */
	u32 key;			/* proto << 16 | port */
	spinlock_t lock;		/* this port's entries and address nodes */
	bool dead;			/* unlinked; under @lock */
	bool parked;			/* empty, on reg->parked; under @lock */
	bool picked;			/* made for a picked port: not parked */
	bool indexed;			/* its address nodes are in reg->addrs */
	unsigned int nr;		/* entries on this port; under @lock */
	unsigned int uid_other;		/* entries whose uid is not dom0's */
	unsigned int cg_other;		/* entries whose cgroup is not dom0's */
	struct ddemux_domain dom0;
	struct hlist_head addrs;	/* RCU list of struct ddemux_addr */
	struct ddemux_addr *idle;	/* an empty one kept (addr_idle()) */
	struct ddemux_entry *spare;	/* an unlinked one kept (entry_keep()) */
	union {
		struct list_head park;	/* reg->parked, while @parked */
		struct rcu_head rcu;	/* unlinked, hence off reg->parked */
	};
};

/* The key of an address node: its port's key and the local address. */
struct ddemux_addr_key {
	u32 port;
	struct in6_addr laddr;
} __packed;

struct ddemux_addr {
	struct rhash_head node;		/* in reg->addrs */
	struct ddemux_addr_key key;
	unsigned int nr;		/* entries; under the port's lock */
	struct hlist_node pnode;	/* in port->addrs */
	struct hlist_head entries;	/* RCU list of struct ddemux_entry */
	struct rcu_head rcu;
};

struct ddemux_entry {
	struct rhash_head node;		/* in reg->owners */
	const void *owner;		/* the socket; never dereferenced */
	union {
		/* while linked */
		struct {
			struct hlist_node anode;	/* in addr->entries */
			u32 pid;	/* tgid that claimed the set */
			bool pending;	/* reserved, not committed */
			/* recorded by DDEMUX_CLAIM_IF_ABSENT, not claimed since */
			bool adopted;
		};
		/* once unlinked: readers may still follow anode.next */
		struct {
			struct hlist_node *anode_next;
			union {
				struct rcu_head rcu;	/* being freed */
				unsigned long gp;	/* kept: entry_keep() */
			};
		};
	};
	struct ddemux_aset set;
};

/* What a uid (key | DOM_UID_BIT) or a cgroup (key) holds: entries. */
struct ddemux_dom {
	struct rhash_head node;		/* in reg->doms */
	u64 key;
	atomic_t nr;			/* entries; DOM_DEAD once removed */
	struct rcu_head rcu;
};

#define DOM_UID_BIT	BIT_ULL(63)	/* cgroup ids are below 2^63 */

/* The documented memory: one 104-byte slab object per entry. */
static_assert(sizeof(struct ddemux_aset) == 64);
static_assert(sizeof(struct ddemux_entry) == 104);
static_assert(offsetof(struct ddemux_entry, anode_next) ==
	      offsetof(struct ddemux_entry, anode.next));
static_assert(sizeof(struct ddemux_addr_key) == 20);

/* Slabs of the module's registries; see ddemux_reg_module_init(). */
static struct kmem_cache *entry_cache, *port_cache, *addr_cache, *dom_cache;

/*
 * For each port number, how many port nodes hold it, in every registry
 * and for every protocol: zero means no socket of any namespace receives
 * on that port, which the egress path asks first for every packet of a
 * raw or packet socket (ddemux_port_used_anywhere()).  256 KiB, one
 * counter per port; a node counts from its insertion, before any entry
 * is added to it, until its removal, after the last one is gone.
 */
atomic_t *ddemux_port_users;

/*
 * The tables hash with an inlined, seeded jhash of their key and compare
 * keys directly: rhashtable's defaults call an out-of-line jhash2() and
 * memcmp() for every hash and every comparison.
 */
static u32 port_hash(const void *data, u32 len, u32 seed)
{
	return jhash_1word(*(const u32 *)data, seed);
}

static int port_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct ddemux_port *port = obj;

	return port->key != *(const u32 *)arg->key;
}

static u32 addr_hash(const void *data, u32 len, u32 seed)
{
	const struct ddemux_addr_key *k = data;

	return jhash_3words(k->port, (__force u32)k->laddr.s6_addr32[3],
			    (__force u32)(k->laddr.s6_addr32[0] ^
					  k->laddr.s6_addr32[1] ^
					  k->laddr.s6_addr32[2]), seed);
}

static int addr_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct ddemux_addr *a = obj;
	const struct ddemux_addr_key *k = arg->key;

	return a->key.port != k->port ||
	       !ipv6_addr_equal(&a->key.laddr, &k->laddr);
}

/*
 * An owner is a socket's address, which no user chooses: a multiplicative
 * hash of it and the seed does, in a few instructions, what jhash does in
 * some thirty.  The top half of the product, which every bit of the key
 * reaches, is the hash.  The tables whose keys users choose (ports,
 * addresses) keep jhash: a seed they cannot learn is what keeps them from
 * making a chain long enough to fail others' inserts.
 */
static u32 owner_hash(const void *data, u32 len, u32 seed)
{
	u64 v = (unsigned long)*(const void *const *)data;

	return hash_64(v ^ seed, 32);
}

static int owner_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct ddemux_entry *e = obj;

	return e->owner != *(const void *const *)arg->key;
}

static u32 dom_hash(const void *data, u32 len, u32 seed)
{
	u64 v = *(const u64 *)data;

	return jhash_2words((u32)v, (u32)(v >> 32), seed);
}

static int dom_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct ddemux_dom *d = obj;

	return d->key != *(const u64 *)arg->key;
}

static const struct rhashtable_params port_params = {
	.key_len = sizeof(u32),
	.key_offset = offsetof(struct ddemux_port, key),
	.head_offset = offsetof(struct ddemux_port, node),
	.automatic_shrinking = true,
	.hashfn = port_hash,
	.obj_cmpfn = port_cmp,
};

static const struct rhashtable_params addr_params = {
	.key_len = sizeof(struct ddemux_addr_key),
	.key_offset = offsetof(struct ddemux_addr, key),
	.head_offset = offsetof(struct ddemux_addr, node),
	.automatic_shrinking = true,
	.hashfn = addr_hash,
	.obj_cmpfn = addr_cmp,
};

/* Above this, the owner table is not capped (rhashtable's own bound is 2^31). */
#define DDEMUX_OWNER_BUCKETS_MAX	BIT(30)

static const struct rhashtable_params owner_params = {
	.key_len = sizeof(const void *),
	.key_offset = offsetof(struct ddemux_entry, owner),
	.head_offset = offsetof(struct ddemux_entry, node),
	.automatic_shrinking = true,
	.hashfn = owner_hash,
	.obj_cmpfn = owner_cmp,
};

static const struct rhashtable_params dom_params = {
	.key_len = sizeof(u64),
	.key_offset = offsetof(struct ddemux_dom, key),
	.head_offset = offsetof(struct ddemux_dom, node),
	.automatic_shrinking = true,
	.hashfn = dom_hash,
	.obj_cmpfn = dom_cmp,
};

/*
 * The table operations, flattened: left to itself gcc emits one shared
 * out-of-line copy of rhashtable's inline lookup for all tables, which
 * then calls the hash and compare functions through pointers.  Lookups
 * are for RCU readers and for writers alike (rhashtable_lookup() is
 * valid under either).
 */
static __flatten struct ddemux_port *port_find(struct ddemux_registry *reg,
					       u32 key)
{
	return rhashtable_lookup(&reg->ports, &key, port_params);
}

static __flatten struct ddemux_addr *addr_find(struct ddemux_registry *reg,
					       u32 port,
					       const struct in6_addr *laddr)
{
	struct ddemux_addr_key key = { .port = port, .laddr = *laddr };

	return rhashtable_lookup(&reg->addrs, &key, addr_params);
}

/*
 * The most address nodes a port keeps off the address table, found by
 * walking its list: a port holds one or two addresses as a rule, and
 * reading a few list nodes costs less than a lookup, and less than
 * inserting each node into the table and removing it again.  A port
 * that comes to hold more is indexed (port_index()) for the rest of its
 * life, so that a lookup on it stays one table lookup however many
 * addresses it holds.
 */
#define ADDR_WALK	4

/*
 * The address node of @laddr on @port, in an RCU read section or under
 * the port's lock.  The wildcard's, which every lookup of a specific
 * address asks for too, is the first on the port's list when there is
 * one (addr_new()).  Of the others: @port->indexed goes from false to
 * true once, under the lock, after every node on the port is in the
 * table (port_index()); a reader that sees it false walks the list,
 * which holds every node whatever the flag says.
 */
static struct ddemux_addr *addr_lookup(struct ddemux_registry *reg,
				       struct ddemux_port *port,
				       const struct in6_addr *laddr)
{
	struct ddemux_addr *addr;

	if (ipv6_addr_any(laddr)) {
		addr = hlist_entry_safe(rcu_dereference_check(hlist_first_rcu(&port->addrs),
							      lockdep_is_held(&port->lock)),
					struct ddemux_addr, pnode);
		return addr && ipv6_addr_any(&addr->key.laddr) ? addr : NULL;
	}
	/* pairs with the release in port_index() */
	if (smp_load_acquire(&port->indexed))
		return addr_find(reg, port->key, laddr);
	hlist_for_each_entry_rcu(addr, &port->addrs, pnode,
				 lockdep_is_held(&port->lock))
		if (ipv6_addr_equal(&addr->key.laddr, laddr))
			return addr;
	return NULL;
}

/* addr_lookup() for the holder of @port's lock */
static struct ddemux_addr *addr_of(struct ddemux_registry *reg,
				   struct ddemux_port *port,
				   const struct in6_addr *laddr)
{
	lockdep_assert_held(&port->lock);
	return addr_lookup(reg, port, laddr);
}

static __flatten struct ddemux_entry *owner_find(struct ddemux_registry *reg,
						 const void *owner)
{
	return rhashtable_lookup(&reg->owners, &owner, owner_params);
}

static __flatten struct ddemux_dom *dom_find(struct ddemux_registry *reg,
					     u64 key)
{
	return rhashtable_lookup(&reg->doms, &key, dom_params);
}

/* The port table's key: the same for an address set and a packet. */
static u32 port_key(u8 proto, u16 port)
{
	return (u32)proto << 16 | port;
}

/* Which of reg->dom_park and reg->dom_hint a counter of @key may be in. */
static unsigned int dom_slot(u64 key)
{
	return !!(key & DOM_UID_BIT);
}

static u64 uid_key(kuid_t uid)
{
	return DOM_UID_BIT | __kuid_val(uid);
}

/* Count @s in (@delta 1) or out (-1) of @port's summary; under its lock. */
static void port_account(struct ddemux_port *port, const struct ddemux_aset *s,
			 int delta)
{
	if (!uid_eq(s->dom.uid, port->dom0.uid))
		WRITE_ONCE(port->uid_other, port->uid_other + delta);
	if (s->dom.cgid != port->dom0.cgid)
		WRITE_ONCE(port->cg_other, port->cg_other + delta);
}

/* Is every set on @port in domain @d?  Lock-free readers may use it. */
static bool port_all_in(const struct ddemux_port *port,
			const struct ddemux_domain *d, u8 mask)
{
	if ((mask & DDEMUX_DOM_UID) &&
	    (READ_ONCE(port->uid_other) || !uid_eq(d->uid, port->dom0.uid)))
		return false;
	if ((mask & DDEMUX_DOM_CGROUP) &&
	    (READ_ONCE(port->cg_other) || d->cgid != port->dom0.cgid))
		return false;
	return true;
}

/* ---- domain counters --------------------------------------------------- */

/*
 * The counter of @key, as dom_find() would find it, or one that was
 * removed from the table, DOM_DEAD for good (see dom_charge()): found
 * neither by dom_find() nor, once off reg->dom_hint, here.
 * reg->dom_hint remembers, of each kind, the counter last created or
 * found under reg->dom_lock: a user who binds and closes in a loop
 * finds the counters, parked between binds, without a lookup.  A hint
 * is set and cleared under reg->dom_lock, cleared before its counter is
 * freed, and read under RCU (the callers hold rcu_read_lock() or a
 * port's spinlock).
 */
static struct ddemux_dom *dom_get(struct ddemux_registry *reg, u64 key)
{
	struct ddemux_dom *d = rcu_dereference_check(reg->dom_hint[dom_slot(key)],
						     lockdep_is_held(&reg->dom_lock));

	if (d && d->key == key)
		return d;
	return dom_find(reg, key);
}

/* Under reg->dom_lock: @d, a live counter, is the one to find first. */
static void dom_hint_set(struct ddemux_registry *reg, struct ddemux_dom *d)
{
	struct ddemux_dom __rcu **hint = &reg->dom_hint[dom_slot(d->key)];

	if (rcu_access_pointer(*hint) != d)
		rcu_assign_pointer(*hint, d);
}

/* ---- what a claim may need ------------------------------------------- */

/*
 * What a claim may need, its spares: an entry is allocated before any
 * lock (and an address node, for DDEMUX_CLAIM_NEW_ADDR); the claim then
 * looks up each table once, under the port's lock, and should it find
 * something missing that it has no spare of (SPARE_*), it allocates that
 * there atomically where the caller may not sleep, and otherwise lets go
 * of the lock, allocates and starts again (spares_here()).
 */
#define SPARE_E		BIT(0)
#define SPARE_PORT	BIT(1)
#define SPARE_ADDR	BIT(2)
#define SPARE_UID	BIT(3)
#define SPARE_CG	BIT(4)

struct spares {
	struct ddemux_entry *e;
	struct ddemux_addr *addr;
	struct ddemux_port *port;
	struct ddemux_dom *dom[2];
};

static void spares_free(struct spares *sp)
{
	if (sp->e)
		kmem_cache_free(entry_cache, sp->e);
	if (sp->addr)
		kmem_cache_free(addr_cache, sp->addr);
	if (sp->port)
		kmem_cache_free(port_cache, sp->port);
	if (sp->dom[0])
		kmem_cache_free(dom_cache, sp->dom[0]);
	if (sp->dom[1])
		kmem_cache_free(dom_cache, sp->dom[1]);
}

/*
 * Nodes that a grace period has made free again, per CPU.  An entry, an
 * address node or a port node that is unlinked is not freed after a
 * grace period with call_rcu() (which costs a socket that connects and
 * closes, with five of them, a fifth of its time in ddemux) but queued
 * here with the state RCU was in (get_state_synchronize_rcu()), and the
 * next allocation of its kind on that CPU takes the oldest once
 * poll_state_synchronize_rcu() says a grace period has passed since:
 * nobody can still be on it.  A full queue, or a node the queue does
 * not take yet, goes to call_rcu() as before.  The queues are in
 * insertion order, so the oldest's state answers for all of them.  BH
 * off keeps a CPU's queue to one user: nodes are queued under a port's
 * lock, which has it off already, and taken in one BH section for all
 * that a claim needs (spares_fill()), before any lock.
 * A queued node stays charged to the memory cgroup that allocated it,
 * whoever takes it next: POOL_MAX of each kind a CPU at most.  Emptied
 * at module exit (pools_drain()).
 */
enum { POOL_ENTRY, POOL_ADDR, POOL_PORT, POOL_KINDS };

#define POOL_MAX	64

struct gp_pool {
	void *obj[POOL_MAX];
	unsigned long gp[POOL_MAX];
	unsigned int head, n;		/* the oldest, and how many */
};

struct gp_pools {
	struct gp_pool k[POOL_KINDS];
};

/* Allocated at module init: too big for the modules' static per-CPU area. */
static struct gp_pools __percpu *gp_pools;

static struct kmem_cache *pool_cache(int kind)
{
	return kind == POOL_ENTRY ? entry_cache :
	       kind == POOL_ADDR ? addr_cache : port_cache;
}

/*
 * Queue @obj, just unlinked; false if the queue is full.  Only under a
 * port's lock, which has BH off already (every node is unlinked there).
 */
static bool pool_put(int kind, void *obj)
{
	struct gp_pool *p;
	unsigned int i;

	lockdep_assert_in_softirq();
	p = &this_cpu_ptr(gp_pools)->k[kind];
	if (p->n == POOL_MAX)
		return false;
	i = (p->head + p->n) % POOL_MAX;
	p->obj[i] = obj;
	p->gp[i] = get_state_synchronize_rcu();
	p->n++;
	return true;
}

/* From @pp (BH off): the oldest queued node of @kind, if a GP has passed. */
static void *pool_take(struct gp_pools *pp, int kind)
{
	struct gp_pool *p = &pp->k[kind];
	void *obj;

	if (!p->n || !poll_state_synchronize_rcu(p->gp[p->head]))
		return NULL;
	obj = p->obj[p->head];
	p->head = (p->head + 1) % POOL_MAX;
	p->n--;
	return obj;
}

/* Module exit, once no registry is left: free every queued node. */
static void pools_drain(void)
{
	int cpu, kind;

	synchronize_rcu();	/* the youngest queued node's */
	for_each_possible_cpu(cpu) {
		for (kind = 0; kind < POOL_KINDS; kind++) {
			struct gp_pool *p = &per_cpu_ptr(gp_pools, cpu)->k[kind];

			while (p->n) {
				kmem_cache_free(pool_cache(kind),
						p->obj[p->head]);
				p->head = (p->head + 1) % POOL_MAX;
				p->n--;
			}
			p->head = 0;
		}
	}
}

/*
 * Allocate, as @gfp allows and before any lock is taken, what a claim
 * found missing (@need, SPARE_* bits) and has no spare of.  Returns
 * false when an allocation failed.
 */
static bool spares_fill(struct spares *sp, unsigned int need, gfp_t gfp)
{
	bool e = (need & SPARE_E) && !sp->e;
	bool port = (need & SPARE_PORT) && !sp->port;
	bool addr = (need & SPARE_ADDR) && !sp->addr;

	if (e || port || addr) {
		/* the queues first, all in one BH section */
		struct gp_pools *pp;

		local_bh_disable();
		pp = this_cpu_ptr(gp_pools);
		if (e)
			sp->e = pool_take(pp, POOL_ENTRY);
		if (port)
			sp->port = pool_take(pp, POOL_PORT);
		if (addr)
			sp->addr = pool_take(pp, POOL_ADDR);
		local_bh_enable();
	}
	if (e && !sp->e)
		sp->e = kmem_cache_alloc(entry_cache, gfp);
	if (port && !sp->port)
		sp->port = kmem_cache_alloc(port_cache, gfp);
	if (addr && !sp->addr)
		sp->addr = kmem_cache_alloc(addr_cache, gfp);
	if ((need & SPARE_UID) && !sp->dom[0])
		sp->dom[0] = kmem_cache_alloc(dom_cache, gfp);
	if ((need & SPARE_CG) && !sp->dom[1])
		sp->dom[1] = kmem_cache_alloc(dom_cache, gfp);
	return (!(need & SPARE_E) || sp->e) &&
	       (!(need & SPARE_PORT) || sp->port) &&
	       (!(need & SPARE_ADDR) || sp->addr) &&
	       (!(need & SPARE_UID) || sp->dom[0]) &&
	       (!(need & SPARE_CG) || sp->dom[1]);
}

/* @gfp without what may sleep: for a caller that may, under RCU (port_get()). */
static gfp_t gfp_nowait(gfp_t gfp)
{
	return (gfp & ~__GFP_DIRECT_RECLAIM) | __GFP_NOWARN;
}

/*
 * A claim that holds a lock found it needs @need.  Where @gfp may sleep,
 * nothing is allocated under the lock: the claim lets go and allocates
 * them as @gfp allows (false).  Otherwise they are allocated here,
 * atomically as they would be outside (true; *@err is -ENOMEM if one
 * could not be).
 */
static bool spares_here(struct spares *sp, unsigned int need, gfp_t gfp,
			int *err)
{
	if (gfpflags_allow_blocking(gfp))
		return false;
	if (!spares_fill(sp, need, gfp))
		*err = -ENOMEM;
	return true;
}

/*
 * What a grace period frees, each into its slab: call_rcu() rather than
 * kfree_rcu(), whose batches rcu_barrier() does not wait for, so that
 * the slabs may be destroyed at module exit.
 */
static void entry_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(entry_cache, container_of(head, struct ddemux_entry,
						  rcu));
}

static void port_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(port_cache, container_of(head, struct ddemux_port,
						 rcu));
}

static void addr_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(addr_cache, container_of(head, struct ddemux_addr,
						 rcu));
}

static void dom_free_rcu(struct rcu_head *head)
{
	kmem_cache_free(dom_cache, container_of(head, struct ddemux_dom, rcu));
}

/*
 * A counter's life.  It is in reg->doms from its creation until it is
 * removed, and counts from 0 up while there; DOM_DEAD marks it removed,
 * for good.  Only a counter at 0 is removed: under reg->dom_lock, by a
 * compare-and-exchange from 0 to DOM_DEAD, then out of the table, in
 * the same hold of the lock.  Every charge increments from what it read
 * by a compare-and-exchange too, never from DOM_DEAD: of a charge and a
 * removal that race on a counter at 0, exactly one wins.  So a counter
 * leaves 0, and goes back to it, without the lock; only its creation
 * and removal take it, and a counter found under the lock is live.
 *
 * A counter that reaches 0 is parked, one of each kind (reg->dom_park),
 * so that a user who binds and closes in a loop neither frees nor
 * allocates it every time; parking another one removes the one parked
 * before, if it is still at 0.  Every counter at 0 is the parked one,
 * or on its way there (dom_uncharge()), or being removed: their number
 * stays bounded.
 */
#define DOM_DEAD	(-1)

/* @d's count plus one, unless it holds @limit (0: none) or is removed. */
static int dom_inc(struct ddemux_dom *d, unsigned int limit)
{
	int n = atomic_read(&d->nr);

	do {
		if (n == DOM_DEAD)
			return -ENOENT;
		if (limit && n >= limit)
			return -EDQUOT;
	} while (!atomic_try_cmpxchg(&d->nr, &n, n + 1));
	return 0;
}

/*
 * Count one more entry for @key, unless it holds @limit already (0: no
 * limit).  Under the entry's port lock.  Returns 0, -EDQUOT, -ENOMEM, or
 * -EAGAIN when a counter must be made and *@spare_p is NULL.
 */
static int dom_charge(struct ddemux_registry *reg, u64 key,
		      unsigned int limit, struct ddemux_dom **spare_p)
{
	struct ddemux_dom *d = dom_get(reg, key);
	int err;

	if (d) {
		err = dom_inc(d, limit);
		if (err != -ENOENT)
			return err;
	}
	/* none, or one removed: under the lock, the table has the live one */
	spin_lock(&reg->dom_lock);
	d = dom_find(reg, key);
	if (d) {
		err = dom_inc(d, limit);	/* live: not -ENOENT */
	} else if (*spare_p) {
		d = *spare_p;
		d->key = key;
		atomic_set(&d->nr, 1);
		err = rhashtable_insert_fast(&reg->doms, &d->node, dom_params);
		if (err)
			err = -ENOMEM;
		else
			*spare_p = NULL;
	} else {
		err = -EAGAIN;
	}
	if (!err)
		dom_hint_set(reg, d);
	spin_unlock(&reg->dom_lock);
	return err;
}

static void dom_uncharge(struct ddemux_registry *reg, u64 key)
{
	struct ddemux_dom *d = dom_get(reg, key), *old;
	struct ddemux_dom **slot = &reg->dom_park[dom_slot(key)];

	/* the entry counted is in the live counter, which is above 0 */
	if (d && atomic_read(&d->nr) <= 0)
		d = dom_find(reg, key);
	if (WARN_ON_ONCE(!d))
		return;
	if (atomic_dec_return(&d->nr) || READ_ONCE(*slot) == d)
		return;		/* in use, or parked already */
	spin_lock(&reg->dom_lock);
	old = *slot;
	/*
	 * Charged and parked again meanwhile, or parked and then removed
	 * by another counter's parking: either way, not this one's to park.
	 */
	if (old == d || atomic_read(&d->nr) == DOM_DEAD) {
		spin_unlock(&reg->dom_lock);
		return;
	}
	WRITE_ONCE(*slot, d);
	if (old && atomic_cmpxchg(&old->nr, 0, DOM_DEAD) == 0) {
		rhashtable_remove_fast(&reg->doms, &old->node, dom_params);
		if (rcu_access_pointer(reg->dom_hint[dom_slot(key)]) == old)
			RCU_INIT_POINTER(reg->dom_hint[dom_slot(key)], NULL);
	} else {
		old = NULL;	/* in use again: parked anew when back at 0 */
	}
	spin_unlock(&reg->dom_lock);
	if (old)
		call_rcu(&old->rcu, dom_free_rcu);
}

/*
 * Count a new entry of domain @dom: the namespace's bound, then the
 * uid's and the cgroup's counters, the ones the quota applies to held
 * to it, unless @no_quota (a socket that existed at load).  Returns 0,
 * -ENOSPC (the bound), -EDQUOT, -ENOMEM, or -EAGAIN (a counter is to be
 * made and @sp has none); on error nothing is counted.
 */
static int charge(struct ddemux_registry *reg, const struct ddemux_domain *dom,
		  struct spares *sp, bool no_quota)
{
	unsigned int quota = no_quota ? 0 : READ_ONCE(reg->quota);
	u8 mask = READ_ONCE(reg->quota_mask);
	int err;

	if (!atomic_add_unless(&reg->nr, 1, reg->max))
		return -ENOSPC;
	err = dom_charge(reg, uid_key(dom->uid),
			 mask & DDEMUX_DOM_UID ? quota : 0, &sp->dom[0]);
	if (err)
		goto undo_nr;
	err = dom_charge(reg, dom->cgid,
			 mask & DDEMUX_DOM_CGROUP ? quota : 0, &sp->dom[1]);
	if (err)
		goto undo_uid;
	return 0;

undo_uid:
	dom_uncharge(reg, uid_key(dom->uid));
undo_nr:
	atomic_dec(&reg->nr);
	return err;
}

static void uncharge(struct ddemux_registry *reg,
		     const struct ddemux_domain *dom)
{
	dom_uncharge(reg, dom->cgid);
	dom_uncharge(reg, uid_key(dom->uid));
	atomic_dec(&reg->nr);
}

/* ---- ports, addresses, entries ------------------------------------------ */

/*
 * @set's port node, created from @sp if need be, with the spares a new
 * port needs (its node and an address node; and the claim's entry)
 * allocated here if they can be without sleeping; ERR_PTR(-EAGAIN) if
 * the caller is to allocate them and come back, ERR_PTR(-ENOMEM) if the
 * node could not be made.
 * Called under rcu_read_lock(), which keeps the node alive; the caller
 * locks it, and finds again if it is dead.
 */
static struct ddemux_port *port_get(struct ddemux_registry *reg, u32 key,
				    const struct ddemux_aset *set, bool picked,
				    struct spares *sp, gfp_t gfp)
{
	struct ddemux_port *port = port_find(reg, key), *new;

	if (port)
		return port;
	if (!sp->port || !sp->addr || !sp->e) {
		/*
		 * Under RCU, no lock: a claim that may sleep tries without
		 * reclaim first, and lets go to allocate if that fails.  The
		 * entry too, which a new port has none to reuse of, in the
		 * same go (the claim finds it missing under the lock, else).
		 */
		bool sleep = gfpflags_allow_blocking(gfp);

		spares_fill(sp, SPARE_PORT | SPARE_ADDR | SPARE_E,
			    sleep ? gfp_nowait(gfp) : gfp);
		if (!sp->port || !sp->addr)
			return ERR_PTR(sleep ? -EAGAIN : -ENOMEM);
	}
	new = sp->port;
	memset(new, 0, sizeof(*new));
	new->key = key;
	new->picked = picked;
	spin_lock_init(&new->lock);
	new->dom0 = set->dom;
	INIT_HLIST_HEAD(&new->addrs);
	sp->port = NULL;
	port = rhashtable_lookup_get_insert_fast(&reg->ports, &new->node,
						 port_params);
	if (!port) {
		atomic_inc(&ddemux_port_users[key & 0xffff]);
		return new;
	}
	/* another claim's came first, or no room: never seen */
	kmem_cache_free(port_cache, new);
	return IS_ERR(port) ? ERR_PTR(-ENOMEM) : port;
}

/*
 * An unlinked entry is not freed at once: lock-free readers may still be
 * on it until a grace period has passed.  Rather than freeing each one
 * after a grace period and allocating the next claim's, a port keeps one
 * (@port->spare), with the state RCU was in when it was unlinked; a claim
 * on the port takes it once a grace period has passed since
 * (poll_state_synchronize_rcu()), which the next bind of a port number
 * usually finds (a server restarted, a bind and close in a loop), and an
 * entry made of it is as new: nobody can still be on it.  Under the
 * port's lock; the port frees it when it goes (port_remove()).  A kept
 * entry stays charged to the memory cgroup that allocated it, whoever
 * claims with it next: one an entry's worth a port at most.
 */
static void entry_keep(struct ddemux_port *port, struct ddemux_entry *e)
{
	if (port->spare) {
		if (!pool_put(POOL_ENTRY, e))
			call_rcu(&e->rcu, entry_free_rcu);
		return;
	}
	e->gp = get_state_synchronize_rcu();
	WRITE_ONCE(port->spare, e);	/* entry_reusable() peeks */
}

/* @port's (locked) kept entry, if a grace period has passed since. */
static struct ddemux_entry *entry_reuse(struct ddemux_port *port)
{
	struct ddemux_entry *e = port->spare;

	if (!e || !poll_state_synchronize_rcu(e->gp))
		return NULL;
	WRITE_ONCE(port->spare, NULL);
	return e;
}

/*
 * Would entry_reuse() give an entry?  A hint, for a claim that has not
 * taken the port's lock yet (in an RCU read section, which keeps a kept
 * entry from being freed): it decides whether to allocate before it.
 */
static bool entry_reusable(const struct ddemux_port *port)
{
	const struct ddemux_entry *e = READ_ONCE(port->spare);

	/*
	 * The lock holder may be taking @e meanwhile and writing over @gp:
	 * a wrong hint costs only an allocation, or a second try.
	 */
	return e && poll_state_synchronize_rcu(data_race(e->gp));
}

/*
 * Unlink an empty port node (under its lock); freed after a grace
 * period.  A parked node stopped counting in ddemux_port_users when it
 * was parked.
 */
static void port_remove(struct ddemux_registry *reg, struct ddemux_port *port)
{
	port->dead = true;
	if (port->spare) {
		/* queued with a later state than its own: as safe */
		if (!pool_put(POOL_ENTRY, port->spare))
			call_rcu(&port->spare->rcu, entry_free_rcu);
		WRITE_ONCE(port->spare, NULL);
	}
	rhashtable_remove_fast(&reg->ports, &port->node, port_params);
	if (!port->parked)
		atomic_dec(&ddemux_port_users[port->key & 0xffff]);
	if (!pool_put(POOL_PORT, port))
		call_rcu(&port->rcu, port_free_rcu);
}

/* Unlink an empty address node of @port (locked); freed after a GP. */
static void addr_remove(struct ddemux_registry *reg, struct ddemux_port *port,
			struct ddemux_addr *addr)
{
	if (port->idle == addr)
		port->idle = NULL;
	if (port->indexed)
		rhashtable_remove_fast(&reg->addrs, &addr->node, addr_params);
	hlist_del_rcu(&addr->pnode);
	if (!pool_put(POOL_ADDR, addr))
		call_rcu(&addr->rcu, addr_free_rcu);
}

/*
 * @addr, on @port (locked), was emptied while other addresses of the
 * port still hold entries: it stays, as the port's one idle address
 * node, for the next claim of that address (a bind and close on an
 * address of a port that others hold on other addresses); the one kept
 * before goes, unless a claim has taken it back since.
 */
static void addr_idle(struct ddemux_registry *reg, struct ddemux_port *port,
		      struct ddemux_addr *addr)
{
	struct ddemux_addr *old = port->idle;

	if (old && old != addr && !old->nr)
		addr_remove(reg, port, old);
	port->idle = addr;
}

/* Remove a parked port node (locked, off reg->parked) and its nodes. */
static void port_evict(struct ddemux_registry *reg, struct ddemux_port *port)
{
	struct ddemux_addr *addr;
	struct hlist_node *n;

	hlist_for_each_entry_safe(addr, n, &port->addrs, pnode)
		addr_remove(reg, port, addr);
	port_remove(reg, port);
}

/*
 * Keep @port (locked, not @picked), whose last entry just went, for the
 * next claim of its port number (see DDEMUX_PARK_MAX), with the address
 * node that entry left empty.  A parked node holds nothing: it no longer
 * counts in ddemux_port_users, checks find no entry on it, and a claim
 * that adds one takes it back (port_unpark()).  When the registry keeps
 * DDEMUX_PARK_MAX already, the oldest goes, if its lock can be taken
 * without waiting (another port's lock, against the lock order);
 * otherwise @port is not kept.  Returns whether it was.
 */
static bool port_park(struct ddemux_registry *reg, struct ddemux_port *port)
{
	struct ddemux_port *old;

	spin_lock(&reg->park_lock);
	if (reg->nr_parked < DDEMUX_PARK_MAX) {
		list_add_tail(&port->park, &reg->parked);
		reg->nr_parked++;
		WRITE_ONCE(port->parked, true);
		spin_unlock(&reg->park_lock);
	} else {
		old = list_first_entry(&reg->parked, struct ddemux_port, park);
		if (!spin_trylock(&old->lock)) {
			spin_unlock(&reg->park_lock);
			return false;
		}
		/* @port takes @old's place, at the young end */
		list_del(&old->park);
		list_add_tail(&port->park, &reg->parked);
		WRITE_ONCE(port->parked, true);
		spin_unlock(&reg->park_lock);
		port_evict(reg, old);
		spin_unlock(&old->lock);
	}
	atomic_dec(&ddemux_port_users[port->key & 0xffff]);
	return true;
}

/*
 * A claim of @set is about to add the first entry to @port (locked,
 * parked), on address node @keep: the node counts again, its summary
 * starts from @set's domain (nothing on it differs: it is empty; a
 * lock-free reader that reads the old domain read an empty port), and
 * the address node it kept goes unless the claim is on it.
 */
static void port_unpark(struct ddemux_registry *reg, struct ddemux_port *port,
			const struct ddemux_aset *set, struct ddemux_addr *keep)
{
	struct ddemux_addr *addr;
	struct hlist_node *n;

	spin_lock(&reg->park_lock);
	list_del(&port->park);
	reg->nr_parked--;
	spin_unlock(&reg->park_lock);
	hlist_for_each_entry_safe(addr, n, &port->addrs, pnode)
		if (addr != keep)
			addr_remove(reg, port, addr);
	port->dom0 = set->dom;
	atomic_inc(&ddemux_port_users[port->key & 0xffff]);
	WRITE_ONCE(port->parked, false);
}

/*
 * @port (locked) is about to hold more than ADDR_WALK address nodes:
 * put them all in the address table, then say so.  Returns false,
 * changing nothing, if the table refused one.
 */
static bool port_index(struct ddemux_registry *reg, struct ddemux_port *port)
{
	struct ddemux_addr *addr, *undo;

	hlist_for_each_entry(addr, &port->addrs, pnode) {
		if (!rhashtable_insert_fast(&reg->addrs, &addr->node,
					    addr_params))
			continue;
		hlist_for_each_entry(undo, &port->addrs, pnode) {
			if (undo == addr)
				break;
			rhashtable_remove_fast(&reg->addrs, &undo->node,
					       addr_params);
		}
		return false;
	}
	/* lock-free readers that see it find every node in the table */
	smp_store_release(&port->indexed, true);
	return true;
}

/* A new address node of @laddr on @port (locked), from @sp's spare. */
static struct ddemux_addr *addr_new(struct ddemux_registry *reg,
				    struct ddemux_port *port,
				    const struct in6_addr *laddr,
				    struct spares *sp)
{
	struct ddemux_addr *addr = sp->addr, *a;
	unsigned int n = 0;

	addr->key.port = port->key;
	addr->key.laddr = *laddr;
	addr->nr = 0;
	INIT_HLIST_HEAD(&addr->entries);
	if (!port->indexed) {
		hlist_for_each_entry(a, &port->addrs, pnode)
			n++;
		if (n >= ADDR_WALK && !port_index(reg, port))
			return NULL;
	}
	if (port->indexed &&
	    rhashtable_insert_fast(&reg->addrs, &addr->node, addr_params))
		return NULL;
	sp->addr = NULL;
	/* the wildcard's first (addr_lookup()) */
	a = addr_of(reg, port, &in6addr_any);
	if (a && !ipv6_addr_any(laddr))
		hlist_add_behind_rcu(&addr->pnode, &a->pnode);
	else
		hlist_add_head_rcu(&addr->pnode, &port->addrs);
	return addr;
}

/*
 * Take @e off its address node and port (whose lock is held), and free
 * it after a grace period; an emptied address node goes too, and an
 * emptied port is parked or goes.  Not the owner table, nor the
 * counters: the callers do what their case needs.
 */
static void entry_unlink(struct ddemux_registry *reg, struct ddemux_port *port,
			 struct ddemux_entry *e)
{
	struct ddemux_addr *addr = addr_of(reg, port, &e->set.laddr);

	hlist_del_rcu(&e->anode);
	port_account(port, &e->set, -1);
	entry_keep(port, e);
	if (addr)
		addr->nr--;
	if (--port->nr) {
		if (addr && !addr->nr)
			addr_idle(reg, port, addr);
		return;
	}
	/* the last entry: the port keeps only the address node it left */
	if (port->idle && port->idle != addr)
		addr_remove(reg, port, port->idle);
	if (port->picked || !port_park(reg, port))
		port_evict(reg, port);
}

/*
 * Remove @e from the owner table and from its port (locked); uncount
 * it.  False, changing nothing, if @e was no longer in the table: the
 * table decides between this and a claim that replaced @e meanwhile
 * from another port's lock, which then unlinks @e itself.
 */
static bool entry_remove(struct ddemux_registry *reg, struct ddemux_port *port,
			 struct ddemux_entry *e)
{
	struct ddemux_domain dom = e->set.dom;

	if (rhashtable_remove_fast(&reg->owners, &e->node, owner_params))
		return false;
	entry_unlink(reg, port, e);
	uncharge(reg, &dom);
	return true;
}

/*
 * @owner's entry *@ep and the port it is on, or NULL, also once the
 * registry is dead (the caller holds rcu_read_lock()).  The caller locks
 * the port and checks that owner_on() still holds, or lets the table
 * decide (entry_remove()): the entry may have been replaced meanwhile.
 */
static struct ddemux_port *owner_port(struct ddemux_registry *reg,
				      const void *owner,
				      struct ddemux_entry **ep)
{
	struct ddemux_entry *e;

	/* the tables are gone once the registry is dead */
	e = READ_ONCE(reg->dead) ? NULL : owner_find(reg, owner);

	*ep = e;
	return e ? port_find(reg, port_key(e->set.proto, e->set.lport)) : NULL;
}

/* Is @e, on @port (locked), still @owner's entry? */
static bool owner_on(struct ddemux_registry *reg, const void *owner,
		     struct ddemux_port *port, struct ddemux_entry *e)
{
	return !port->dead && owner_find(reg, owner) == e;
}

/*
 * Judge @set against the entries of one address node; fold the verdict
 * into *@verdict and @c as check_port() describes.  True to stop.
 */
static bool check_addr(struct ddemux_addr *addr, const void *owner,
		       const struct ddemux_aset *set,
		       const struct ddemux_policy *pol,
		       enum ddemux_verdict *verdict, struct ddemux_conflict *c)
{
	struct ddemux_entry *e;

	if (!addr)
		return false;
	hlist_for_each_entry(e, &addr->entries, anode) {
		enum ddemux_reason reason;
		enum ddemux_verdict v;

		if (ddemux_key_owner(e->owner) == ddemux_key_owner(owner))
			continue;
		v = ddemux_decide(pol, set, &e->set, &reason);
		if (v == DDEMUX_ALLOW) {
			if (*verdict == DDEMUX_ALLOW &&
			    (reason == DDEMUX_R_SHARED ||
			     reason == DDEMUX_R_GROUP ||
			     (reason == DDEMUX_R_SAME_DOMAIN &&
			      c->reason == DDEMUX_R_NO_OVERLAP)))
				c->reason = reason;
			continue;
		}
		if (*verdict == DDEMUX_ALLOW) {
			c->holder = e->set;
			c->holder_pid = e->pid;
			c->holder_pending = READ_ONCE(e->pending);
			c->reason = reason;
		}
		*verdict = v;
		if (v == DDEMUX_DENY)
			return true;
	}
	return false;
}

/*
 * Check @set against every set on @port (locked) it can overlap: those
 * on its local address (@addr, the node of that address if there is
 * one) and on the wildcard, or for a wildcard claim all of them.
 * Returns the strongest verdict and describes the first refusal (or,
 * when all is allowed, the most notable allowance) in @c.
 */
static enum ddemux_verdict check_port(struct ddemux_registry *reg,
				      struct ddemux_port *port,
				      struct ddemux_addr *addr,
				      const void *owner,
				      const struct ddemux_aset *set,
				      const struct ddemux_policy *pol,
				      struct ddemux_conflict *c)
{
	enum ddemux_verdict verdict = DDEMUX_ALLOW;

	if (!port->nr)
		return DDEMUX_ALLOW;	/* made for this claim, or parked */
	if (port_all_in(port, &set->dom, pol->domain)) {
		c->reason = DDEMUX_R_SAME_DOMAIN;
		return DDEMUX_ALLOW;
	}
	if (ipv6_addr_any(&set->laddr)) {
		hlist_for_each_entry(addr, &port->addrs, pnode)
			if (check_addr(addr, owner, set, pol, &verdict, c))
				break;
		return verdict;
	}
	if (!check_addr(addr, owner, set, pol, &verdict, c))
		check_addr(addr_of(reg, port, &in6addr_any), owner, set,
			   pol, &verdict, c);
	return verdict;
}

/* ---- the registry ------------------------------------------------------ */

/**
 * ddemux_reg_module_init - what every registry shares
 *
 * The slabs entries, port and address nodes and domain counters come
 * from, and the port counters (ddemux_port_users).  Once, before any
 * registry is set up (module init, a KUnit suite's).  Entries are
 * charged to the claiming task's memory cgroup by their slab; the
 * nodes and counters, shared by every entry on them, as the claim's
 * gfp says (__GFP_ACCOUNT from a task).
 */
int ddemux_reg_module_init(void)
{
	ddemux_port_users = kvcalloc(1 << 16, sizeof(*ddemux_port_users),
				     GFP_KERNEL);
	if (!ddemux_port_users)
		return -ENOMEM;
	entry_cache = KMEM_CACHE(ddemux_entry, SLAB_ACCOUNT);
	if (!entry_cache)
		goto err;
	port_cache = KMEM_CACHE(ddemux_port, 0);
	if (!port_cache)
		goto err;
	addr_cache = KMEM_CACHE(ddemux_addr, 0);
	if (!addr_cache)
		goto err;
	dom_cache = KMEM_CACHE(ddemux_dom, 0);
	if (!dom_cache)
		goto err;
	gp_pools = alloc_percpu(struct gp_pools);
	if (!gp_pools)
		goto err;
	return 0;

err:
	kmem_cache_destroy(dom_cache);	/* NULL: nothing to do */
	kmem_cache_destroy(addr_cache);
	kmem_cache_destroy(port_cache);
	kmem_cache_destroy(entry_cache);
	kvfree(ddemux_port_users);
	return -ENOMEM;
}

/* Once every registry is destroyed: wait for the nodes in flight. */
void ddemux_reg_module_exit(void)
{
	rcu_barrier();	/* the *_free_rcu() callbacks */
	pools_drain();
	free_percpu(gp_pools);
	kmem_cache_destroy(dom_cache);
	kmem_cache_destroy(addr_cache);
	kmem_cache_destroy(port_cache);
	kmem_cache_destroy(entry_cache);
	kvfree(ddemux_port_users);
	/* a later init (another KUnit suite's) that fails unwinds these */
	gp_pools = NULL;
	dom_cache = NULL;
	addr_cache = NULL;
	port_cache = NULL;
	entry_cache = NULL;
}

/**
 * ddemux_reg_init - set up an empty registry
 * @reg: the registry
 * @max: the most entries it will record (at least 1)
 */
int ddemux_reg_init(struct ddemux_registry *reg, unsigned int max)
{
	struct rhashtable_params ops = owner_params;
	int err;

	memset(reg, 0, sizeof(*reg));
	spin_lock_init(&reg->dom_lock);
	spin_lock_init(&reg->park_lock);
	INIT_LIST_HEAD(&reg->parked);
	reg->max = max ? max : 1;
	/*
	 * The owner table holds at most one element an entry (a move
	 * replaces the old entry there), and charge() keeps entries at
	 * @max.  Its growth stops at @max buckets, rounded up to a power
	 * of two: with the default 2^20, 8 MB at most instead of 16 once
	 * three quarters of 2^20 are in use.  rhashtable refuses elements
	 * beyond twice its largest size, which stays above @max.
	 */
	if (reg->max <= DDEMUX_OWNER_BUCKETS_MAX)
		ops.max_size = roundup_pow_of_two(reg->max);
	err = rhashtable_init(&reg->ports, &port_params);
	if (err)
		return err;
	err = rhashtable_init(&reg->addrs, &addr_params);
	if (err)
		goto err_ports;
	err = rhashtable_init(&reg->owners, &ops);
	if (err)
		goto err_addrs;
	err = rhashtable_init(&reg->doms, &dom_params);
	if (err)
		goto err_owners;
	return 0;

err_owners:
	rhashtable_destroy(&reg->owners);
err_addrs:
	rhashtable_destroy(&reg->addrs);
err_ports:
	rhashtable_destroy(&reg->ports);
	return err;
}

/**
 * ddemux_reg_set_quota - the most entries one domain may hold
 * @reg: the registry
 * @quota: entries per domain, 0 for no quota
 * @mask: what a domain is (DDEMUX_DOM_*): the counters held to @quota
 */
void ddemux_reg_set_quota(struct ddemux_registry *reg, unsigned int quota,
			  u8 mask)
{
	WRITE_ONCE(reg->quota, quota);
	WRITE_ONCE(reg->quota_mask, mask);
}

static void dom_free(void *ptr, void *arg)
{
	kmem_cache_free(dom_cache, ptr);
}

/* A port node and all it holds, at once (ddemux_reg_destroy()). */
static void port_free_all(void *ptr, void *arg)
{
	struct ddemux_port *port = ptr;
	struct ddemux_addr *addr;
	struct ddemux_entry *e;
	struct hlist_node *n, *m;

	hlist_for_each_entry_safe(addr, n, &port->addrs, pnode) {
		hlist_for_each_entry_safe(e, m, &addr->entries, anode)
			kmem_cache_free(entry_cache, e);
		kmem_cache_free(addr_cache, addr);
	}
	if (!port->parked)
		atomic_dec(&ddemux_port_users[port->key & 0xffff]);
	if (port->spare)
		kmem_cache_free(entry_cache, port->spare);
	kmem_cache_free(port_cache, port);
}

/**
 * ddemux_reg_destroy - free every entry; the registry is dead afterwards
 * @reg: the registry
 *
 * Process context, once nothing claims or releases any more (the
 * namespace's hooks are gone); late lookups find nothing.
 */
void ddemux_reg_destroy(struct ddemux_registry *reg)
{
	WRITE_ONCE(reg->dead, true);
	synchronize_rcu();	/* no lock-free reader sees the tables now */

	/*
	 * The tables first: destroying one waits for its resize worker,
	 * which walks the elements, so they may go only afterwards.
	 */
	rhashtable_free_and_destroy(&reg->doms, dom_free, NULL);
	rhashtable_destroy(&reg->owners);
	rhashtable_destroy(&reg->addrs);
	/* every live port node is in the port table, parked ones too */
	rhashtable_free_and_destroy(&reg->ports, port_free_all, NULL);
	INIT_LIST_HEAD(&reg->parked);
	reg->nr_parked = 0;
	atomic_set(&reg->nr, 0);
}

/**
 * ddemux_reg_claim - check an address set and record it, atomically
 * @reg: the registry
 * @owner: the claiming socket, or its reservation key; it has at most
 *	one entry, which this replaces
 * @set: the address set (normalised)
 * @pid: tgid to remember for the log lines of later conflicts (0: keep
 *	the one recorded, if the set is unchanged)
 * @flags: %DDEMUX_CLAIM_PENDING records a reservation that conflicts
 *	like any entry until a later claim without the flag commits it or
 *	ddemux_reg_release() drops it; %DDEMUX_CLAIM_FORCE records the set
 *	even when the verdict is DENY (for changes the kernel has already
 *	made and that cannot fail); %DDEMUX_CLAIM_IF_ABSENT does nothing
 *	(@c->present) if @owner has an entry, and marks the one it records
 *	adopted (see ddemux_reg_release_adopted()); %DDEMUX_CLAIM_PICKED
 *	says the kernel picked the port (a port node made for it is not
 *	parked, DDEMUX_PARK_MAX); %DDEMUX_CLAIM_FRESH says @owner has no
 *	entry (a socket without a port): it is not looked up; the owner
 *	table's insert checks, and should it find one, or should the set
 *	not be counted (a bound or a quota, which a replaced entry of the
 *	domain would not meet), the claim comes back and looks it up
 * @pol: the policy to decide with; NULL records without judging (a set
 *	within one judged)
 * @gfp: how what the claim needs may be allocated (GFP_KERNEL where the
 *	caller may sleep; __GFP_ACCOUNT charges the task's memory cgroup)
 * @c: out, what the claim collided with; when the set was allowed but
 *	not recorded, @c->unrecorded is set and @c->why says why:
 *	-ENOSPC at the bound (counted in reg->full), -EDQUOT over the
 *	domain's quota (reg->quota_hits), -ENOMEM (reg->nomem)
 *
 * Any context that may take a BH spinlock.  On DENY without
 * %DDEMUX_CLAIM_FORCE nothing changes.
 */
enum ddemux_verdict ddemux_reg_claim(struct ddemux_registry *reg,
				     const void *owner,
				     const struct ddemux_aset *set, u32 pid,
				     unsigned int flags,
				     const struct ddemux_policy *pol, gfp_t gfp,
				     struct ddemux_conflict *c)
{
	bool pending = flags & DDEMUX_CLAIM_PENDING, same_port = false;
	u32 key = port_key(set->proto, set->lport);
	struct ddemux_entry *old, *e, *orphan = NULL;
	enum ddemux_verdict verdict;
	struct ddemux_port *port;
	struct ddemux_addr *addr;
	struct spares sp = { };
	unsigned int need;
	int err = 0;

	memset(c, 0, sizeof(*c));
	c->reason = DDEMUX_R_NO_OVERLAP;
	if (READ_ONCE(reg->dead))
		return DDEMUX_ALLOW;	/* the namespace is going away */

	/*
	 * What a claim usually needs: an entry, unless its port keeps one
	 * (see below), and an address node where the caller expects one
	 * (DDEMUX_CLAIM_NEW_ADDR).  A domain's counters exist but for its
	 * first set, for which the claim comes back, as for a node it did
	 * not expect.
	 */
	need = flags & DDEMUX_CLAIM_NEW_ADDR ? SPARE_ADDR : 0;
again:
	if (!spares_fill(&sp, need, gfp)) {
		err = -ENOMEM;
		verdict = DDEMUX_ALLOW;
		goto out_free;
	}
	verdict = DDEMUX_ALLOW;
	rcu_read_lock();
	for (;;) {
		port = port_get(reg, key, set, flags & DDEMUX_CLAIM_PICKED, &sp,
				gfp);
		if (PTR_ERR_OR_ZERO(port) == -EAGAIN) {
			rcu_read_unlock();
			need = SPARE_PORT | SPARE_ADDR;
			goto again;
		}
		if (IS_ERR(port)) {
			err = -ENOMEM;
			goto out_rcu;
		}
		/*
		 * An entry, unless the port has one to reuse: allocated here,
		 * under RCU, before the lock, without reclaim where the claim
		 * may sleep.  Should that fail, the claim finds it missing
		 * under the lock, as any spare (spares_here()).
		 */
		if (!sp.e && !entry_reusable(port))
			spares_fill(&sp, SPARE_E, gfp_nowait(gfp));
		spin_lock_bh(&port->lock);
		if (!port->dead)
			break;
		spin_unlock_bh(&port->lock);	/* it is going: find again */
	}
	/* the owner and the address node, looked up once, under the lock */
	old = flags & DDEMUX_CLAIM_FRESH ? NULL : owner_find(reg, owner);
	if ((flags & DDEMUX_CLAIM_IF_ABSENT) && old) {
		c->present = true;
		goto out;
	}
	addr = addr_of(reg, port, &set->laddr);
	if (pol)
		verdict = check_port(reg, port, addr, owner, set, pol, c);
	if (verdict == DDEMUX_DENY && !(flags & DDEMUX_CLAIM_FORCE))
		goto out;

	if (old && ddemux_aset_equal(&old->set, set)) {
		/* a repeated claim */
		WRITE_ONCE(old->pending, pending);
		old->adopted = false;
		if (pid)
			old->pid = pid;
		c->recorded = old;
		goto out;
	}
	if (!sp.e)
		sp.e = entry_reuse(port);
	need = (sp.e ? 0 : SPARE_E) | (addr || sp.addr ? 0 : SPARE_ADDR);
	if (need) {
		if (!spares_here(&sp, need, gfp, &err))
			goto refill;
		if (err)
			goto out;
	}
	e = sp.e;
	if (old)
		same_port = port_key(old->set.proto, old->set.lport) == key;
	/* the new set is counted, unless the old one, of its domain, is */
	while (!old || !ddemux_same_domain(&old->set.dom, &set->dom,
					   DDEMUX_DOM_ALL)) {
		err = charge(reg, &set->dom, &sp,
			     flags & DDEMUX_CLAIM_NO_QUOTA);
		if (err != -EAGAIN)
			break;
		err = 0;
		need = (sp.dom[0] ? 0 : SPARE_UID) | (sp.dom[1] ? 0 : SPARE_CG);
		if (!spares_here(&sp, need, gfp, &err))
			goto refill;
		if (err)
			goto out;
	}
	if (err && (flags & DDEMUX_CLAIM_FRESH))
		goto look_up;	/* over a bound: unless it replaces an entry */
	if (err)
		goto out;
	if (!addr) {
		addr = addr_new(reg, port, &set->laddr, &sp);
		if (!addr) {
			err = -ENOMEM;
			goto uncharge;
		}
	}

	e->owner = owner;
	e->set = *set;
	e->pid = pid;
	e->pending = pending;
	e->adopted = flags & DDEMUX_CLAIM_IF_ABSENT;
	if (port->parked)
		port_unpark(reg, port, set, addr);
	/* readers see the new entry before the old one goes */
	hlist_add_head_rcu(&e->anode, &addr->entries);
	addr->nr++;
	port->nr++;
	port_account(port, &e->set, 1);
	if (old)
		err = rhashtable_replace_fast(&reg->owners, &old->node,
					      &e->node, owner_params);
	else if (flags & DDEMUX_CLAIM_FRESH)	/* -EEXIST if it has one */
		err = rhashtable_lookup_insert_fast(&reg->owners, &e->node,
						    owner_params);
	else
		err = rhashtable_insert_fast(&reg->owners, &e->node,
					     owner_params);
	if (err) {
		/* cannot be empty: it has @e */
		hlist_del_rcu(&e->anode);
		addr->nr--;
		port->nr--;
		port_account(port, &e->set, -1);
		if (!addr->nr)
			addr_remove(reg, port, addr);
		/* published: lock-free readers may be on @e */
		sp.e = NULL;
		entry_keep(port, e);
		if (err == -EEXIST) {
			/* @owner has an entry after all */
			uncharge(reg, &set->dom);
			goto look_up;
		}
		err = -ENOMEM;
		goto uncharge;
	}
	sp.e = NULL;
	c->recorded = e;
	if (old) {
		if (!ddemux_same_domain(&old->set.dom, &set->dom,
					DDEMUX_DOM_ALL))
			uncharge(reg, &old->set.dom);
		if (same_port)
			entry_unlink(reg, port, old);
		else
			orphan = old;	/* its own port's lock is needed */
	}
	goto out;

look_up:
	/* a fresh claim, again with the owner's lookup */
	flags &= ~DDEMUX_CLAIM_FRESH;
	err = 0;
refill:
	/* nothing has changed: let go, allocate what is missing, again */
	if (!port->nr && !port->parked)
		port_evict(reg, port);
	spin_unlock_bh(&port->lock);
	rcu_read_unlock();
	memset(c, 0, sizeof(*c));	/* what check_port() found */
	c->reason = DDEMUX_R_NO_OVERLAP;
	goto again;

uncharge:
	if (!old || !ddemux_same_domain(&old->set.dom, &set->dom,
					DDEMUX_DOM_ALL))
		uncharge(reg, &set->dom);
out:
	if (!port->nr && !port->parked)
		port_evict(reg, port);	/* created for a claim that failed */
	spin_unlock_bh(&port->lock);
out_rcu:
	if (orphan) {
		port = port_find(reg, port_key(orphan->set.proto,
					       orphan->set.lport));
		if (port) {
			spin_lock_bh(&port->lock);
			entry_unlink(reg, port, orphan);
			spin_unlock_bh(&port->lock);
		}
	}
	rcu_read_unlock();
out_free:
	spares_free(&sp);
	if (err) {
		c->unrecorded = true;
		c->why = err;
		if (err == -ENOSPC)
			atomic64_inc(&reg->full);
		else if (err == -EDQUOT)
			atomic64_inc(&reg->quota_hits);
		else
			atomic64_inc(&reg->nomem);
	}
	return verdict;
}

/**
 * ddemux_reg_commit - make a reservation @owner's entry, as it stands
 * @reg: the registry
 * @owner: the socket
 * @key: the reservation: @owner itself, or ddemux_resv_key(@owner)
 * @set: the set @owner now holds
 * @pid: the claimant's tgid, 0 to keep the entry's
 *
 * The end of a change whose set came out exactly as it was reserved
 * (%DDEMUX_CLAIM_PENDING): the reserved entry, judged already, becomes
 * @owner's ordinary entry in place -- no second claim, no allocation.
 * A reservation under @owner itself (a socket that held nothing) loses
 * its flag; one under a reservation key replaces the entry @owner held,
 * which must be on the same port (a connect, a device change), and that
 * entry goes.  Returns false, changing nothing, where that does not
 * apply (the sets differ, the entries are on different ports, a
 * reservation is missing): the caller then records @set by a claim and
 * drops the reservation.  Any BH-safe context; the caller serialises
 * the changes of @owner's set (the socket lock).
 */
bool ddemux_reg_commit(struct ddemux_registry *reg, const void *owner,
		       const void *key, const struct ddemux_aset *set, u32 pid)
{
	struct ddemux_entry *r, *old = NULL;
	struct ddemux_domain dom;
	struct ddemux_port *port;
	bool done = false;

	rcu_read_lock();
	/*
	 * The reservation is on @set's port: found under that port's lock,
	 * with @set, it is on it, and stays as long as the lock is held.
	 */
	port = READ_ONCE(reg->dead) ? NULL :
	       port_find(reg, port_key(set->proto, set->lport));
	if (!port)
		goto out;
	spin_lock_bh(&port->lock);
	r = port->dead ? NULL : owner_find(reg, key);
	if (!r || !r->pending || !ddemux_aset_equal(&r->set, set))
		goto unlock;
	if (key != owner) {
		old = owner_find(reg, owner);
		if (!old || port_key(old->set.proto, old->set.lport) !=
			    port->key)
			goto unlock;
		/*
		 * Out of the table under its key, in under @owner's in
		 * @old's place: a lookup of @owner finds @old or @r, never
		 * neither.  Replacing cannot fail with @old in the table,
		 * which only this port's lock changes for an entry on it.
		 */
		if (rhashtable_remove_fast(&reg->owners, &r->node,
					   owner_params))
			goto unlock;
		WRITE_ONCE(r->owner, owner);	/* same ddemux_key_owner() */
		if (rhashtable_replace_fast(&reg->owners, &old->node, &r->node,
					    owner_params)) {
			/* cannot happen: drop the reservation, as release() */
			dom = r->set.dom;
			entry_unlink(reg, port, r);
			uncharge(reg, &dom);
			goto unlock;
		}
		dom = old->set.dom;
		entry_unlink(reg, port, old);
		uncharge(reg, &dom);
	}
	r->pending = false;
	r->adopted = false;
	if (pid)
		r->pid = pid;
	done = true;
unlock:
	spin_unlock_bh(&port->lock);
out:
	rcu_read_unlock();
	return done;
}

/**
 * ddemux_reg_settle - make a reservation of a socket's first set its entry
 * @e: what ddemux_reg_claim() with %DDEMUX_CLAIM_PENDING recorded for a
 *	socket under the socket itself (@c->recorded)
 *
 * ddemux_reg_commit() for its cheapest case, where the kernel gave the
 * socket exactly the set reserved: the entry is the socket's already,
 * and only its pending flag changes.  No lookup and no lock: only the
 * owner's own changes unlink an entry (a release, a replacing claim or
 * commit; the load-time walk's undo only what it adopted, and the
 * namespace's end once no hook runs), and the caller is that owner's
 * change, serialised with the others as the kernel serialises them (the
 * socket lock), from the claim to here.  Readers of the flag hold the
 * port's lock and read it once.
 */
void ddemux_reg_settle(struct ddemux_entry *e)
{
	WRITE_ONCE(e->pending, false);
}

/* Forget @owner's set; with @adopted, only one nobody has claimed. */
static bool release(struct ddemux_registry *reg, const void *owner,
		    bool adopted)
{
	struct ddemux_port *port;
	struct ddemux_entry *e;

	bool done = false;

	rcu_read_lock();
	while ((port = owner_port(reg, owner, &e))) {
		spin_lock_bh(&port->lock);
		/*
		 * A live port is the one @e is on, unless @e is out of the
		 * table, which entry_remove() finds out.  Whether @e is
		 * adopted is read only once the lookup confirms @e.
		 */
		if (adopted ? owner_on(reg, owner, port, e) : !port->dead) {
			done = !adopted || e->adopted;
			if (done && !entry_remove(reg, port, e)) {
				spin_unlock_bh(&port->lock);
				done = false;
				continue;	/* replaced meanwhile */
			}
			spin_unlock_bh(&port->lock);
			break;
		}
		spin_unlock_bh(&port->lock);
	}
	rcu_read_unlock();
	return done;
}

/**
 * ddemux_reg_release - forget @owner's address set
 * @reg: the registry
 * @owner: the socket, or its reservation key
 *
 * Returns whether there was one.  Any BH-safe context.
 */
bool ddemux_reg_release(struct ddemux_registry *reg, const void *owner)
{
	return release(reg, owner, false);
}

/**
 * ddemux_reg_release_adopted - forget @owner's set if nobody claimed it
 * @reg: the registry
 * @owner: the socket
 *
 * Removes the entry only if %DDEMUX_CLAIM_IF_ABSENT recorded it and no
 * claim has touched it since: the load-time walk's undo, for a socket it
 * read just before the kernel unhashed it, which must not remove what a
 * hook recorded meanwhile.  Returns whether it removed one.
 */
bool ddemux_reg_release_adopted(struct ddemux_registry *reg,
				const void *owner)
{
	return release(reg, owner, true);
}

/**
 * ddemux_reg_get - copy @owner's address set
 * @reg: the registry
 * @owner: the socket
 * @set: out, the set
 * @pending: out, whether it is still a reservation; NULL if not wanted
 *
 * Lock-free (RCU), unless @pending is asked for: the flag is a writer's
 * field (see the top of the file), read under the port's lock.  Returns
 * false if @owner has no entry.
 */
bool ddemux_reg_get(struct ddemux_registry *reg, const void *owner,
		    struct ddemux_aset *set, bool *pending)
{
	struct ddemux_port *port;
	struct ddemux_entry *e;

	bool found = false;

	rcu_read_lock();
	if (pending) {
		while ((port = owner_port(reg, owner, &e))) {
			spin_lock_bh(&port->lock);
			found = owner_on(reg, owner, port, e);
			if (found) {
				*set = e->set;
				*pending = READ_ONCE(e->pending);
			}
			spin_unlock_bh(&port->lock);
			if (found)
				break;
		}
	} else {
		e = READ_ONCE(reg->dead) ? NULL : owner_find(reg, owner);
		found = e;
		if (e)
			*set = e->set;
	}
	rcu_read_unlock();
	return found;
}

/* A set on @addr, of another domain than @dom, that contains @pa. */
static bool find_in(struct ddemux_addr *addr, const struct ddemux_paddr *pa,
		    const struct ddemux_domain *dom, u8 mask,
		    struct ddemux_aset *found)
{
	struct ddemux_entry *e;

	if (!addr)
		return false;
	hlist_for_each_entry_rcu(e, &addr->entries, anode) {
		if (ddemux_contains(&e->set, pa) &&
		    !ddemux_same_domain(&e->set.dom, dom, mask)) {
			*found = e->set;
			return true;
		}
	}
	return false;
}

/**
 * ddemux_reg_find_other - does another domain hold a set containing @pa?
 * @reg: the registry
 * @pa: the packet address
 * @dom: the domain asking
 * @domain_mask: what "same domain" means (DDEMUX_DOM_*)
 * @found: out, a copy of the first such set
 *
 * Lock-free (RCU): this is the packet-path lookup.  It looks at the sets
 * on the packet's local address and on the wildcard only, whatever else
 * the port holds.  Pending reservations count, since their sockets are
 * about to receive.
 */
bool ddemux_reg_find_other(struct ddemux_registry *reg,
			   const struct ddemux_paddr *pa,
			   const struct ddemux_domain *dom, u8 domain_mask,
			   struct ddemux_aset *found)
{
	u32 key = port_key(pa->proto, pa->lport);
	struct ddemux_port *port;
	bool hit = false;

	rcu_read_lock();
	port = READ_ONCE(reg->dead) ? NULL : port_find(reg, key);
	if (port && !port_all_in(port, dom, domain_mask)) {
		hit = find_in(addr_lookup(reg, port, &pa->laddr), pa, dom,
			      domain_mask, found);
		if (!hit && !ipv6_addr_any(&pa->laddr))
			hit = find_in(addr_lookup(reg, port, &in6addr_any), pa,
				      dom, domain_mask, found);
	}
	rcu_read_unlock();
	return hit;
}

/**
 * ddemux_reg_port_used - does any set hold (@proto, @port)?
 * @reg: the registry
 * @proto: &enum ddemux_proto
 * @port: the port, or echo ident
 *
 * Lock-free (RCU); a hint that may be stale as soon as it is returned,
 * like any lock-free answer: a packet-path check runs it first so that
 * an unused port costs no more.  A port number no registry holds (the
 * usual answer for the ports an autobind tries) is told by its counter,
 * without a lookup.
 */
bool ddemux_reg_port_used(struct ddemux_registry *reg, u8 proto, u16 port)
{
	struct ddemux_port *p;
	bool used;

	if (!atomic_read(&ddemux_port_users[port]))
		return false;
	rcu_read_lock();
	p = READ_ONCE(reg->dead) ? NULL : port_find(reg, port_key(proto, port));
	used = p && !READ_ONCE(p->parked);
	rcu_read_unlock();
	return used;
}

unsigned int ddemux_reg_count(struct ddemux_registry *reg)
{
	return atomic_read(&reg->nr);
}

#if IS_ENABLED(CONFIG_DDEMUX_KUNIT_TEST)
/**
 * ddemux_reg_addr_nodes - count the address nodes, for the tests
 * @reg: the registry, which nothing changes meanwhile
 * @indexed: out, how many of them are in the address table
 *
 * Returns how many there are, on every port, parked ones too.
 */
unsigned int ddemux_reg_addr_nodes(struct ddemux_registry *reg,
				   unsigned int *indexed)
{
	struct rhashtable_iter iter;
	struct ddemux_port *port;
	struct ddemux_addr *addr;
	unsigned int n = 0;

	*indexed = atomic_read(&reg->addrs.nelems);
	rhashtable_walk_enter(&reg->ports, &iter);
	rhashtable_walk_start(&iter);
	while ((port = rhashtable_walk_next(&iter))) {
		if (IS_ERR(port))
			continue;	/* -EAGAIN: a resize; nothing changes */
		hlist_for_each_entry_rcu(addr, &port->addrs, pnode)
			n++;
	}
	rhashtable_walk_stop(&iter);
	rhashtable_walk_exit(&iter);
	return n;
}

/**
 * ddemux_reg_pooled - the nodes this CPU's queues hold, for the tests
 * @drain: free every queued node first (on every CPU)
 *
 * The caller keeps itself on one CPU (UML has one).
 */
unsigned int ddemux_reg_pooled(bool drain)
{
	unsigned int n = 0;
	int kind;

	if (drain)
		pools_drain();
	for (kind = 0; kind < POOL_KINDS; kind++)
		n += this_cpu_ptr(gp_pools)->k[kind].n;
	return n;
}
#endif

/* ---- walking every entry ------------------------------------------------- */

/*
 * The walk behind /proc/net/ddemux/sockets: port by port (by number,
 * then protocol; see next_port()), address by address, under
 * rcu_read_lock() alone, so that nothing is copied and no claim waits
 * on a reader; a row's writer-only fields are read under its port's
 * lock (ddemux_reg_iter_row()).  Between two reads (a seq_file stop()
 * and start()) it holds nothing, and a restart finds its place again by
 * counting rows, as the kernel's own /proc/net files do.
 */

static struct ddemux_entry *first_entry(struct ddemux_addr *addr)
{
	return hlist_entry_safe(rcu_dereference(hlist_first_rcu(&addr->entries)),
				struct ddemux_entry, anode);
}

static struct ddemux_addr *next_addr(struct ddemux_reg_iter *it)
{
	struct hlist_node *n = it->addr ?
		rcu_dereference(hlist_next_rcu(&it->addr->pnode)) :
		rcu_dereference(hlist_first_rcu(&it->port->addrs));

	return hlist_entry_safe(n, struct ddemux_addr, pnode);
}

/*
 * The next port node, by port number and then protocol, from the one
 * at @it->next: a number no registry holds (ddemux_port_users) is
 * passed over without a lookup.  A node that holds entries throughout
 * the walk counts there and is in the port table throughout, so the
 * walk finds it; parked nodes hold nothing and may be passed over.
 */
static struct ddemux_port *next_port(struct ddemux_reg_iter *it)
{
	struct ddemux_port *port;
	u32 num, proto;

	while (it->next < DDEMUX_NPROTO << 16) {
		num = it->next / DDEMUX_NPROTO;
		proto = it->next % DDEMUX_NPROTO;
		if (!atomic_read(&ddemux_port_users[num])) {
			it->next = (num + 1) * DDEMUX_NPROTO;
			continue;
		}
		it->next++;
		port = port_find(it->reg, port_key(proto, num));
		if (port)
			return port;
	}
	return NULL;
}

/* Step to the next row; false past the last. */
static bool walk_next(struct ddemux_reg_iter *it)
{
	if (it->e) {
		it->e = hlist_entry_safe(rcu_dereference(hlist_next_rcu(&it->e->anode)),
					 struct ddemux_entry, anode);
		if (it->e)
			return true;
	}
	for (;;) {
		if (it->port) {
			it->addr = next_addr(it);
			if (it->addr) {
				it->e = first_entry(it->addr);
				if (it->e)
					return true;
				continue;
			}
		}
		it->port = next_port(it);
		if (!it->port)
			return false;
		it->addr = NULL;
	}
}

/**
 * ddemux_reg_iter_start - begin a walk at row @pos
 * @reg: the registry
 * @it: the walk
 * @pos: how many rows to skip
 *
 * Takes rcu_read_lock(), which ddemux_reg_iter_stop() drops, whatever
 * this returns: false past the last row.
 */
bool ddemux_reg_iter_start(struct ddemux_registry *reg,
			   struct ddemux_reg_iter *it, loff_t pos)
	__acquires(RCU)
{
	memset(it, 0, sizeof(*it));
	it->reg = reg;
	rcu_read_lock();
	if (READ_ONCE(reg->dead) || !walk_next(it))
		return false;
	while (pos-- > 0)
		if (!walk_next(it))
			return false;
	return true;
}

/* The next row; false past the last. */
bool ddemux_reg_iter_next(struct ddemux_reg_iter *it)
{
	return walk_next(it);
}

void ddemux_reg_iter_stop(struct ddemux_reg_iter *it)
	__releases(RCU)
{
	rcu_read_unlock();
}

/*
 * The row the walk is on.  Its pid and pending flag are read under the
 * port's lock, if it is still recorded; an entry removed meanwhile shows
 * neither.
 */
void ddemux_reg_iter_row(const struct ddemux_reg_iter *it,
			 struct ddemux_snap_row *row)
{
	struct ddemux_entry *e = it->e;

	row->set = e->set;
	row->pid = 0;
	row->pending = false;
	spin_lock_bh(&it->port->lock);
	if (owner_on(it->reg, e->owner, it->port, e)) {
		row->pid = e->pid;
		row->pending = READ_ONCE(e->pending);
	}
	spin_unlock_bh(&it->port->lock);
}
