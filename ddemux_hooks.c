// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - the hooks: where the running kernel hands ddemux its sockets
 *
 * Mechanism.  Every hook is an ftrace_ops on a kernel function.  Most are
 * redirects (FTRACE_OPS_FL_IPMODIFY, as livepatch does): the ftrace
 * handler resumes the call in a wrapper of ours with the same prototype,
 * which calls the original -- an exported symbol -- and acts before
 * and/or after it.  Calls that come from ddemux itself are not
 * redirected, which is how a wrapper reaches the original.  Wrappers run
 * in the caller's normal context: no kretprobe instance pool that can
 * run dry, no "nested probe" misses, and they may call any kernel
 * function, including the ones that are hooked.  One hook, on
 * sk_destruct (not exported), is a plain callback at entry.  The ops are
 * FTRACE_OPS_FL_PERMANENT, so "sysctl kernel.ftrace_enabled=0" cannot
 * silently switch them off while ddemux is loaded.  See
 * Documentation/hooks.rst for why ftrace rather than kprobes.
 *
 * Unload.  A task may be inside a wrapper, even asleep in it, when the
 * hooks go away.  Wrappers run inside an SRCU read section, and
 * ddemux_hooks_exit() waits for tasks still between the ftrace
 * trampoline and that section, for every section, and for the epilogues
 * after it (see there).
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/ftrace.h>
#include <linux/srcu.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/inet_hashtables.h>
#include <net/inet_connection_sock.h>
#include <net/ipv6.h>
#include <net/ip.h>
#include <net/udp.h>
#include <net/udplite.h>
#include <net/ping.h>
#include <net/tcp_states.h>

#include "ddemux_core.h"
#include "ddemux_hooks.h"

/*
 * Static: the module loader sets it up and tears it down, around
 * everything else, so netns exit may wait on it at any time.
 */
DEFINE_STATIC_SRCU(ddemux_srcu);

/*
 * Autobind: how often a kernel-chosen port that another domain holds is
 * given back before the bind fails.
 */
#define DDEMUX_AUTOBIND_TRIES	8

/* ---- the wrappers --------------------------------------------------- */

enum gp_kind { GP_TCP, GP_UDP, GP_PING };

static int orig_get_port(enum gp_kind k, struct sock *sk, unsigned short snum,
			 unsigned int arg)
{
	switch (k) {
	case GP_TCP:
		return inet_csk_get_port(sk, snum);
	case GP_UDP:
		return udp_lib_get_port(sk, snum, arg);
	default:
		return ping_get_port(sk, snum);
	}
}

/* The kernel's own undo of a get_port (what BPF POST_BIND uses). */
static void orig_put_port(enum gp_kind k, struct sock *sk)
{
	switch (k) {
	case GP_TCP:
		inet_put_port(sk);
		break;
	case GP_UDP:
		udp_lib_unhash(sk);
		break;
	default:
		ping_unhash(sk);
		break;
	}
}

static bool kind_matches(enum gp_kind k, int proto)
{
	switch (k) {
	case GP_TCP:
		return proto == DDEMUX_TCP;
	case GP_UDP:
		return proto == DDEMUX_UDP || proto == DDEMUX_UDPLITE;
	default:
		return proto == DDEMUX_PING;
	}
}

/*
 * The bind veto, for every way a port is acquired (bind, connect/sendmsg
 * autobind, listen and its re-check, kernel_bind, io_uring, MPTCP).
 *
 * A given port: reserve it (pending) before the kernel hashes it, then
 * commit, or on the kernel's refusal restore what was there before; a
 * conflict returns -EADDRINUSE without calling the kernel at all.
 *
 * Port 0: the kernel picks; if what it picked overlaps another domain
 * (UDP with SO_REUSEADDR may land on another user's SO_REUSEADDR port,
 * TCP too with ip_autobind_reuse), give it back and let it pick again.
 */
static int ddemux_get_port(enum gp_kind k, struct sock *sk,
			   unsigned short snum, unsigned int arg)
{
	struct net *net = sock_net(sk);
	struct ddemux_aset set, prev;
	int proto = ddemux_sk_proto(sk);
	struct ddemux_conflict c;
	struct ddemux_net *dn;
	enum ddemux_verdict v;
	bool had_prev;
	int ret, tries;

	dn = kind_matches(k, proto) ? ddemux_net(net) : NULL;
	if (!dn)
		return orig_get_port(k, sk, snum, arg);

	if (snum) {
		ddemux_sk_aset(sk, proto, snum, &set, true);
		/* only a bound socket (listen()'s re-check) has a set yet */
		had_prev = inet_sk(sk)->inet_num &&
			   ddemux_reg_get(&dn->reg, sk, &prev, NULL);
		v = ddemux_judge(dn, net, sk, &set, DDEMUX_CLAIM_PENDING,
				 sk->sk_state == TCP_LISTEN ? "listen" : "bind");
		if (v == DDEMUX_DENY)
			return -EADDRINUSE;
		ret = orig_get_port(k, sk, snum, arg);
		if (!ret) {
			ddemux_reg_commit(&dn->reg, sk);
		} else if (had_prev) {
			/* listen()'s re-check failed: still bound as before */
			ddemux_reg_claim(&dn->reg, sk, &prev, 0, 0, NULL, &c);
		} else {
			ddemux_reg_release(&dn->reg, sk);
		}
		return ret;
	}

	for (tries = 0;; tries++) {
		ret = orig_get_port(k, sk, 0, arg);
		if (ret)
			return ret;
		ddemux_sk_aset(sk, proto, inet_sk(sk)->inet_num, &set, true);
		v = ddemux_judge(dn, net, sk, &set, 0,
				 tries < DDEMUX_AUTOBIND_TRIES ? "autobind-try" :
				 "autobind");
		if (v != DDEMUX_DENY)
			return 0;
		orig_put_port(k, sk);
		if (inet_sk(sk)->inet_num) {
			/* cannot happen: the kernel's undo always unhashes */
			atomic64_inc(&ddemux_gstats.rollback_failed);
			return 0;
		}
		if (tries == DDEMUX_AUTOBIND_TRIES)
			return -EADDRINUSE;
		ddemux_count(dn, DDEMUX_ST_AUTOBIND_RETRIES);
	}
}

/*
 * Every wrapper runs its body inside an SRCU read section, which is what
 * lets ddemux_hooks_exit() wait for it.
 */

static int ddemux_inet_csk_get_port(struct sock *sk, unsigned short snum)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = ddemux_get_port(GP_TCP, sk, snum, 0);

	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

static int ddemux_udp_lib_get_port(struct sock *sk, unsigned short snum,
				   unsigned int hash2_nulladdr)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = ddemux_get_port(GP_UDP, sk, snum, hash2_nulladdr);

	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

static int ddemux_ping_get_port(struct sock *sk, unsigned short ident)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = ddemux_get_port(GP_PING, sk, ident, 0);

	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

/*
 * Re-read a socket's address set after the kernel changed it (connect,
 * disconnect, device binding) and record it; it cannot be refused any
 * more, but an overlap it creates is counted and reported.
 */
static void relearn(struct sock *sk, const char *op)
{
	int proto = ddemux_sk_proto(sk);
	struct ddemux_aset set;
	struct ddemux_net *dn;
	u16 port;

	if (proto < 0)
		return;
	dn = ddemux_net(sock_net(sk));
	if (!dn)
		return;
	port = READ_ONCE(inet_sk(sk)->inet_num);
	if (!port) {
		ddemux_reg_release(&dn->reg, sk);
		return;
	}
	ddemux_sk_aset(sk, proto, port, &set, true);
	ddemux_learn(dn, sock_net(sk), sk, &set, op);
}

/* TCP connect: the 4-tuple, and the port when connect() picked it. */
static int ddemux_inet_hash_connect(struct inet_timewait_death_row *dr,
				    struct sock *sk)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = inet_hash_connect(dr, sk);

	if (!ret)
		relearn(sk, "connect");
	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

static int ddemux_inet6_hash_connect(struct inet_timewait_death_row *dr,
				     struct sock *sk)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = inet6_hash_connect(dr, sk);

	if (!ret)
		relearn(sk, "connect");
	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

/*
 * Datagram connect (UDP, UDP-Lite, ping): the peer, and the local address
 * it may have narrowed.  The kernel releases the socket lock before
 * returning; take it again to read a consistent state.
 */
static int ddemux_ip4_datagram_connect(struct sock *sk, struct sockaddr *uaddr,
				       int addr_len)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = ip4_datagram_connect(sk, uaddr, addr_len);

	if (!ret && ddemux_sk_proto(sk) >= 0) {
		lock_sock(sk);
		relearn(sk, "connect");
		release_sock(sk);
	}
	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

static int ddemux_ip6_datagram_connect(struct sock *sk, struct sockaddr *uaddr,
				       int addr_len)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = ip6_datagram_connect(sk, uaddr, addr_len);

	if (!ret && ddemux_sk_proto(sk) >= 0) {
		lock_sock(sk);
		relearn(sk, "connect");
		release_sock(sk);
	}
	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

/*
 * Disconnect (connect(AF_UNSPEC)) widens the set: the peer goes, the
 * device binding goes, the local address may go back to the wildcard,
 * and without SO_BINDPORT_LOCK the port is released.  It cannot fail, so
 * an overlap it creates is only counted and reported.  The socket lock
 * may or may not be held here (UDP: yes, ping: no), so none is taken.
 */
static int ddemux___udp_disconnect(struct sock *sk, int flags)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = __udp_disconnect(sk, flags);

	relearn(sk, "disconnect");
	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

/*
 * SO_BINDTODEVICE / SO_BINDTOIFINDEX after bind change the device.  The
 * socket layer's setsockopt takes them for most sockets; UDP handles its
 * SOL_SOCKET options itself from 6.x on (udp_lib_setsockopt).  Both
 * callers release the socket lock before returning.  bpf_setsockopt()
 * and MPTCP subflows reach the option by other ways: not learned there.
 */
static void after_setsockopt(struct sock *sk, int level, int optname, int ret)
{
	if (ret || level != SOL_SOCKET ||
	    (optname != SO_BINDTODEVICE && optname != SO_BINDTOIFINDEX) ||
	    ddemux_sk_proto(sk) < 0)
		return;
	lock_sock(sk);
	if (inet_sk(sk)->inet_num)
		relearn(sk, "bindtodevice");
	release_sock(sk);
}

static int ddemux_sock_setsockopt(struct socket *sock, int level, int optname,
				  sockptr_t optval, unsigned int optlen)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = sock_setsockopt(sock, level, optname, optval, optlen);

	after_setsockopt(sock->sk, level, optname, ret);
	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

static int ddemux_udp_lib_setsockopt(struct sock *sk, int level, int optname,
				     sockptr_t optval, unsigned int optlen,
				     int (*push_pending_frames)(struct sock *))
{
	int idx = srcu_read_lock(&ddemux_srcu);
	int ret = udp_lib_setsockopt(sk, level, optname, optval, optlen,
				     push_pending_frames);

	after_setsockopt(sk, level, optname, ret);
	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

/*
 * An accepted TCP child joins its listener's port (softirq).  It belongs
 * to the listener's domain: accept() later gives it the acceptor's uid,
 * but what it receives was the listener's to receive.
 */
static int ddemux___inet_inherit_port(const struct sock *sk,
				      struct sock *child)
{
	int idx = srcu_read_lock(&ddemux_srcu);
	struct ddemux_aset set, lset;
	struct ddemux_net *dn;
	int ret;

	ret = __inet_inherit_port(sk, child);
	if (!ret && ddemux_sk_proto(child) == DDEMUX_TCP) {
		dn = ddemux_net(sock_net(child));
		if (dn) {
			ddemux_sk_aset(child, DDEMUX_TCP,
				       inet_sk(child)->inet_num, &set, true);
			if (ddemux_reg_get(&dn->reg, sk, &lset, NULL))
				set.dom = lset.dom;
			set.flags |= DDEMUX_CHILD;
			ddemux_learn(dn, sock_net(child), child, &set,
				     "accept");
		}
	}
	srcu_read_unlock(&ddemux_srcu, idx);
	return ret;
}

/* Ports given back: forget the set (the socket may live on, portless). */
static void forget(struct sock *sk)
{
	struct ddemux_net *dn;

	if (ddemux_sk_proto(sk) < 0)
		return;
	dn = ddemux_net(sock_net(sk));
	if (dn)
		ddemux_reg_release(&dn->reg, sk);
}

static void ddemux_inet_put_port(struct sock *sk)
{
	int idx = srcu_read_lock(&ddemux_srcu);

	inet_put_port(sk);
	forget(sk);
	srcu_read_unlock(&ddemux_srcu, idx);
}

static void ddemux_udp_lib_unhash(struct sock *sk)
{
	int idx = srcu_read_lock(&ddemux_srcu);

	udp_lib_unhash(sk);
	forget(sk);
	srcu_read_unlock(&ddemux_srcu, idx);
}

static void ddemux_ping_unhash(struct sock *sk)
{
	int idx = srcu_read_lock(&ddemux_srcu);

	ping_unhash(sk);
	forget(sk);
	srcu_read_unlock(&ddemux_srcu, idx);
}

/*
 * The socket is gone: the one event every full socket reaches exactly
 * once, at process exit and namespace teardown too, whatever was missed
 * before.  A plain callback (sk_destruct is not exported); any context.
 */
static void notrace ddemux_sk_destruct(unsigned long ip,
				       unsigned long parent_ip,
				       struct ftrace_ops *op,
				       struct ftrace_regs *fregs)
{
	struct sock *sk = (struct sock *)ddemux_ftrace_arg(fregs, 0);
	int idx;

	if (sk->sk_family != AF_INET && sk->sk_family != AF_INET6)
		return;
	idx = srcu_read_lock(&ddemux_srcu);
	forget(sk);
	srcu_read_unlock(&ddemux_srcu, idx);
}

/* ---- the hook table --------------------------------------------------- */

/**
 * struct ddemux_hook - one hooked kernel function
 * @name: the function
 * @target: its address (redirects: exported, so linked directly)
 * @wrapper: where a redirect resumes; NULL for a plain callback
 * @func: the plain callback
 * @required: refuse to load without it
 * @ops: its ftrace_ops
 * @live: registered
 */
struct ddemux_hook {
	const char *name;
	void *target;
	void *wrapper;
	ftrace_func_t func;
	bool required;
	struct ftrace_ops ops;
	bool live;
};

#define REDIRECT(fn, req) {						\
	.name = #fn, .target = fn, .wrapper = ddemux_##fn, .required = req, \
}

static struct ddemux_hook hooks[] = {
	/* the veto: without these ddemux protects nothing */
	REDIRECT(inet_csk_get_port, true),
	REDIRECT(udp_lib_get_port, true),
	REDIRECT(ping_get_port, true),
	/* forgetting: without it the registry would drift */
	{ .name = "sk_destruct", .func = ddemux_sk_destruct, .required = true },
	/* learning and early forgetting: a missing one is counted */
	REDIRECT(inet_hash_connect, false),
	REDIRECT(inet6_hash_connect, false),
	REDIRECT(ip4_datagram_connect, false),
	REDIRECT(ip6_datagram_connect, false),
	REDIRECT(__udp_disconnect, false),
	REDIRECT(sock_setsockopt, false),
	REDIRECT(udp_lib_setsockopt, false),
	REDIRECT(__inet_inherit_port, false),
	REDIRECT(inet_put_port, false),
	REDIRECT(udp_lib_unhash, false),
	REDIRECT(ping_unhash, false),
};

/*
 * The redirect: resume in the wrapper, unless the call comes from
 * ddemux itself (a wrapper calling the original, or a rollback).  It does
 * nothing else, so it needs no recursion protection of its own.
 */
static void notrace ddemux_redirect(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *op,
				    struct ftrace_regs *fregs)
{
	struct ddemux_hook *h = container_of(op, struct ddemux_hook, ops);

	if (!within_module(parent_ip, THIS_MODULE))
		ddemux_ftrace_set_ip(fregs, (unsigned long)h->wrapper);
}

static int hook_install(struct ddemux_hook *h)
{
	int err;

	h->ops.flags = FTRACE_OPS_FL_PERMANENT;
	if (h->wrapper) {
		h->ops.func = ddemux_redirect;
		h->ops.flags |= FTRACE_OPS_FL_IPMODIFY;
		if (!IS_ENABLED(CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS))
			h->ops.flags |= FTRACE_OPS_FL_SAVE_REGS;
		err = ftrace_set_filter_ip(&h->ops, (unsigned long)h->target,
					   0, 0);
	} else {
		char name[KSYM_NAME_LEN];

		h->ops.func = h->func;
		strscpy(name, h->name, sizeof(name));
		err = ftrace_set_filter(&h->ops, (unsigned char *)name,
					strlen(name), 0);
	}
	if (!err)
		err = register_ftrace_function(&h->ops);
	if (err) {
		ftrace_free_filter(&h->ops);
		return err;
	}
	h->live = true;
	return 0;
}

static void hook_remove(struct ddemux_hook *h)
{
	if (!h->live)
		return;
	unregister_ftrace_function(&h->ops);
	ftrace_free_filter(&h->ops);
	h->live = false;
}

/**
 * ddemux_hooks_init - install every hook
 *
 * A required hook that cannot be installed (ftrace disabled, another
 * IPMODIFY user such as a livepatch of the same function, an unknown
 * symbol) fails the load: ddemux would protect nothing and say so only
 * in a counter.  An optional one is logged and counted in
 * hooks_missing.
 */
int ddemux_hooks_init(void)
{
	unsigned int i;
	int err;

	atomic_set(&ddemux_gstats.hooks_missing, 0);
	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		err = hook_install(&hooks[i]);
		if (!err)
			continue;
		if (hooks[i].required) {
			pr_err("cannot hook %s (%d): not loading\n",
			       hooks[i].name, err);
			ddemux_hooks_exit();
			return err;
		}
		pr_warn("cannot hook %s (%d): running without it\n",
			hooks[i].name, err);
		atomic_inc(&ddemux_gstats.hooks_missing);
	}
	return 0;
}

/**
 * ddemux_hooks_exit - remove every hook and wait until no ddemux code runs
 *
 * After unregistering, no call is redirected any more, but tasks already
 * redirected may be anywhere in a wrapper.  Three waits cover them:
 * an RCU-tasks grace period for tasks between the trampoline and their
 * srcu_read_lock() (no voluntary sleep is possible there), an SRCU grace
 * period for every wrapper section (they may sleep in lock_sock()), and a
 * second RCU-tasks grace period for the few instructions after
 * srcu_read_unlock().
 */
void ddemux_hooks_exit(void)
{
	unsigned int i;

	for (i = ARRAY_SIZE(hooks); i-- > 0;)
		hook_remove(&hooks[i]);
	synchronize_rcu_tasks();
	synchronize_srcu(&ddemux_srcu);
	synchronize_rcu_tasks();
}

/* Wait until no hook still uses a namespace's state (netns teardown). */
void ddemux_hooks_sync(void)
{
	synchronize_srcu(&ddemux_srcu);
}

/* ---- sockets that exist at load ------------------------------------ */

/*
 * Sockets are collected with a reference under the kernel's bucket lock
 * and registered after it is dropped (registering takes the socket's
 * callback lock and allocates).  A bucket holding more sockets than the
 * batch is rescanned with a bigger one.
 */
struct sk_batch {
	struct sock **sk;
	unsigned int n, cap;
};

static bool batch_add(struct sk_batch *b, struct sock *sk)
{
	if (b->n == b->cap)
		return false;
	if (refcount_inc_not_zero(&sk->sk_refcnt))
		b->sk[b->n++] = sk;
	return true;
}

static void batch_drop(struct sk_batch *b)
{
	while (b->n)
		sock_gen_put(b->sk[--b->n]);
}

static int batch_grow(struct sk_batch *b)
{
	unsigned int cap = b->cap ? 2 * b->cap : 256;
	struct sock **v = kvmalloc_array(cap, sizeof(*v), GFP_KERNEL);

	if (!v)
		return -ENOMEM;
	batch_drop(b);
	kvfree(b->sk);
	b->sk = v;
	b->cap = cap;
	return 0;
}

static void batch_register(struct sk_batch *b, struct net *net,
			   struct ddemux_net *dn)
{
	unsigned int i;

	for (i = 0; i < b->n; i++) {
		struct sock *sk = b->sk[i];
		struct ddemux_aset set;
		int proto;
		u16 port;

		if (!sk_fullsock(sk))
			continue;
		proto = ddemux_sk_proto(sk);
		lock_sock(sk);
		port = inet_sk(sk)->inet_num;
		if (proto >= 0 && port) {
			ddemux_sk_aset(sk, proto, port, &set, true);
			ddemux_learn(dn, net, sk, &set, "enumerate");
			ddemux_count(dn, DDEMUX_ST_ENUMERATED);
		}
		release_sock(sk);
	}
	batch_drop(b);
}

static void enumerate_tcp(struct net *net, struct ddemux_net *dn,
			  struct sk_batch *b)
{
	struct inet_hashinfo *hinfo = net->ipv4.tcp_death_row.hashinfo;
	unsigned int i;

	for (i = 0; i < hinfo->bhash_size; i++) {
		struct inet_bind_hashbucket *head = &hinfo->bhash2[i];
		struct inet_bind2_bucket *tb2;
		struct sock *sk;
		bool full;

		if (hlist_empty(&head->chain))
			continue;
		do {
			full = false;
			spin_lock_bh(&head->lock);
			hlist_for_each_entry(tb2, &head->chain, node) {
				if (!net_eq(ib2_net(tb2), net))
					continue;
				ddemux_sk_for_each_bound2(sk, tb2) {
					if (sk->sk_state == TCP_TIME_WAIT)
						continue;
					if (!batch_add(b, sk)) {
						full = true;
						break;
					}
				}
				if (full)
					break;
			}
			spin_unlock_bh(&head->lock);
			if (full && batch_grow(b))
				return;
		} while (full);
		batch_register(b, net, dn);
		cond_resched();
	}
}

static void enumerate_udp(struct net *net, struct ddemux_net *dn,
			  struct udp_table *table, struct sk_batch *b)
{
	unsigned int i;

	for (i = 0; i <= table->mask; i++) {
		struct udp_hslot *hslot = &table->hash[i];
		struct sock *sk;
		bool full;

		if (hlist_empty(&hslot->head))
			continue;
		do {
			full = false;
			spin_lock_bh(&hslot->lock);
			sk_for_each(sk, &hslot->head) {
				if (!net_eq(sock_net(sk), net))
					continue;
				if (!batch_add(b, sk)) {
					full = true;
					break;
				}
			}
			spin_unlock_bh(&hslot->lock);
			if (full && batch_grow(b))
				return;
		} while (full);
		batch_register(b, net, dn);
		cond_resched();
	}
}

/**
 * ddemux_enumerate - register the TCP, UDP and UDP-Lite sockets of @net
 * @net: the namespace
 * @dn: its state
 *
 * Runs once at load, after the hooks are live, so a socket hashed while
 * this runs is seen by a hook, by this walk, or by both (a repeated
 * claim of the same set is a no-op).  Ping sockets cannot be enumerated
 * (the kernel's ping table is private); they are registered when they
 * next bind.  Process context.
 */
void ddemux_enumerate(struct net *net, struct ddemux_net *dn)
{
	struct sk_batch b = { };

	if (batch_grow(&b))
		return;
	enumerate_tcp(net, dn, &b);
	enumerate_udp(net, dn, ddemux_udp_table(net), &b);
	enumerate_udp(net, dn, &udplite_table, &b);
	kvfree(b.sk);
}
