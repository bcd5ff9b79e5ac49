// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux KUnit - suite ddemux_table: the registry
 *
 * Insert, conflict, pending/commit/drop, replacement, removal,
 * reservation keys, the load-time walk's adoptions, the bound, the
 * lock-free lookup, snapshots, teardown, and check-and-insert raced from
 * several kthreads.
 */
#include <kunit/test.h>
#include <linux/kthread.h>
#include <linux/completion.h>
#include <linux/random.h>
#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/rhashtable.h>

#include "test_util.h"

static const struct ddemux_policy enforce_uid = {
	.mode = DDEMUX_MODE_ENFORCE,
	.domain = DDEMUX_DOM_UID,
};

/* distinct fake owners: the registry never dereferences them */
static int owners[64];	/* OWNER(i), i < 64 */
#define OWNER(i) ((const void *)&owners[i])

/* Every row of a walk, into a kvmalloc()ed array (NULL when empty). */
static int walk_rows(struct ddemux_registry *reg, struct ddemux_snap_row **rows,
		     unsigned int *nr)
{
	unsigned int cap = ddemux_reg_count(reg) + 64;
	struct ddemux_reg_iter it;
	bool more;

	*nr = 0;
	*rows = kvmalloc_array(cap, sizeof(**rows), GFP_KERNEL);
	if (!*rows)
		return -ENOMEM;
	for (more = ddemux_reg_iter_start(reg, &it, 0); more && *nr < cap;
	     more = ddemux_reg_iter_next(&it))
		ddemux_reg_iter_row(&it, &(*rows)[(*nr)++]);
	ddemux_reg_iter_stop(&it);
	if (!*nr) {
		kvfree(*rows);
		*rows = NULL;
	}
	return 0;
}

/* The address nodes @reg holds; none of them indexed when @plain. */
static unsigned int addr_nodes_of(struct kunit *test,
				  struct ddemux_registry *reg, bool plain)
{
	unsigned int indexed, n = ddemux_reg_addr_nodes(reg, &indexed);

	if (plain)
		KUNIT_EXPECT_EQ(test, indexed, 0U);
	return n;
}

#define addr_nodes(reg) addr_nodes_of(test, reg, true)

static struct ddemux_registry *new_reg(struct kunit *test, unsigned int max)
{
	struct ddemux_registry *reg = kunit_kzalloc(test, sizeof(*reg),
						    GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, reg);
	KUNIT_ASSERT_EQ(test, ddemux_reg_init(reg, max), 0);
	return reg;
}

static enum ddemux_verdict claim(struct kunit *test,
				 struct ddemux_registry *reg, int owner,
				 const char *desc, unsigned int flags,
				 struct ddemux_conflict *c)
{
	struct ddemux_aset s = tu_set(test, desc);

	return ddemux_reg_claim(reg, OWNER(owner), &s, 100 + owner, flags,
				&enforce_uid, GFP_KERNEL, c);
}

static void test_insert_conflict(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_conflict c;
	struct ddemux_aset got;
	bool pending;

	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 0.0.0.0:53 uid=1 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, &pending));
	KUNIT_EXPECT_EQ(test, got.lport, 53);
	KUNIT_EXPECT_FALSE(test, pending);

	/* another user co-binding is refused and leaves nothing behind */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 10.0.0.1:53 uid=2 ra", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_CROSS_DOMAIN);
	KUNIT_EXPECT_EQ(test, c.holder.lport, 53);
	KUNIT_EXPECT_TRUE(test, uid_eq(c.holder.dom.uid, KUIDT_INIT(1)));
	KUNIT_EXPECT_EQ(test, c.holder_pid, 100);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_get(reg, OWNER(1), &got, NULL));

	/* the same user may, and then both are on the port */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 10.0.0.1:53 uid=1 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_SAME_DOMAIN);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 2);

	/* other ports and protocols are independent */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 0.0.0.0:54 uid=2", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_NO_OVERLAP);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 4, "tcp 0.0.0.0:53 uid=2", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 4);

	/* the packet path's pre-check: is anything on (proto, port)? */
	KUNIT_EXPECT_TRUE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 53));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_port_used(reg, DDEMUX_TCP, 53));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_UDPLITE, 53));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_TCP, 54));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(3)));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 54));
	ddemux_reg_destroy(reg);
}

static void test_pending(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_conflict c;
	bool pending;
	struct ddemux_aset got, s;

	/* a reservation blocks other domains before it is committed */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "tcp 0.0.0.0:80 uid=1",
				    DDEMUX_CLAIM_PENDING, &c), DDEMUX_ALLOW);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, &pending));
	KUNIT_EXPECT_TRUE(test, pending);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "tcp 0.0.0.0:80 uid=2", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_TRUE(test, c.holder_pending);

	/* commit: the same set without the flag */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "tcp 0.0.0.0:80 uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, &pending));
	KUNIT_EXPECT_FALSE(test, pending);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1);

	/* ddemux_reg_commit(): the bind hook's commit, the same effect */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 4, "tcp 0.0.0.0:82 uid=1",
				    DDEMUX_CLAIM_PENDING, &c), DDEMUX_ALLOW);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(4), &got, &pending));
	KUNIT_EXPECT_TRUE(test, pending);
	s = tu_set(test, "tcp 0.0.0.0:83 uid=1");
	KUNIT_EXPECT_FALSE(test, ddemux_reg_commit(reg, OWNER(4), OWNER(4),
						   &s, 0));	/* not its set */
	s = tu_set(test, "tcp 0.0.0.0:82 uid=1");
	KUNIT_EXPECT_TRUE(test, ddemux_reg_commit(reg, OWNER(4), OWNER(4), &s,
						  0));
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(4), &got, &pending));
	KUNIT_EXPECT_FALSE(test, pending);
	KUNIT_EXPECT_EQ(test, got.lport, 82);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_commit(reg, OWNER(5), OWNER(5), &s,
						   0));
	/* committed already: nothing pending to commit */
	KUNIT_EXPECT_FALSE(test, ddemux_reg_commit(reg, OWNER(4), OWNER(4), &s,
						   0));

	/* a move: the reservation under the key takes the entry's place */
	s = tu_set(test, "tcp 127.0.0.1:82 uid=1");
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, ddemux_resv_key(OWNER(4)),
					       &s, 7, DDEMUX_CLAIM_PENDING,
					       &enforce_uid, GFP_KERNEL, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 3);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_commit(reg, OWNER(4),
						  ddemux_resv_key(OWNER(4)),
						  &s, 0));
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 2);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_get(reg, ddemux_resv_key(OWNER(4)),
						&got, NULL));
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(4), &got, &pending));
	KUNIT_EXPECT_FALSE(test, pending);
	KUNIT_EXPECT_TRUE(test, ddemux_aset_equal(&got, &s));
	/* the wildcard it held is free for another domain, the address not */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 5, "tcp 127.0.0.2:82 uid=2", 0,
				    &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 6, "tcp 127.0.0.1:82 uid=2", 0,
				    &c), DDEMUX_DENY);
	/* a move to another port is not made in place */
	s = tu_set(test, "tcp 127.0.0.1:84 uid=1");
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, ddemux_resv_key(OWNER(4)),
					       &s, 7, DDEMUX_CLAIM_PENDING,
					       &enforce_uid, GFP_KERNEL, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_commit(reg, OWNER(4),
						   ddemux_resv_key(OWNER(4)),
						   &s, 0));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg,
						   ddemux_resv_key(OWNER(4))));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(5)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(4)));

	/*
	 * ddemux_reg_settle(): the reservation the claim reports is the
	 * entry, which stays, no longer pending, and still holds the set
	 */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 7, "udp 0.0.0.0:85 uid=1",
				    DDEMUX_CLAIM_PENDING, &c), DDEMUX_ALLOW);
	KUNIT_ASSERT_NOT_NULL(test, c.recorded);
	ddemux_reg_settle(c.recorded);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(7), &got, &pending));
	KUNIT_EXPECT_FALSE(test, pending);
	KUNIT_EXPECT_EQ(test, got.lport, 85);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 8, "udp 0.0.0.0:85 uid=2", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_FALSE(test, c.holder_pending);
	KUNIT_EXPECT_NULL(test, c.recorded);	/* refused: none */
	/* a repeated claim reports the entry it kept */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 7, "udp 0.0.0.0:85 uid=1",
				    DDEMUX_CLAIM_PENDING, &c), DDEMUX_ALLOW);
	KUNIT_ASSERT_NOT_NULL(test, c.recorded);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(7), &got, &pending));
	KUNIT_EXPECT_TRUE(test, pending);
	ddemux_reg_settle(c.recorded);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(7), &got, &pending));
	KUNIT_EXPECT_FALSE(test, pending);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(7)));

	/* drop: a failed bind releases its reservation */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "tcp 0.0.0.0:81 uid=1",
				    DDEMUX_CLAIM_PENDING, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(2)));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "tcp 0.0.0.0:81 uid=2", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 2);
	ddemux_reg_destroy(reg);
}

static void test_replace(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_conflict c;
	struct ddemux_aset got;

	/* listen() re-check: same port, new state, still one entry */
	claim(test, reg, 0, "tcp 0.0.0.0:80 uid=1", 0, &c);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "tcp 0.0.0.0:80 listen uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, NULL));
	KUNIT_EXPECT_EQ(test, got.state, DDEMUX_LISTEN);

	/* an owner never conflicts with itself */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "tcp 0.0.0.0:80 listen uid=2", 0, &c),
			DDEMUX_ALLOW);

	/* moving to another port leaves the old one free */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "tcp 0.0.0.0:81 uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "tcp 0.0.0.0:80 uid=2", 0, &c),
			DDEMUX_ALLOW);

	/* a refused change keeps the old set */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "tcp 0.0.0.0:80 uid=1", 0, &c),
			DDEMUX_DENY);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, NULL));
	KUNIT_EXPECT_EQ(test, got.lport, 81);

	/* ...unless forced: the kernel already did it (disconnect) */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "tcp 0.0.0.0:80 uid=1",
				    DDEMUX_CLAIM_FORCE, &c), DDEMUX_DENY);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, NULL));
	KUNIT_EXPECT_EQ(test, got.lport, 80);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 2);
	ddemux_reg_destroy(reg);
}

static enum ddemux_verdict claim_key(struct kunit *test,
				     struct ddemux_registry *reg,
				     const void *key, const char *desc,
				     unsigned int flags,
				     const struct ddemux_policy *pol,
				     struct ddemux_conflict *c)
{
	struct ddemux_aset s = tu_set(test, desc);

	return ddemux_reg_claim(reg, key, &s, 7, flags, pol, GFP_KERNEL, c);
}

/*
 * A socket that changes its set (here SO_BINDTODEVICE from device 2 to
 * device 3) reserves the new one under its reservation key while the old
 * entry stays: another domain then conflicts with either, the socket
 * with neither.
 */
static void test_reservation(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	const void *resv = ddemux_resv_key(OWNER(0));
	struct ddemux_conflict c;
	struct ddemux_aset got;
	bool pending;

	KUNIT_EXPECT_PTR_NE(test, resv, OWNER(0));
	KUNIT_EXPECT_PTR_NE(test, resv, OWNER(1));
	KUNIT_EXPECT_PTR_EQ(test, ddemux_key_owner(resv), OWNER(0));
	KUNIT_EXPECT_PTR_EQ(test, ddemux_key_owner(OWNER(0)), OWNER(0));

	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 0.0.0.0:53 dev=2 uid=1", 0, &c),
			DDEMUX_ALLOW);
	/* another domain's set on the port, so that claims walk the port */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 5, "udp 0.0.0.0:53 dev=4 uid=2", 0, &c),
			DDEMUX_ALLOW);

	KUNIT_EXPECT_EQ(test, claim_key(test, reg, resv, "udp 0.0.0.0:53 dev=3 uid=1",
					DDEMUX_CLAIM_PENDING, &enforce_uid, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 3);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, &pending));
	KUNIT_EXPECT_EQ(test, got.dev, 2);
	KUNIT_EXPECT_FALSE(test, pending);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, resv, &got, &pending));
	KUNIT_EXPECT_EQ(test, got.dev, 3);
	KUNIT_EXPECT_TRUE(test, pending);

	/* another domain conflicts with the old set and with the new one */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 0.0.0.0:53 dev=2 uid=2", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, c.holder.dev, 2);
	KUNIT_EXPECT_FALSE(test, c.holder_pending);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 0.0.0.0:53 dev=3 uid=2", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, c.holder.dev, 3);
	KUNIT_EXPECT_TRUE(test, c.holder_pending);
	KUNIT_EXPECT_EQ(test, c.holder_pid, 7);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 10.0.0.1:53 uid=2", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 0.0.0.0:53 dev=6 uid=2", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 4);

	/* the socket's claims never meet its own entries, under either key */
	KUNIT_EXPECT_EQ(test, claim_key(test, reg, resv, "udp 0.0.0.0:53 dev=2 uid=3",
					DDEMUX_CLAIM_PENDING, &enforce_uid, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 0.0.0.0:53 dev=2 uid=4", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 0.0.0.0:53 dev=2 uid=1", 0, &c),
			DDEMUX_ALLOW);
	/* ...but meet every other socket's */
	KUNIT_EXPECT_EQ(test, claim_key(test, reg, resv, "udp 0.0.0.0:53 dev=6 uid=1",
					DDEMUX_CLAIM_PENDING, &enforce_uid, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_TRUE(test, uid_eq(c.holder.dom.uid, KUIDT_INIT(2)));
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, resv, &got, NULL));
	KUNIT_EXPECT_EQ(test, got.dev, 2);
	/* and another socket's reservation key is not this one's */
	KUNIT_EXPECT_EQ(test, claim_key(test, reg, ddemux_resv_key(OWNER(1)),
					"udp 0.0.0.0:53 dev=2 uid=2", DDEMUX_CLAIM_PENDING,
					&enforce_uid, &c),
			DDEMUX_DENY);

	/* the change made: the new set under the socket, the reservation gone */
	KUNIT_EXPECT_EQ(test, claim_key(test, reg, resv, "udp 0.0.0.0:53 dev=3 uid=1",
					DDEMUX_CLAIM_PENDING, &enforce_uid, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim_key(test, reg, OWNER(0), "udp 0.0.0.0:53 dev=3 uid=1",
					0, NULL, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, resv));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release(reg, resv));
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 3);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, &pending));
	KUNIT_EXPECT_EQ(test, got.dev, 3);
	KUNIT_EXPECT_FALSE(test, pending);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_get(reg, resv, &got, NULL));
	/* the old device is free for another domain, the new one is not */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 0.0.0.0:53 dev=2 uid=2", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 0.0.0.0:53 dev=3 uid=2", 0, &c),
			DDEMUX_DENY);

	/* a change the kernel refused: the reservation dropped, the set kept */
	KUNIT_EXPECT_EQ(test, claim_key(test, reg, resv, "udp 0.0.0.0:53 dev=7 uid=1",
					DDEMUX_CLAIM_PENDING, &enforce_uid, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, resv));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 0.0.0.0:53 dev=7 uid=2", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, NULL));
	KUNIT_EXPECT_EQ(test, got.dev, 3);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 5);

	/* a reservation on another port, released with the socket */
	KUNIT_EXPECT_EQ(test, claim_key(test, reg, resv, "udp 0.0.0.0:54 dev=3 uid=1",
					DDEMUX_CLAIM_PENDING, &enforce_uid, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 54));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(0)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, resv));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 54));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 4, "udp 0.0.0.0:54 uid=2", 0, &c),
			DDEMUX_ALLOW);
	ddemux_reg_destroy(reg);
}

/*
 * The load-time walk records a socket only if no hook did first
 * (DDEMUX_CLAIM_IF_ABSENT), and its undo removes only what no claim has
 * touched since.
 */
static void test_if_absent(struct kunit *test)
{
	const unsigned int adopt = DDEMUX_CLAIM_IF_ABSENT | DDEMUX_CLAIM_FORCE;
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_conflict c;
	struct ddemux_aset got;

	/* adopted, then undone */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 0.0.0.0:53 uid=1", adopt, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.present);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1);
	/* a second adoption finds it and changes nothing */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 10.0.0.1:53 uid=1", adopt, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, c.present);
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(0), &got, NULL));
	KUNIT_EXPECT_TRUE(test, ipv6_addr_any(&got.laddr));
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release_adopted(reg, OWNER(0)));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release_adopted(reg, OWNER(0)));
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 0);

	/* a hook recorded it first: present, and not the walk's to undo */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 0.0.0.0:53 uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 0.0.0.0:53 uid=1", adopt, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, c.present);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release_adopted(reg, OWNER(1)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_get(reg, OWNER(1), &got, NULL));

	/* adopted, then claimed again identically: no longer adopted */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 10.0.0.2:53 uid=1", adopt, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.present);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 10.0.0.2:53 uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release_adopted(reg, OWNER(2)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_get(reg, OWNER(2), &got, NULL));

	/* adopted, then replaced by a hook: the hook's set stays */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 10.0.0.3:53 uid=1", adopt, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 10.0.0.3:53 10.0.0.9:99 uid=1",
				    0, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release_adopted(reg, OWNER(3)));
	KUNIT_ASSERT_TRUE(test, ddemux_reg_get(reg, OWNER(3), &got, NULL));
	KUNIT_EXPECT_EQ(test, got.rport, 99);

	/* ...also on another port, and a forced claim counts as a claim */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 4, "udp 10.0.0.4:53 uid=1", adopt, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 4, "udp 10.0.0.4:54 uid=1",
				    DDEMUX_CLAIM_FORCE, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release_adopted(reg, OWNER(4)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 54));

	/* sets that overlap another domain's at load are recorded both */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 6, "udp 0.0.0.0:53 uid=2", adopt, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_FALSE(test, c.present);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_CROSS_DOMAIN);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_get(reg, OWNER(6), &got, NULL));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release_adopted(reg, OWNER(6)));
	/* without DDEMUX_CLAIM_FORCE, a refused adoption records nothing */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 6, "udp 0.0.0.0:53 uid=2",
				    DDEMUX_CLAIM_IF_ABSENT, &c), DDEMUX_DENY);
	KUNIT_EXPECT_FALSE(test, c.present);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_get(reg, OWNER(6), &got, NULL));

	/* an owner the registry never saw */
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release_adopted(reg, OWNER(9)));
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 4);
	ddemux_reg_destroy(reg);
	/* and a dead registry adopts nothing */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 7, "udp 0.0.0.0:55 uid=1", adopt, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.present);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release_adopted(reg, OWNER(7)));
}

/*
 * The claim's allocation paths: what it finds missing -- a port, an
 * address node, a domain's counters -- it allocates under the lock where
 * it cannot sleep, and comes back for where it can.  Both ways record
 * and refuse alike, and leave nothing behind.
 */
static void claim_paths(struct kunit *test, gfp_t gfp)
{
	static const char *const sets[] = {
		"udp 0.0.0.0:53 uid=1",		/* a new port */
		"udp 10.0.0.1:54 uid=1",	/* another */
		"udp 10.0.0.2:54 uid=1",	/* a new address on it */
		"udp 10.0.0.3:54 uid=2",	/* and a new domain */
		"udp 10.0.0.3:55 uid=3 cg=7",	/* a new uid and cgroup */
	};
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_conflict c;
	struct ddemux_aset s;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sets); i++) {
		s = tu_set(test, sets[i]);
		KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(i), &s, 1, 0,
						       &enforce_uid, gfp, &c),
				DDEMUX_ALLOW);
		KUNIT_EXPECT_FALSE(test, c.unrecorded);
	}
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), ARRAY_SIZE(sets));

	/* a repeated claim, a move to another port, a refusal */
	s = tu_set(test, sets[0]);
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(0), &s, 1, 0,
					       &enforce_uid, gfp, &c),
			DDEMUX_ALLOW);
	s = tu_set(test, "udp 0.0.0.0:56 uid=1");
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(0), &s, 1, 0,
					       &enforce_uid, gfp, &c),
			DDEMUX_ALLOW);
	s = tu_set(test, "udp 0.0.0.0:54 uid=4");
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(9), &s, 1, 0,
					       &enforce_uid, gfp, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_CROSS_DOMAIN);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), ARRAY_SIZE(sets));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 53));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 56));
	KUNIT_EXPECT_EQ(test, atomic64_read(&reg->nomem), 0);

	for (i = 0; i < ARRAY_SIZE(sets); i++)
		KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(i)));
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 0);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 54));
	ddemux_reg_destroy(reg);
}

static void test_claim_may_sleep(struct kunit *test)
{
	claim_paths(test, GFP_KERNEL);
}

static void test_claim_atomic(struct kunit *test)
{
	claim_paths(test, GFP_ATOMIC | __GFP_NOWARN);
}

static void test_release(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_conflict c;

	claim(test, reg, 0, "udp 0.0.0.0:53 uid=1", 0, &c);
	claim(test, reg, 1, "udp 10.0.0.1:54 uid=1", 0, &c);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(0)));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release(reg, OWNER(0)));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release(reg, OWNER(9)));
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 0.0.0.0:53 uid=2", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(1)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(2)));
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 0);
	ddemux_reg_destroy(reg);
}

static void test_modes(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_policy audit = enforce_uid, off = enforce_uid;
	struct ddemux_aset a = tu_set(test, "udp 0.0.0.0:53 uid=1 ra");
	struct ddemux_aset b = tu_set(test, "udp 0.0.0.0:53 uid=2 ra");
	struct ddemux_conflict c;

	audit.mode = DDEMUX_MODE_AUDIT;
	off.mode = DDEMUX_MODE_OFF;
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(0), &a, 1, 0, &audit, GFP_KERNEL, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(1), &b, 2, 0, &audit, GFP_KERNEL, &c),
			DDEMUX_AUDIT);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_CROSS_DOMAIN);
	/* audited sets are recorded: they are real sockets */
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 2);
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(2), &b, 2, 0, &off, GFP_KERNEL, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 3);
	ddemux_reg_destroy(reg);
}

static void test_bound(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 3);
	struct ddemux_conflict c;
	struct ddemux_aset got;

	claim(test, reg, 0, "udp 0.0.0.0:1 uid=1", 0, &c);
	claim(test, reg, 1, "udp 0.0.0.0:2 uid=1", 0, &c);
	claim(test, reg, 2, "udp 0.0.0.0:3 uid=1", 0, &c);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 3);

	/* full: not recorded, counted, and said so: ddemux_judge() refuses it */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 0.0.0.0:4 uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, atomic64_read(&reg->full), 1);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 3);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_get(reg, OWNER(3), &got, NULL));

	/* the check still protects what is recorded */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 4, "udp 0.0.0.0:1 uid=2", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, atomic64_read(&reg->full), 1);

	/* recorded sockets can still change */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 0.0.0.0:1 10.0.0.1:9 uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);

	/* and room comes back */
	ddemux_reg_release(reg, OWNER(1));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 0.0.0.0:4 uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 3);
	ddemux_reg_destroy(reg);
}

/*
 * The owner table stops growing at the bound rounded up to a power of
 * two (256 buckets for 200 entries; 512 uncapped, as it doubles past
 * three quarters), and every entry up to the bound still goes in.
 */
static void test_owner_table_bound(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 200);
	const struct bucket_table *tbl;
	struct ddemux_conflict c;
	struct ddemux_aset s;
	static int many[201];
	unsigned int i, size;
	char desc[40];

	for (i = 0; i < ARRAY_SIZE(many); i++) {
		snprintf(desc, sizeof(desc), "udp 0.0.0.0:%u uid=1", 1000 + i);
		s = tu_set(test, desc);
		KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, &many[i], &s, 1, 0,
						       &enforce_uid, GFP_KERNEL,
						       &c), DDEMUX_ALLOW);
		KUNIT_EXPECT_EQ(test, c.unrecorded, i == 200);
	}
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 200);
	for (i = 0; i < 200; i++)
		KUNIT_EXPECT_TRUE(test, ddemux_reg_get(reg, &many[i], &s, NULL));
	flush_work(&reg->owners.run_work);
	rcu_read_lock();
	tbl = rht_dereference_rcu(reg->owners.tbl, &reg->owners);
	size = tbl->size;
	rcu_read_unlock();
	KUNIT_EXPECT_EQ(test, size, 256);
	ddemux_reg_destroy(reg);
}

/*
 * Each uid and each cgroup counts its entries; the quota holds the ones
 * the domain mask names.  A domain at its quota gets nothing new
 * recorded (the core refuses the claim); others are not affected, and
 * replacing or repeating a set is not a new entry.
 */
static void test_quota(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_conflict c;

	ddemux_reg_set_quota(reg, 2, DDEMUX_DOM_UID);
	claim(test, reg, 0, "udp 10.0.0.1:1 uid=1 cg=7", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	claim(test, reg, 1, "udp 10.0.0.1:2 uid=1 cg=8", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 10.0.0.1:3 uid=1 cg=9", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, c.why, -EDQUOT);
	KUNIT_EXPECT_EQ(test, atomic64_read(&reg->quota_hits), 1);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 2);
	/* a reservation is an entry too */
	claim_key(test, reg, ddemux_resv_key(OWNER(0)), "udp 10.0.0.2:1 uid=1 cg=7",
		  DDEMUX_CLAIM_PENDING, &enforce_uid, &c);
	KUNIT_EXPECT_EQ(test, c.why, -EDQUOT);
	/* a socket that existed at load is recorded past the quota */
	claim(test, reg, 5, "udp 10.0.0.5:1 uid=1 cg=7",
	      DDEMUX_CLAIM_IF_ABSENT | DDEMUX_CLAIM_FORCE | DDEMUX_CLAIM_NO_QUOTA,
	      &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 3);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(5)));
	/* other domains are not held to uid 1's count */
	claim(test, reg, 3, "udp 10.0.0.1:3 uid=2", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	/* replacing or repeating a set is not a new entry */
	claim(test, reg, 0, "udp 10.0.0.1:1 10.0.0.9:5 uid=1 cg=7", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	claim(test, reg, 0, "udp 10.0.0.1:1 10.0.0.9:5 uid=1 cg=7", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 3);
	/* room comes back */
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(1)));
	/* (uid 2 holds 10.0.0.1:3) */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 10.0.0.1:3 uid=1 cg=9", 0, &c),
			DDEMUX_DENY);
	claim(test, reg, 2, "udp 10.0.0.1:4 uid=1 cg=9", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);

	/* a cgroup quota counts the cgroup, whatever the uids */
	ddemux_reg_set_quota(reg, 1, DDEMUX_DOM_CGROUP);
	claim(test, reg, 4, "udp 10.0.0.1:5 uid=3 cg=7", 0, &c);
	KUNIT_EXPECT_EQ(test, c.why, -EDQUOT);
	claim(test, reg, 5, "udp 10.0.0.1:6 uid=1 cg=10", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	/* both: each is held to it */
	ddemux_reg_set_quota(reg, 2, DDEMUX_DOM_ALL);
	claim(test, reg, 6, "udp 10.0.0.1:7 uid=1 cg=11", 0, &c);
	KUNIT_EXPECT_EQ(test, c.why, -EDQUOT);	/* uid 1 holds 3 */
	claim(test, reg, 6, "udp 10.0.0.1:7 uid=4 cg=11", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	/* no quota */
	ddemux_reg_set_quota(reg, 0, DDEMUX_DOM_ALL);
	claim(test, reg, 7, "udp 10.0.0.1:8 uid=1 cg=7", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	ddemux_reg_destroy(reg);
}

/*
 * A domain's counter leaves 0 and goes back to it without the registry's
 * lock; the one that reaches 0 is kept (parked), one uid's and one
 * cgroup's, and parking another removes it only if it is still at 0.
 * The counts, and the quota they hold, survive every turn; the counters
 * kept stay bounded.
 */
static void test_domain_counters(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_conflict c;
	char desc[48];
	int i;

	ddemux_reg_set_quota(reg, 1, DDEMUX_DOM_UID);
	claim(test, reg, 0, "udp 10.0.0.1:1 uid=1 cg=7", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	/* uid 2 comes and goes: its counters are parked, uid 1's in use */
	claim(test, reg, 1, "udp 10.0.0.1:2 uid=2 cg=8", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, atomic_read(&reg->doms.nelems), 4);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(1)));
	KUNIT_EXPECT_EQ(test, atomic_read(&reg->doms.nelems), 4);
	/* uid 1's count is still 1: its quota holds */
	claim(test, reg, 2, "udp 10.0.0.1:3 uid=1 cg=7", 0, &c);
	KUNIT_EXPECT_EQ(test, c.why, -EDQUOT);
	/* uid 1 back at 0 is parked in uid 2's place, which goes */
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(0)));
	KUNIT_EXPECT_EQ(test, atomic_read(&reg->doms.nelems), 2);
	/* a parked counter is taken back, and counts from 0 */
	claim(test, reg, 2, "udp 10.0.0.1:3 uid=1 cg=7", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	claim(test, reg, 3, "udp 10.0.0.1:4 uid=1 cg=7", 0, &c);
	KUNIT_EXPECT_EQ(test, c.why, -EDQUOT);
	/* uid 2's counter, removed, is made anew, and counts from 0 */
	claim(test, reg, 1, "udp 10.0.0.1:2 uid=2 cg=8", 0, &c);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	claim(test, reg, 4, "udp 10.0.0.1:5 uid=2 cg=8", 0, &c);
	KUNIT_EXPECT_EQ(test, c.why, -EDQUOT);
	/* parking uid 2's counter leaves uid 1's, in use, where it is */
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(1)));
	KUNIT_EXPECT_EQ(test, atomic_read(&reg->doms.nelems), 4);
	claim(test, reg, 3, "udp 10.0.0.1:4 uid=1 cg=7", 0, &c);
	KUNIT_EXPECT_EQ(test, c.why, -EDQUOT);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(2)));
	KUNIT_EXPECT_EQ(test, atomic_read(&reg->doms.nelems), 2);

	/* many domains, one after the other: one counter of each kind kept */
	for (i = 10; i < 60; i++) {
		snprintf(desc, sizeof(desc), "udp 10.0.0.2:%d uid=%d cg=%d",
			 i, i, i);
		claim(test, reg, i, desc, 0, &c);
		KUNIT_EXPECT_FALSE(test, c.unrecorded);
		KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(i)));
	}
	KUNIT_EXPECT_EQ(test, atomic_read(&reg->doms.nelems), 2);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 0);
	ddemux_reg_destroy(reg);
}

/*
 * Does a uid other than @d's hold the reply to the packet @desc
 * (ddemux_reg_find_other())?  Its set in *@found if so.
 */
static bool other_holds(struct kunit *test, struct ddemux_registry *reg,
			const char *desc, const struct ddemux_domain *d,
			struct ddemux_aset *found)
{
	struct ddemux_pkt pkt = tu_pkt(test, desc);
	struct ddemux_paddr reply;

	ddemux_reply_of(&pkt, &reply);
	return ddemux_reg_find_other(reg, &reply, d, DDEMUX_DOM_UID, found);
}

static void test_find_other(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	const char *pkt = "udp 10.0.0.1:53 > 10.0.0.2:4000";
	struct ddemux_domain d1 = { .uid = KUIDT_INIT(1) };
	struct ddemux_domain d2 = { .uid = KUIDT_INIT(2) };
	struct ddemux_conflict c;
	struct ddemux_aset found;

	KUNIT_EXPECT_FALSE(test, other_holds(test, reg, pkt, &d2, &found));
	claim(test, reg, 0, "udp 0.0.0.0:53 uid=1", DDEMUX_CLAIM_PENDING, &c);
	/* the reply to a packet forged by uid 2 reaches uid 1's socket */
	KUNIT_EXPECT_TRUE(test, other_holds(test, reg, pkt, &d2, &found));
	KUNIT_EXPECT_TRUE(test, uid_eq(found.dom.uid, KUIDT_INIT(1)));
	/* not "other" for uid 1 itself */
	KUNIT_EXPECT_FALSE(test, other_holds(test, reg, pkt, &d1, &found));
	/* nor for an address the socket does not hold */
	KUNIT_EXPECT_FALSE(test, other_holds(test, reg,
					     "udp 10.0.0.1:54 > 10.0.0.2:4000",
					     &d2, &found));
	ddemux_reg_destroy(reg);
}

/*
 * A port's address nodes enter the address table only once it holds more
 * than ADDR_WALK (4) of them; claims and the packet-path lookup find the
 * same sets either way, and an indexed port stays indexed.
 */
static void test_addr_index(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_domain d1 = { .uid = KUIDT_INIT(1) };
	struct ddemux_domain d3 = { .uid = KUIDT_INIT(3) };
	const char *to7 = "udp 10.0.0.7:54 > 10.0.0.99:4000";
	unsigned int i, indexed, n;
	struct ddemux_conflict c;
	struct ddemux_aset found;
	char desc[64];

	for (i = 0; i < 7; i++) {
		/* 10.0.0.1 to .7, uid 1 and 2 in turn */
		snprintf(desc, sizeof(desc), "udp 10.0.0.%u:53 uid=%u", i + 1,
			 1 + i % 2);
		KUNIT_EXPECT_EQ(test, claim(test, reg, i, desc, 0, &c),
				DDEMUX_ALLOW);
		n = ddemux_reg_addr_nodes(reg, &indexed);
		KUNIT_EXPECT_EQ(test, n, i + 1);
		KUNIT_EXPECT_EQ(test, indexed, i < 4 ? 0 : i + 1);
		/* every address found, before and after the port is indexed */
		snprintf(desc, sizeof(desc), "udp 10.0.0.%u:53 > 10.0.0.99:4000",
			 i + 1);
		KUNIT_EXPECT_TRUE(test, other_holds(test, reg, desc, &d3,
						    &found));
		KUNIT_EXPECT_EQ(test, __kuid_val(found.dom.uid), 1 + i % 2);
		KUNIT_EXPECT_EQ(test, other_holds(test, reg, desc, &d1, &found),
				i % 2 == 1);
		/* and each one refuses another domain's claim of it */
		snprintf(desc, sizeof(desc), "udp 10.0.0.%u:53 uid=3", i + 1);
		KUNIT_EXPECT_EQ(test, claim(test, reg, 20, desc, 0, &c),
				DDEMUX_DENY);
		KUNIT_EXPECT_EQ(test, __kuid_val(c.holder.dom.uid), 1 + i % 2);
	}
	/* an address nobody holds, on the indexed port */
	KUNIT_EXPECT_FALSE(test, other_holds(test, reg,
					     "udp 10.0.0.9:53 > 10.0.0.99:4000",
					     &d3, &found));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 20, "udp 10.0.0.9:53 uid=3", 0,
				    &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(20)));
	/* back to two addresses: still indexed, still found */
	for (i = 2; i < 7; i++)
		KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(i)));
	n = ddemux_reg_addr_nodes(reg, &indexed);
	KUNIT_EXPECT_EQ(test, indexed, n);
	KUNIT_EXPECT_GE(test, n, 2U);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 20, "udp 0.0.0.0:53 uid=3", 0,
				    &c), DDEMUX_DENY);
	KUNIT_EXPECT_TRUE(test, other_holds(test, reg,
					    "udp 10.0.0.2:53 > 10.0.0.99:4000",
					    &d1, &found));
	/* a port of its own with few addresses is not */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 30, "udp 10.0.0.1:54 uid=1", 0,
				    &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_addr_nodes(reg, &i), n + 1);
	KUNIT_EXPECT_EQ(test, i, n);
	/* a wildcard that comes after a specific address, and one after it */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 31, "udp 0.0.0.0:54 uid=1", 0,
				    &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 32, "udp 10.0.0.5:54 uid=1", 0,
				    &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, other_holds(test, reg, to7, &d3, &found));
	KUNIT_EXPECT_TRUE(test, ipv6_addr_any(&found.laddr));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 33, "udp 10.0.0.7:54 uid=3", 0,
				    &c), DDEMUX_DENY);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(31)));
	KUNIT_EXPECT_FALSE(test, other_holds(test, reg, to7, &d3, &found));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 33, "udp 10.0.0.7:54 uid=3", 0,
				    &c), DDEMUX_ALLOW);
	ddemux_reg_destroy(reg);
}

/*
 * An entry a release unlinks is kept by its port and made the next
 * claim's on that port once a grace period has passed, as new.
 */
static void test_entry_reuse(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_entry *e1, *e2;
	struct ddemux_conflict c;
	struct ddemux_aset got;

	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "tcp 10.0.0.1:80 uid=1", 0, &c),
			DDEMUX_ALLOW);
	e1 = c.recorded;
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "tcp 10.0.0.2:80 uid=2", 0, &c),
			DDEMUX_ALLOW);
	e2 = c.recorded;
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(0)));
	synchronize_rcu();
	/* another owner, domain and address: the entry is made anew */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "tcp 10.0.0.3:80 uid=3", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_PTR_EQ(test, c.recorded, e1);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_get(reg, OWNER(2), &got, NULL));
	KUNIT_EXPECT_EQ(test, __kuid_val(got.dom.uid), 3);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_get(reg, OWNER(0), &got, NULL));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "tcp 10.0.0.3:80 uid=1", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, __kuid_val(c.holder.dom.uid), 3);
	/* a port keeps one: the second entry released goes */
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(1)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(2)));
	synchronize_rcu();
	KUNIT_EXPECT_EQ(test, claim(test, reg, 4, "tcp 10.0.0.4:80 uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_PTR_EQ(test, c.recorded, e2);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1U);
	/* a port that goes frees the one it keeps (a picked one: not parked) */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 5, "udp 0.0.0.0:40000 uid=1",
				    DDEMUX_CLAIM_PICKED, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 6, "udp 0.0.0.0:40001 uid=1",
				    DDEMUX_CLAIM_PICKED, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(5)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(6)));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 40000));
	ddemux_reg_destroy(reg);
}

/*
 * A DDEMUX_CLAIM_FRESH claim of @owner, who holds a set on @was, with
 * @desc (on @port): allowed, and the one entry is @owner's new set.
 */
static void fresh_replaces(struct kunit *test, struct ddemux_registry *reg,
			   int owner, const char *desc, u16 port, u16 was)
{
	struct ddemux_conflict c;
	struct ddemux_aset got;

	KUNIT_EXPECT_EQ(test, claim(test, reg, owner, desc, DDEMUX_CLAIM_FRESH,
				    &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_NOT_NULL(test, c.recorded);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1U);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_get(reg, OWNER(owner), &got, NULL));
	KUNIT_EXPECT_EQ(test, got.lport, port);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, was));
}

/*
 * DDEMUX_CLAIM_FRESH skips the owner's lookup; an owner that has an entry
 * all the same is found by the insert, and the claim comes back: the
 * entry is replaced, and the domain's count is as before.
 */
static void test_claim_fresh(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_conflict c;

	ddemux_reg_set_quota(reg, 1, DDEMUX_DOM_UID);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 10.0.0.1:53 uid=1",
				    DDEMUX_CLAIM_FRESH, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	/* not fresh after all: the entry is replaced, not doubled */
	fresh_replaces(test, reg, 0, "udp 10.0.0.1:54 uid=1", 54, 53);
	KUNIT_EXPECT_EQ(test, atomic64_read(&reg->quota_hits), 0);
	/* judged as any claim */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 10.0.0.1:54 uid=2",
				    DDEMUX_CLAIM_FRESH, &c), DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, __kuid_val(c.holder.dom.uid), 1);
	/* the come-back uncharged what it charged: uid 1 has one set */
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(0)));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 10.0.0.1:55 uid=1",
				    DDEMUX_CLAIM_FRESH, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 10.0.0.1:56 uid=1",
				    DDEMUX_CLAIM_FRESH, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, c.unrecorded);
	KUNIT_EXPECT_EQ(test, c.why, -EDQUOT);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 1U);
	/* no quota: the set is counted, the insert finds the entry */
	ddemux_reg_set_quota(reg, 0, DDEMUX_DOM_ALL);
	fresh_replaces(test, reg, 2, "udp 10.0.0.1:57 uid=1", 57, 55);
	ddemux_reg_set_quota(reg, 1, DDEMUX_DOM_UID);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(2)));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 4, "udp 10.0.0.1:58 uid=1",
				    DDEMUX_CLAIM_FRESH, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	ddemux_reg_destroy(reg);
}

/*
 * Unlinked nodes wait in their CPU's queue for a grace period, and the
 * next allocations take them: a port made on a port number the kernel
 * picked goes when it empties, its entry, address node and port node
 * queued; after a grace period a claim elsewhere is made of them.
 */
static void test_node_pool(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_entry *e1;
	struct ddemux_conflict c;
	unsigned int i, n;

	KUNIT_EXPECT_EQ(test, ddemux_reg_pooled(true), 0U);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 10.0.0.1:40000 uid=1",
				    DDEMUX_CLAIM_PICKED, &c), DDEMUX_ALLOW);
	e1 = c.recorded;
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(0)));
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 40000));
	/* the entry (kept by its port, which went), address nodes, port */
	n = ddemux_reg_pooled(false);
	KUNIT_EXPECT_GE(test, n, 3U);
	synchronize_rcu();
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 10.0.0.2:40001 uid=2",
				    DDEMUX_CLAIM_PICKED, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_PTR_EQ(test, c.recorded, e1);
	/* an entry, a port node and an address node */
	KUNIT_EXPECT_EQ(test, ddemux_reg_pooled(false), n - 3);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 10.0.0.2:40001 uid=3",
				    DDEMUX_CLAIM_PICKED, &c), DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, __kuid_val(c.holder.dom.uid), 2);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(1)));
	/* a full queue sends the rest to call_rcu() */
	for (i = 0; i < 100; i++) {
		char desc[40];

		snprintf(desc, sizeof(desc), "udp 10.0.0.3:%u uid=1", 41000 + i);
		KUNIT_EXPECT_EQ(test, claim(test, reg, 3, desc,
					    DDEMUX_CLAIM_PICKED, &c),
				DDEMUX_ALLOW);
		KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(3)));
	}
	KUNIT_EXPECT_LE(test, ddemux_reg_pooled(false), 3U * 64);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 0U);
	ddemux_reg_destroy(reg);
	KUNIT_EXPECT_EQ(test, ddemux_reg_pooled(true), 0U);
}

static void test_snapshot(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_snap_row *rows;
	struct ddemux_conflict c;
	unsigned int nr, i;
	int seen = 0;

	KUNIT_EXPECT_EQ(test, walk_rows(reg, &rows, &nr), 0);
	KUNIT_EXPECT_EQ(test, nr, 0);
	KUNIT_EXPECT_NULL(test, rows);

	claim(test, reg, 0, "udp 0.0.0.0:53 uid=1 ra", 0, &c);
	claim(test, reg, 1, "udp 10.0.0.1:53 uid=1 ra", 0, &c);
	claim(test, reg, 2, "tcp [::]:443 listen uid=3", DDEMUX_CLAIM_PENDING, &c);
	KUNIT_ASSERT_EQ(test, walk_rows(reg, &rows, &nr), 0);
	KUNIT_ASSERT_EQ(test, nr, 3);
	for (i = 0; i < nr; i++) {
		if (rows[i].set.proto == DDEMUX_TCP) {
			KUNIT_EXPECT_TRUE(test, rows[i].pending);
			KUNIT_EXPECT_EQ(test, rows[i].pid, 102);
			seen |= 1;
		} else {
			KUNIT_EXPECT_FALSE(test, rows[i].pending);
			seen |= ipv6_addr_any(&rows[i].set.laddr) ? 2 : 4;
		}
	}
	KUNIT_EXPECT_EQ(test, seen, 7);
	kvfree(rows);
	ddemux_reg_destroy(reg);
}

/*
 * A walk finds every entry, by port number and then protocol, whatever
 * the order of the claims: the same number under several protocols,
 * the lowest and the highest numbers, and a parked port, which holds
 * nothing, is passed over.
 */
static void test_walk_order(struct kunit *test)
{
	static const struct { const char *set; u8 proto; u16 port; } want[] = {
		{ "udp 0.0.0.0:0 uid=1",	DDEMUX_UDP,	0 },
		{ "tcp 0.0.0.0:7 uid=1",	DDEMUX_TCP,	7 },
		{ "ping 0.0.0.0:7 uid=1",	DDEMUX_PING,	7 },
		{ "tcp 0.0.0.0:53 uid=2",	DDEMUX_TCP,	53 },
		{ "udp 10.0.0.1:53 uid=1",	DDEMUX_UDP,	53 },
		{ "udplite [::]:53 uid=1",	DDEMUX_UDPLITE,	53 },
		{ "tcp 0.0.0.0:65535 uid=3",	DDEMUX_TCP,	65535 },
	};
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_snap_row *rows;
	struct ddemux_conflict c;
	unsigned int nr, i;

	/* claimed last first, and a port parked on the way */
	claim(test, reg, 20, "udp 0.0.0.0:9 uid=1", 0, &c);
	for (i = ARRAY_SIZE(want); i-- > 0;)
		KUNIT_EXPECT_EQ(test, claim(test, reg, i, want[i].set, 0, &c),
				DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(20)));
	KUNIT_ASSERT_EQ(test, walk_rows(reg, &rows, &nr), 0);
	KUNIT_ASSERT_EQ(test, nr, ARRAY_SIZE(want));
	for (i = 0; i < nr; i++) {
		KUNIT_EXPECT_EQ_MSG(test, rows[i].set.proto, want[i].proto,
				    "row %u", i);
		KUNIT_EXPECT_EQ_MSG(test, rows[i].set.lport, want[i].port,
				    "row %u", i);
	}
	kvfree(rows);
	ddemux_reg_destroy(reg);
}

static void test_destroyed(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_pkt pkt = tu_pkt(test, "udp 10.0.0.1:53 > 10.0.0.2:4000");
	struct ddemux_domain d2 = { .uid = KUIDT_INIT(2) };
	struct ddemux_conflict c;
	struct ddemux_paddr reply;
	struct ddemux_aset found;

	claim(test, reg, 0, "udp 0.0.0.0:53 uid=1", 0, &c);
	ddemux_reg_destroy(reg);
	/* late events after netns teardown are harmless no-ops: nothing is
	 * recorded, and nothing refused (the namespace is going away)
	 */
	KUNIT_EXPECT_FALSE(test, ddemux_reg_release(reg, OWNER(0)));
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 0.0.0.0:53 uid=2", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_FALSE(test, c.unrecorded);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_get(reg, OWNER(0), &found, NULL));
	ddemux_reply_of(&pkt, &reply);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_find_other(reg, &reply, &d2,
						       DDEMUX_DOM_UID, &found));
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 0);
}

/*
 * The per-port domain summary must give the same answers as the walk:
 * many sets of one domain, then a foreign one, then the foreign one gone.
 */
static void test_domain_summary(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 100);
	struct ddemux_pkt pkt = tu_pkt(test, "udp 10.0.0.1:53 > 10.0.0.2:4000");
	struct ddemux_domain d1 = { .uid = KUIDT_INIT(1), .cgid = 5 };
	struct ddemux_domain d2 = { .uid = KUIDT_INIT(2), .cgid = 5 };
	struct ddemux_policy cg = enforce_uid;
	struct ddemux_conflict c;
	struct ddemux_paddr reply;
	struct ddemux_aset found, s;
	int i;

	ddemux_reply_of(&pkt, &reply);
	for (i = 0; i < 20; i++)
		KUNIT_ASSERT_EQ(test, claim(test, reg, i, "udp 0.0.0.0:53 uid=1 cg=5 rp",
					    0, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_SAME_DOMAIN);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_find_other(reg, &reply, &d1,
						       DDEMUX_DOM_UID, &found));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_find_other(reg, &reply, &d2,
						      DDEMUX_DOM_UID, &found));
	/* another user, in the same cgroup: one domain when domain=cgroup */
	cg.domain = DDEMUX_DOM_CGROUP;
	s = tu_set(test, "udp 10.0.0.1:53 uid=2 cg=5 ra");
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(40), &s, 0, 0, &cg, GFP_KERNEL, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_SAME_DOMAIN);
	/* ...but not by uid: uid 1 now meets uid 2 on the port */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 41, "udp 10.0.0.1:53 uid=1 cg=5 ra", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_TRUE(test, uid_eq(c.holder.dom.uid, KUIDT_INIT(2)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_find_other(reg, &reply, &d1,
						      DDEMUX_DOM_UID, &found));
	KUNIT_EXPECT_TRUE(test, uid_eq(found.dom.uid, KUIDT_INIT(2)));
	/* the foreign set replaced by one of uid 1: a single domain again */
	s = tu_set(test, "udp 10.0.0.1:53 uid=1 cg=5 ra");
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(40), &s, 0,
					       DDEMUX_CLAIM_FORCE, NULL, GFP_KERNEL, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 41, "udp 10.0.0.2:53 uid=1 cg=5 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_SAME_DOMAIN);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_find_other(reg, &reply, &d1,
						       DDEMUX_DOM_UID, &found));
	/* uid 1 and another cgroup: one domain by uid, two by both */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 42, "udp 10.0.0.3:53 uid=1 cg=6 ra", 0, &c),
			DDEMUX_ALLOW);
	cg.domain = DDEMUX_DOM_ALL;
	s = tu_set(test, "udp 0.0.0.0:53 uid=1 cg=5 rp");
	KUNIT_EXPECT_EQ(test, ddemux_reg_claim(reg, OWNER(43), &s, 0, 0, &cg, GFP_KERNEL, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, c.holder.dom.cgid, 6);
	ddemux_reg_destroy(reg);
}

/* ---- concurrency -------------------------------------------------------- */

#define STRESS_THREADS	4
#define STRESS_SLOTS	8
#define STRESS_ROUNDS	4000

struct stress_ctx {
	struct ddemux_registry *reg;
	struct completion done[STRESS_THREADS];
	atomic_t allowed, denied, released;
	atomic_t running;
};

struct stress_arg {
	struct stress_ctx *ctx;
	int id;
};

static struct stress_arg stress_args[STRESS_THREADS];
static int stress_owner[STRESS_THREADS][STRESS_SLOTS];

/*
 * Each thread is its own uid and claims random address sets (a few
 * ports, wildcard or specific, v4 or dual) in its slots, releasing at
 * random: the sets of different threads overlap constantly.
 */
static int stress_fn(void *data)
{
	struct stress_arg *arg = data;
	struct stress_ctx *ctx = arg->ctx;
	struct rnd_state rnd;
	int round;

	prandom_seed_state(&rnd, 1000 + arg->id);
	for (round = 0; round < STRESS_ROUNDS; round++) {
		u32 r = prandom_u32_state(&rnd);
		int slot = r % STRESS_SLOTS;
		const void *owner = &stress_owner[arg->id][slot];
		struct ddemux_aset s = { };
		struct ddemux_conflict c;
		struct in6_addr a6 = { };
		enum ddemux_verdict v;

		if ((r >> 8) % 4 == 0) {
			if (ddemux_reg_release(ctx->reg, owner))
				atomic_inc(&ctx->released);
			continue;
		}
		s.proto = DDEMUX_UDP;
		s.lport = 1000 + (r >> 12) % 3;
		s.dom.uid = KUIDT_INIT(arg->id + 1);
		s.flags = DDEMUX_REUSEADDR;
		if ((r >> 16) % 3 == 0)
			ddemux_aset_set_local(&s, AF_INET6, 0, &a6, false);
		else
			ddemux_aset_set_local(&s, AF_INET,
					      htonl(0x0a000000 | ((r >> 20) % 3)),
					      NULL, false);
		ddemux_aset_normalise(&s);
		v = ddemux_reg_claim(ctx->reg, owner, &s, arg->id,
				     (r >> 24) % 2 ? DDEMUX_CLAIM_PENDING : 0,
				     &enforce_uid, GFP_KERNEL, &c);
		if (v == DDEMUX_ALLOW)
			atomic_inc(&ctx->allowed);
		else
			atomic_inc(&ctx->denied);
		/*
		 * UML is uniprocessor and not preemptible: hand the CPU to
		 * the other threads and the checker now and then, so that
		 * their operations interleave.  Truly parallel claims are
		 * exercised in the VM (tests/), on an SMP guest.
		 */
		if (!(round % 128))
			usleep_range(10, 20);
		else
			cond_resched();
	}
	atomic_dec(&ctx->running);
	complete(&ctx->done[arg->id]);
	return 0;
}

/*
 * A port whose last entry goes is parked rather than removed: it counts
 * as unused, holds nothing, and a claim of another domain takes it back
 * as its own; past DDEMUX_PARK_MAX emptied ports the oldest go; a port
 * others hold keeps one emptied address node; a port node made for a
 * port the kernel picked is not kept; and every port still claims,
 * conflicts and releases as before.
 */
static void test_parked_ports(struct kunit *test)
{
	struct ddemux_registry *reg = new_reg(test, 4 * DDEMUX_PARK_MAX);
	struct ddemux_snap_row *rows;
	struct ddemux_conflict c;
	unsigned int nr, parked;
	char desc[48];
	int i, ports;

	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 10.0.0.1:7000 uid=1 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_port_used_anywhere(7000));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(0)));
	KUNIT_EXPECT_EQ(test, reg->nr_parked, 1U);
	KUNIT_EXPECT_FALSE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 7000));
	KUNIT_EXPECT_FALSE(test, ddemux_port_used_anywhere(7000));

	/* another domain takes the parked port, on another address */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 10.0.0.2:7000 uid=2 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, reg->nr_parked, 0U);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_port_used(reg, DDEMUX_UDP, 7000));
	KUNIT_EXPECT_TRUE(test, ddemux_port_used_anywhere(7000));
	/* the port's summary is its domain's now: its next claim walks nothing */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 10.0.0.3:7000 uid=2 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, c.reason, DDEMUX_R_SAME_DOMAIN);
	/* and the first domain's wildcard overlaps them */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 0.0.0.0:7000 uid=1 ra", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 10.0.0.1:7000 uid=1 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_ASSERT_EQ(test, walk_rows(reg, &rows, &nr), 0);
	KUNIT_EXPECT_EQ(test, nr, 3U);
	kvfree(rows);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(i)));

	/* on a port others hold, one emptied address node stays, no more */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 1, "udp 10.0.0.2:7100 uid=2 ra", 0, &c),
			DDEMUX_ALLOW);
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 10.0.0.1:7100 uid=1 ra", 0, &c),
				DDEMUX_ALLOW);
		KUNIT_EXPECT_EQ(test, addr_nodes(reg), 3);
		KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(0)));
		KUNIT_EXPECT_EQ(test, addr_nodes(reg), 3);
	}
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 10.0.0.3:7100 uid=1 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(0)));
	/* 10.0.0.2's, the parked 7000's, 10.0.0.3's kept; 10.0.0.1's gone */
	KUNIT_EXPECT_EQ(test, addr_nodes(reg), 3);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 0, "udp 0.0.0.0:7100 uid=1 ra", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 2, "udp 0.0.0.0:7100 uid=2 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 2);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(1)));
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(2)));

	/* a port node made for a port the kernel picked is not kept */
	parked = reg->nr_parked;
	ports = atomic_read(&reg->ports.nelems);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 0.0.0.0:40000 uid=1",
				    DDEMUX_CLAIM_PICKED, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, atomic_read(&reg->ports.nelems), ports + 1);
	/* a connect on it is recorded without the flag: still not kept */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 10.0.0.1:40000 10.0.0.9:53 uid=1",
				    0, &c), DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(3)));
	KUNIT_EXPECT_EQ(test, reg->nr_parked, parked);
	KUNIT_EXPECT_EQ(test, atomic_read(&reg->ports.nelems), ports);
	KUNIT_EXPECT_FALSE(test, ddemux_port_used_anywhere(40000));
	/* and the same port, bound (not picked) and emptied, is */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 3, "udp 0.0.0.0:40000 uid=1", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(3)));
	KUNIT_EXPECT_EQ(test, reg->nr_parked, parked + 1);

	/* more ports emptied than are kept: the oldest go */
	for (i = 0; i < DDEMUX_PARK_MAX + 8; i++) {
		snprintf(desc, sizeof(desc), "tcp 10.0.0.1:%d uid=1 ra", 10000 + i);
		KUNIT_EXPECT_EQ(test, claim(test, reg, 3, desc, 0, &c), DDEMUX_ALLOW);
		KUNIT_EXPECT_TRUE(test, ddemux_reg_release(reg, OWNER(3)));
	}
	KUNIT_EXPECT_EQ(test, reg->nr_parked, (unsigned int)DDEMUX_PARK_MAX);
	KUNIT_EXPECT_EQ(test, ddemux_reg_count(reg), 0);
	KUNIT_ASSERT_EQ(test, walk_rows(reg, &rows, &nr), 0);
	KUNIT_EXPECT_EQ(test, nr, 0U);
	for (i = 0; i < DDEMUX_PARK_MAX + 8; i++)
		if (ddemux_port_used_anywhere(10000 + i))
			KUNIT_FAIL(test, "port %d counted as used", 10000 + i);
	/* an evicted port and a parked one, each held and refused to another */
	KUNIT_EXPECT_EQ(test, claim(test, reg, 4, "tcp 0.0.0.0:10000 uid=2 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 5, "tcp 10.0.0.1:11031 uid=2 ra", 0, &c),
			DDEMUX_ALLOW);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 6, "tcp 10.0.0.1:10000 uid=1 ra", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_EQ(test, claim(test, reg, 6, "tcp 0.0.0.0:11031 uid=1 ra", 0, &c),
			DDEMUX_DENY);
	KUNIT_EXPECT_TRUE(test, ddemux_port_used_anywhere(10000));
	KUNIT_EXPECT_TRUE(test, ddemux_port_used_anywhere(11031));
	ddemux_reg_destroy(reg);
	KUNIT_EXPECT_FALSE(test, ddemux_port_used_anywhere(10000));
	KUNIT_EXPECT_FALSE(test, ddemux_port_used_anywhere(11031));
	KUNIT_EXPECT_FALSE(test, ddemux_port_used_anywhere(7000));
}

/* No two recorded sets of different domains may overlap, ever. */
static int check_invariant(struct kunit *test, struct ddemux_registry *reg)
{
	struct ddemux_snap_row *rows;
	unsigned int nr, i, j;
	int bad = 0;

	/* UML is not preemptible: the walk is one instant of the registry */
	if (walk_rows(reg, &rows, &nr))
		return -1;
	for (i = 0; i < nr; i++)
		for (j = i + 1; j < nr; j++)
			if (ddemux_overlap(&rows[i].set, &rows[j].set) &&
			    !uid_eq(rows[i].set.dom.uid, rows[j].set.dom.uid))
				bad++;
	kvfree(rows);
	return bad;
}

static void test_concurrent_claims(struct kunit *test)
{
	struct stress_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct task_struct *t[STRESS_THREADS];
	int i, snapshots = 0, bad = 0;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->reg = new_reg(test, 1000);
	atomic_set(&ctx->running, STRESS_THREADS);
	for (i = 0; i < STRESS_THREADS; i++) {
		init_completion(&ctx->done[i]);
		stress_args[i].ctx = ctx;
		stress_args[i].id = i;
	}
	for (i = 0; i < STRESS_THREADS; i++) {
		t[i] = kthread_run(stress_fn, &stress_args[i], "ddemux_stress/%d", i);
		if (IS_ERR(t[i])) {
			/* let the started ones finish before failing */
			atomic_sub(STRESS_THREADS - i, &ctx->running);
			while (i--)
				wait_for_completion(&ctx->done[i]);
			KUNIT_FAIL_AND_ABORT(test, "kthread_run failed");
		}
	}
	/* check the invariant on consistent snapshots while they race */
	while (atomic_read(&ctx->running)) {
		bad += check_invariant(test, ctx->reg);
		snapshots++;
		usleep_range(200, 400);
	}
	for (i = 0; i < STRESS_THREADS; i++)
		wait_for_completion(&ctx->done[i]);
	bad += check_invariant(test, ctx->reg);

	KUNIT_EXPECT_EQ(test, bad, 0);
	KUNIT_EXPECT_GT(test, atomic_read(&ctx->allowed), 0);
	KUNIT_EXPECT_GT(test, atomic_read(&ctx->denied), 0);
	KUNIT_EXPECT_GT(test, snapshots, 1);
	kunit_info(test, "%d allowed, %d denied, %d released, %d snapshots\n",
		   atomic_read(&ctx->allowed), atomic_read(&ctx->denied),
		   atomic_read(&ctx->released), snapshots);
	ddemux_reg_destroy(ctx->reg);
}

static struct kunit_case ddemux_table_cases[] = {
	KUNIT_CASE(test_insert_conflict),
	KUNIT_CASE(test_pending),
	KUNIT_CASE(test_replace),
	KUNIT_CASE(test_release),
	KUNIT_CASE(test_claim_may_sleep),
	KUNIT_CASE(test_claim_atomic),
	KUNIT_CASE(test_reservation),
	KUNIT_CASE(test_if_absent),
	KUNIT_CASE(test_modes),
	KUNIT_CASE(test_bound),
	KUNIT_CASE(test_owner_table_bound),
	KUNIT_CASE(test_quota),
	KUNIT_CASE(test_domain_counters),
	KUNIT_CASE(test_find_other),
	KUNIT_CASE(test_addr_index),
	KUNIT_CASE(test_entry_reuse),
	KUNIT_CASE(test_claim_fresh),
	KUNIT_CASE(test_node_pool),
	KUNIT_CASE(test_snapshot),
	KUNIT_CASE(test_walk_order),
	KUNIT_CASE(test_destroyed),
	KUNIT_CASE(test_domain_summary),
	KUNIT_CASE(test_parked_ports),
	KUNIT_CASE(test_concurrent_claims),
	{}
};

static int table_suite_init(struct kunit_suite *suite)
{
	return ddemux_reg_module_init();
}

static void table_suite_exit(struct kunit_suite *suite)
{
	ddemux_reg_module_exit();
}

static struct kunit_suite ddemux_table_suite = {
	.name = "ddemux_table",
	.suite_init = table_suite_init,
	.suite_exit = table_suite_exit,
	.test_cases = ddemux_table_cases,
};

kunit_test_suite(ddemux_table_suite);
