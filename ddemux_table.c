// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - the registry of address sets of one network namespace
 *
 * Shape.  Every entry is one socket's address set.  Entries hang off a
 * port node, one per (protocol, port) in use, so a check walks only the
 * sockets on the port being claimed; port nodes live in an rhashtable
 * keyed by (protocol << 16 | port).  A second rhashtable finds an entry
 * by its owner (the socket pointer) for updates and removal.  Port nodes
 * are also threaded on a plain list for the /proc snapshot.
 *
 * Locking.  Writers (claim, release, snapshot, destroy) serialise on
 * reg->lock, taken with spin_lock_bh() because sockets are released from
 * softirq context; under it they never sleep and allocate with
 * GFP_ATOMIC.  The check of a claim and its insertion happen under
 * one hold of the lock, so of two racing claims that overlap across
 * domains exactly one is recorded.  Readers on the packet path
 * (ddemux_reg_find_other) take only rcu_read_lock(): entries are
 * immutable once published; a changed set is published as a new entry
 * that replaces the old with hlist_replace_rcu(), and removed entries
 * and port nodes are freed after a grace period with kfree_rcu().  The
 * fields only writers read (an entry's pid and pending flag, the
 * pnode.pprev link, a port node's place on reg->port_list) share their
 * memory with the rcu_head, which the free writes once the object is
 * unlinked; lock-free readers touch only the set, the owner and the
 * forward links, which stay intact until the grace period ends.
 *
 * Memory.  An entry is 104 bytes (kmalloc-128); a port node is 64 bytes
 * (kmalloc-64) shared by every entry on its port; each rhashtable adds
 * between 4/3 and 8/3 bucket pointers per element (it doubles when it
 * is three quarters full).
 */
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/rhashtable.h>
#include <linux/jhash.h>
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
	unsigned int nr;		/* entries on this port */
	unsigned int uid_other;		/* entries whose uid is not dom0's */
	unsigned int cg_other;		/* entries whose cgroup is not dom0's */
	struct ddemux_domain dom0;
	struct hlist_head entries;	/* RCU list of struct ddemux_entry */
	union {
		struct list_head all;	/* reg->port_list, under reg->lock */
		struct rcu_head rcu;	/* once unlinked */
	};
};

struct ddemux_entry {
	struct rhash_head node;		/* in reg->owners */
	const void *owner;		/* the socket; never dereferenced */
	union {
		/* while linked */
		struct {
			struct hlist_node pnode;	/* in port->entries */
			u32 pid;	/* tgid that claimed the set; under lock */
			bool pending;	/* reserved, not committed; under lock */
			/* recorded by DDEMUX_CLAIM_IF_ABSENT, not
			 * claimed since; under lock
			 */
			bool adopted;
		};
		/* once unlinked: readers may still follow pnode.next */
		struct {
			struct hlist_node *pnode_next;
			struct rcu_head rcu;
		};
	};
	struct ddemux_aset set;
};

/* The documented memory: one kmalloc-128 object per entry, 64 per port. */
static_assert(sizeof(struct ddemux_aset) == 60);
static_assert(sizeof(struct ddemux_entry) == 104);
static_assert(offsetof(struct ddemux_entry, pnode_next) ==
	      offsetof(struct ddemux_entry, pnode.next));
static_assert(sizeof(struct ddemux_port) == 64);

/*
 * Both tables hash with an inlined, seeded jhash of their one- or
 * two-word key and compare keys directly: rhashtable's defaults call an
 * out-of-line jhash2() and memcmp() for every hash and every comparison.
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

static u32 owner_hash(const void *data, u32 len, u32 seed)
{
	u64 v = (unsigned long)*(const void *const *)data;

	return jhash_2words((u32)v, (u32)(v >> 32), seed);
}

static int owner_cmp(struct rhashtable_compare_arg *arg, const void *obj)
{
	const struct ddemux_entry *e = obj;

	return e->owner != *(const void *const *)arg->key;
}

static const struct rhashtable_params port_params = {
	.key_len = sizeof(u32),
	.key_offset = offsetof(struct ddemux_port, key),
	.head_offset = offsetof(struct ddemux_port, node),
	.automatic_shrinking = true,
	.hashfn = port_hash,
	.obj_cmpfn = port_cmp,
};

static const struct rhashtable_params owner_params = {
	.key_len = sizeof(const void *),
	.key_offset = offsetof(struct ddemux_entry, owner),
	.head_offset = offsetof(struct ddemux_entry, node),
	.automatic_shrinking = true,
	.hashfn = owner_hash,
	.obj_cmpfn = owner_cmp,
};

/*
 * The table operations, flattened: left to itself gcc emits one shared
 * out-of-line copy of rhashtable's inline lookup for both tables, which
 * then calls the hash and compare functions through pointers.  The
 * *_find() lookups are for RCU readers (they find nothing once the
 * registry is dead), the *_get() ones for writers under reg->lock.
 */
static __flatten struct ddemux_port *port_find(struct ddemux_registry *reg,
					       u32 key)
{
	if (READ_ONCE(reg->dead))
		return NULL;
	return rhashtable_lookup(&reg->ports, &key, port_params);
}

static __flatten struct ddemux_entry *owner_find(struct ddemux_registry *reg,
						 const void *owner)
{
	if (READ_ONCE(reg->dead))
		return NULL;
	return rhashtable_lookup(&reg->owners, &owner, owner_params);
}

static __flatten struct ddemux_port *port_get(struct ddemux_registry *reg,
					      u32 key)
{
	return rhashtable_lookup_fast(&reg->ports, &key, port_params);
}

static __flatten struct ddemux_entry *owner_get(struct ddemux_registry *reg,
						const void *owner)
{
	return rhashtable_lookup_fast(&reg->owners, &owner, owner_params);
}

static __flatten int port_insert(struct ddemux_registry *reg,
				 struct ddemux_port *port)
{
	return rhashtable_insert_fast(&reg->ports, &port->node, port_params);
}

static __flatten void port_unhash(struct ddemux_registry *reg,
				  struct ddemux_port *port)
{
	rhashtable_remove_fast(&reg->ports, &port->node, port_params);
}

static __flatten int owner_insert(struct ddemux_registry *reg,
				  struct ddemux_entry *e)
{
	return rhashtable_insert_fast(&reg->owners, &e->node, owner_params);
}

static __flatten void owner_unhash(struct ddemux_registry *reg,
				   struct ddemux_entry *e)
{
	rhashtable_remove_fast(&reg->owners, &e->node, owner_params);
}

/* The port table's key: the same for an address set and a packet. */
static u32 port_key(u8 proto, u16 port)
{
	return (u32)proto << 16 | port;
}

/* Count @s in (@delta 1) or out (-1) of @port's summary; under reg->lock. */
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

/**
 * ddemux_reg_init - set up an empty registry
 * @reg: the registry
 * @max: the most entries it will record (at least 1)
 */
int ddemux_reg_init(struct ddemux_registry *reg, unsigned int max)
{
	int err;

	memset(reg, 0, sizeof(*reg));
	spin_lock_init(&reg->lock);
	INIT_LIST_HEAD(&reg->port_list);
	reg->max = max ? max : 1;
	err = rhashtable_init(&reg->ports, &port_params);
	if (err)
		return err;
	err = rhashtable_init(&reg->owners, &owner_params);
	if (err)
		rhashtable_destroy(&reg->ports);
	return err;
}

/**
 * ddemux_reg_destroy - free every entry; the registry is dead afterwards
 * @reg: the registry
 *
 * Process context.  Claims racing with this see the dead flag and record
 * nothing; after the grace period no reader can still hold an entry.
 */
void ddemux_reg_destroy(struct ddemux_registry *reg)
{
	struct ddemux_port *port, *tmp;
	struct ddemux_entry *e;
	struct hlist_node *n;

	spin_lock_bh(&reg->lock);
	WRITE_ONCE(reg->dead, true);
	spin_unlock_bh(&reg->lock);
	synchronize_rcu();	/* no lock-free reader sees the tables now */

	list_for_each_entry_safe(port, tmp, &reg->port_list, all) {
		hlist_for_each_entry_safe(e, n, &port->entries, pnode)
			kfree(e);
		kfree(port);
	}
	INIT_LIST_HEAD(&reg->port_list);
	reg->nr = 0;
	rhashtable_destroy(&reg->owners);
	rhashtable_destroy(&reg->ports);
}

/* Unlink an empty port node (under reg->lock), free it after a grace period. */
static void port_remove(struct ddemux_registry *reg, struct ddemux_port *port)
{
	port_unhash(reg, port);
	list_del(&port->all);
	kfree_rcu(port, rcu);
}

/* Unlink @e (under reg->lock) and free it after a grace period. */
static void entry_remove(struct ddemux_registry *reg, struct ddemux_entry *e)
{
	u32 key = port_key(e->set.proto, e->set.lport);
	struct ddemux_port *port;

	owner_unhash(reg, e);
	hlist_del_rcu(&e->pnode);
	reg->nr--;
	port = port_get(reg, key);
	if (port) {
		port_account(port, &e->set, -1);
		if (!--port->nr)
			port_remove(reg, port);
	}
	kfree_rcu(e, rcu);
}

/*
 * Check @set against every other entry on its port.  Returns the
 * strongest verdict and describes the first refusal (or, when all is
 * allowed, the most notable allowance) in @c.
 */
static enum ddemux_verdict check_port(struct ddemux_port *port,
				      const void *owner,
				      const struct ddemux_aset *set,
				      const struct ddemux_policy *pol,
				      struct ddemux_conflict *c)
{
	enum ddemux_verdict verdict = DDEMUX_ALLOW;
	struct ddemux_entry *e;

	if (!port)
		return DDEMUX_ALLOW;
	if (port_all_in(port, &set->dom, pol->domain)) {
		c->reason = DDEMUX_R_SAME_DOMAIN;
		return DDEMUX_ALLOW;
	}
	hlist_for_each_entry(e, &port->entries, pnode) {
		enum ddemux_reason reason;
		enum ddemux_verdict v;

		if (ddemux_key_owner(e->owner) == ddemux_key_owner(owner))
			continue;
		v = ddemux_decide(pol, set, &e->set, &reason);
		if (v == DDEMUX_ALLOW) {
			if (verdict == DDEMUX_ALLOW &&
			    (reason == DDEMUX_R_SHARED ||
			     (reason == DDEMUX_R_SAME_DOMAIN &&
			      c->reason == DDEMUX_R_NO_OVERLAP)))
				c->reason = reason;
			continue;
		}
		if (verdict == DDEMUX_ALLOW) {
			c->holder = e->set;
			c->holder_pid = e->pid;
			c->holder_pending = e->pending;
			c->reason = reason;
		}
		verdict = v;
		if (v == DDEMUX_DENY)
			break;
	}
	return verdict;
}

/**
 * ddemux_reg_claim - check an address set and record it, atomically
 * @reg: the registry
 * @owner: the claiming socket; it has at most one entry, which this
 *	replaces
 * @set: the address set (normalised)
 * @pid: tgid to remember for the log lines of later conflicts (0: keep
 *	the one recorded, if the set is unchanged)
 * @flags: %DDEMUX_CLAIM_PENDING records a reservation that conflicts
 *	like any entry until a later claim without the flag commits it or
 *	ddemux_reg_release() drops it; %DDEMUX_CLAIM_FORCE records the set
 *	even when the verdict is DENY (for changes the kernel has already
 *	made and that cannot fail); %DDEMUX_CLAIM_IF_ABSENT does nothing
 *	(@c->present) if @owner has an entry, and marks the one it records
 *	adopted (see ddemux_reg_release_adopted())
 * @pol: the policy to decide with; NULL records without judging (the
 *	commit of a reservation that was judged, or restoring a set)
 * @c: out, what the claim collided with; @c->unrecorded is set when the
 *	set was allowed but not recorded because the registry is full
 *	(counted in reg->full) or memory ran out (reg->nomem)
 *
 * Any context that may take a BH spinlock.  On DENY without
 * %DDEMUX_CLAIM_FORCE nothing changes.
 */
enum ddemux_verdict ddemux_reg_claim(struct ddemux_registry *reg,
				     const void *owner,
				     const struct ddemux_aset *set, u32 pid,
				     unsigned int flags,
				     const struct ddemux_policy *pol,
				     struct ddemux_conflict *c)
{
	bool pending = flags & DDEMUX_CLAIM_PENDING;
	struct ddemux_entry *old, *e = NULL;
	struct ddemux_port *port, *new_port = NULL;
	enum ddemux_verdict verdict;
	u32 key = port_key(set->proto, set->lport);

	memset(c, 0, sizeof(*c));
	c->reason = DDEMUX_R_NO_OVERLAP;

	spin_lock_bh(&reg->lock);
	if (reg->dead) {
		/* the namespace is going away: nothing is kept */
		verdict = DDEMUX_ALLOW;
		goto unlock;
	}
	if ((flags & DDEMUX_CLAIM_IF_ABSENT) && owner_get(reg, owner)) {
		verdict = DDEMUX_ALLOW;
		c->present = true;
		goto unlock;
	}

	port = port_get(reg, key);
	verdict = pol ? check_port(port, owner, set, pol, c) : DDEMUX_ALLOW;
	if (verdict == DDEMUX_DENY && !(flags & DDEMUX_CLAIM_FORCE))
		goto unlock;

	old = owner_get(reg, owner);
	if (old && ddemux_aset_equal(&old->set, set)) {
		/* a repeated claim */
		old->pending = pending;
		old->adopted = false;
		if (pid)
			old->pid = pid;
		goto unlock;
	}
	if (!old && reg->nr >= reg->max) {
		atomic64_inc(&reg->full);
		c->unrecorded = true;
		goto unlock;
	}

	e = kmalloc(sizeof(*e), GFP_ATOMIC | __GFP_NOWARN);
	if (!e)
		goto nomem;
	if (!port) {
		new_port = kmalloc(sizeof(*new_port), GFP_ATOMIC | __GFP_NOWARN);
		if (!new_port)
			goto nomem;
		new_port->key = key;
		new_port->nr = 0;
		new_port->uid_other = 0;
		new_port->cg_other = 0;
		new_port->dom0 = set->dom;
		INIT_HLIST_HEAD(&new_port->entries);
		if (port_insert(reg, new_port))
			goto nomem;
		list_add_tail(&new_port->all, &reg->port_list);
		port = new_port;
		new_port = NULL;
	}

	e->owner = owner;
	e->set = *set;
	e->pid = pid;
	e->pending = pending;
	e->adopted = flags & DDEMUX_CLAIM_IF_ABSENT;
	if (old && port_key(old->set.proto, old->set.lport) == key) {
		/* same port: swap in place, RCU readers see old or new */
		if (rhashtable_replace_fast(&reg->owners, &old->node, &e->node,
					    owner_params))
			goto nomem;
		hlist_replace_rcu(&old->pnode, &e->pnode);
		port_account(port, &old->set, -1);
		port_account(port, &e->set, 1);
		kfree_rcu(old, rcu);
	} else {
		if (old)
			entry_remove(reg, old);
		if (owner_insert(reg, e)) {
			/* a port node created above stays empty otherwise */
			if (!port->nr)
				port_remove(reg, port);
			goto nomem;
		}
		hlist_add_head_rcu(&e->pnode, &port->entries);
		port_account(port, &e->set, 1);
		port->nr++;
		reg->nr++;
	}
	e = NULL;
	goto unlock;

nomem:
	atomic64_inc(&reg->nomem);
	c->unrecorded = true;
unlock:
	spin_unlock_bh(&reg->lock);
	kfree(e);
	kfree(new_port);
	return verdict;
}

/* @owner's entry, or NULL (also once the registry is dead); under lock */
static struct ddemux_entry *owner_entry(struct ddemux_registry *reg,
					const void *owner)
{
	if (reg->dead)
		return NULL;
	return owner_get(reg, owner);
}

/**
 * ddemux_reg_commit - make @owner's reservation an ordinary entry
 * @reg: the registry
 * @owner: the socket, whose set was claimed with %DDEMUX_CLAIM_PENDING
 *
 * Returns whether @owner has an entry.  Any BH-safe context.
 */
bool ddemux_reg_commit(struct ddemux_registry *reg, const void *owner)
{
	struct ddemux_entry *e;

	spin_lock_bh(&reg->lock);
	e = owner_entry(reg, owner);
	if (e)
		e->pending = false;
	spin_unlock_bh(&reg->lock);
	return e;
}

/**
 * ddemux_reg_release - forget @owner's address set
 * @reg: the registry
 * @owner: the socket
 *
 * Returns whether there was one.  Any BH-safe context.
 */
bool ddemux_reg_release(struct ddemux_registry *reg, const void *owner)
{
	struct ddemux_entry *e;

	spin_lock_bh(&reg->lock);
	e = owner_entry(reg, owner);
	if (e)
		entry_remove(reg, e);
	spin_unlock_bh(&reg->lock);
	return e;
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
	struct ddemux_entry *e;

	spin_lock_bh(&reg->lock);
	e = owner_entry(reg, owner);
	if (e && e->adopted)
		entry_remove(reg, e);
	else
		e = NULL;
	spin_unlock_bh(&reg->lock);
	return e;
}

/**
 * ddemux_reg_get - copy @owner's address set
 * @reg: the registry
 * @owner: the socket
 * @set: out, the set
 * @pending: out, whether it is still a reservation; NULL if not wanted
 *
 * Lock-free (RCU), unless @pending is asked for: the flag is a writer's
 * field (see the top of the file), read under the lock.  Returns false
 * if @owner has no entry.
 */
bool ddemux_reg_get(struct ddemux_registry *reg, const void *owner,
		    struct ddemux_aset *set, bool *pending)
{
	struct ddemux_entry *e;

	if (pending) {
		spin_lock_bh(&reg->lock);
		e = owner_entry(reg, owner);
		if (e) {
			*set = e->set;
			*pending = e->pending;
		}
		spin_unlock_bh(&reg->lock);
		return e;
	}
	rcu_read_lock();
	e = owner_find(reg, owner);
	if (e)
		*set = e->set;
	rcu_read_unlock();
	return e;
}

/**
 * ddemux_reg_find_other - does another domain hold a set containing @pa?
 * @reg: the registry
 * @pa: the packet address
 * @dom: the domain asking
 * @domain_mask: what "same domain" means (DDEMUX_DOM_*)
 * @found: out, a copy of the first such set
 *
 * Lock-free (RCU): this is the packet-path lookup.  Pending reservations
 * count, since their sockets are about to receive.
 */
bool ddemux_reg_find_other(struct ddemux_registry *reg,
			   const struct ddemux_paddr *pa,
			   const struct ddemux_domain *dom, u8 domain_mask,
			   struct ddemux_aset *found)
{
	struct ddemux_port *port;
	struct ddemux_entry *e;
	bool hit = false;

	rcu_read_lock();
	port = port_find(reg, port_key(pa->proto, pa->lport));
	if (port && !port_all_in(port, dom, domain_mask)) {
		hlist_for_each_entry_rcu(e, &port->entries, pnode) {
			if (ddemux_contains(&e->set, pa) &&
			    !ddemux_same_domain(&e->set.dom, dom,
						domain_mask)) {
				*found = e->set;
				hit = true;
				break;
			}
		}
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
 * an unused port costs no more.
 */
bool ddemux_reg_port_used(struct ddemux_registry *reg, u8 proto, u16 port)
{
	bool used;

	rcu_read_lock();
	used = port_find(reg, port_key(proto, port));
	rcu_read_unlock();
	return used;
}

unsigned int ddemux_reg_count(struct ddemux_registry *reg)
{
	return READ_ONCE(reg->nr);
}

/**
 * ddemux_reg_snapshot - a consistent copy of every entry
 * @reg: the registry
 * @rows: out, a kvmalloc()ed array the caller kvfree()s (NULL if empty)
 * @nr: out, its length
 *
 * The copy is taken under the writer lock, so it is one instant of the
 * registry: no entry is missing, doubled or torn.  The memory is charged
 * to the caller's memory cgroup.  Process context.
 */
int ddemux_reg_snapshot(struct ddemux_registry *reg,
			struct ddemux_snap_row **rows, unsigned int *nr)
{
	struct ddemux_snap_row *buf;
	struct ddemux_port *port;
	struct ddemux_entry *e;
	unsigned int cap, n;

	*rows = NULL;
	*nr = 0;
	for (;;) {
		cap = READ_ONCE(reg->nr) + 64;
		buf = kvmalloc_array(cap, sizeof(*buf), GFP_KERNEL_ACCOUNT);
		if (!buf)
			return -ENOMEM;
		spin_lock_bh(&reg->lock);
		if (reg->nr <= cap)
			break;
		spin_unlock_bh(&reg->lock);
		kvfree(buf);
	}
	n = 0;
	list_for_each_entry(port, &reg->port_list, all) {
		hlist_for_each_entry(e, &port->entries, pnode) {
			buf[n].set = e->set;
			buf[n].pid = e->pid;
			buf[n].pending = e->pending;
			n++;
		}
	}
	spin_unlock_bh(&reg->lock);

	if (!n) {
		kvfree(buf);
		return 0;
	}
	*rows = buf;
	*nr = n;
	return 0;
}
