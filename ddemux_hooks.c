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
 * sk_destruct (not exported), is a plain callback at entry; another, on
 * sk_setsockopt (not exported either), redirects two options only and
 * does all their work itself, calling no original.  The ops are
 * FTRACE_OPS_FL_PERMANENT, so "sysctl kernel.ftrace_enabled=0" cannot
 * silently switch them off while ddemux is loaded.  See
 * Documentation/hooks.rst for why ftrace rather than kprobes.
 *
 * Unload.  A task may be inside a wrapper, even asleep in it, when the
 * hooks go away.  Wrappers run inside an SRCU read section
 * (ddemux_enter()), and ddemux_hooks_exit() waits for tasks still
 * between the ftrace trampoline and that section, for every section, and
 * for the epilogues after it (ddemux_hooks_quiesce()).
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
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <net/tcp_states.h>
#include <net/tcp.h>

#include "ddemux_core.h"
#include "ddemux_fast.h"
#include "ddemux_hooks.h"

/*
 * Autobind: how often a kernel-chosen port that another domain holds is
 * given back before the bind fails.
 */
#define DDEMUX_AUTOBIND_TRIES	8

/* ---- the wrappers --------------------------------------------------- */

/*
 * Every wrapper runs its body inside an SRCU read section, which is what
 * lets ddemux_hooks_exit() wait for it.  A socket ddemux does not guard,
 * or one in a namespace ddemux is not live in, goes straight to the
 * original.
 */

/* @sk's namespace state if ddemux guards it (*@proto its protocol). */
static struct ddemux_net *guarded(struct sock *sk, int *proto)
{
	*proto = ddemux_sk_proto(sk);
	return *proto < 0 ? NULL : ddemux_net(sock_net(sk));
}

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
		return ddemux_proto_tcp_like(proto);	/* DCCP's too */
	case GP_UDP:
		return proto == DDEMUX_UDP || proto == DDEMUX_UDPLITE;
	default:
		return proto == DDEMUX_PING;
	}
}

/*
 * A ping socket's bind.  ping_bind() calls ping_get_port() before it
 * sets the socket's address (ping_set_saddr()), so get_port alone would
 * see, judge and hash the wildcard: the address the bind asked for is
 * handed to get_port here, keyed by the task and the socket, which
 * ping_bind()'s socket lock keeps in place meanwhile.
 */
struct ping_bind_ctx {
	struct list_head node;
	const struct task_struct *task;
	const struct sock *sk;
	__be32 v4;
	struct in6_addr v6;
};

static LIST_HEAD(ping_binds);
static DEFINE_SPINLOCK(ping_binds_lock);	/* guards ping_binds */

static struct ping_bind_ctx *ping_bind_of(const struct sock *sk)
{
	struct ping_bind_ctx *ctx, *found = NULL;

	spin_lock(&ping_binds_lock);
	list_for_each_entry(ctx, &ping_binds, node)
		if (ctx->task == current && ctx->sk == sk)
			found = ctx;
	spin_unlock(&ping_binds_lock);
	return found;
}

/*
 * Set the address ping_bind() is about to set, before get_port hashes
 * the socket (from @ctx), or clear it again (@ctx NULL) if it failed.
 * The socket is unbound and locked: nothing reads these fields yet.
 */
static void ping_set_addr(struct sock *sk, const struct ping_bind_ctx *ctx)
{
	if (sk->sk_family == AF_INET) {
		inet_sk(sk)->inet_saddr = ctx ? ctx->v4 : 0;
		WRITE_ONCE(sk->sk_rcv_saddr, ctx ? ctx->v4 : 0);
	} else {
		sk->sk_v6_rcv_saddr = ctx ? ctx->v6 : in6addr_any;
		inet6_sk(sk)->saddr = ctx ? ctx->v6 : in6addr_any;
	}
}

/* What the pick of a port for @sk may choose from. */
static void port_range(struct sock *sk, int proto, int *low, int *high)
{
	if (proto == DDEMUX_PING) {
		*low = 1;	/* idents; ping_get_port() never picks 0 */
		*high = 65535;
		return;
	}
	inet_sk_get_local_port_range(sk, low, high);
}

/*
 * Autobind of a datagram socket (UDP, UDP-Lite, ping), whose get_port
 * hashes it where it receives at once: ddemux picks the port itself,
 * the way the kernel does (at random in the local port range, skipping
 * reserved ports), but among the ports no set of the namespace holds,
 * reserves it in the registry, and only then asks the kernel for that
 * very port -- with the socket's SO_REUSEADDR and SO_REUSEPORT cleared
 * for the call, so that the kernel too shares it with nobody, as it
 * would not for a port of its own choice.  The socket is hashed only on
 * a port it keeps.  The caller ends @m.
 */
static int pick_port(enum gp_kind k, struct ddemux_net *dn, struct sock *sk,
		     int proto, unsigned int arg, struct ddemux_aset *to,
		     struct ddemux_move *m)
{
	u8 reuse = sk->sk_reuse, reuseport = sk->sk_reuseport;
	int low, high, i, err, tries = 0;
	u32 range, start;

	port_range(sk, proto, &low, &high);
	range = high - low + 1;
	start = get_random_u32_below(range);
	for (i = 0; i < range; i++) {
		u16 port = low + (start + i) % range;

		if (proto != DDEMUX_PING &&
		    inet_is_local_reserved_port(sock_net(sk), port))
			continue;
		if (ddemux_reg_port_used(&dn->reg, proto, port))
			continue;
		to->lport = port;
		err = ddemux_move_begin_flags(m, dn, sk, proto, to,
					      DDEMUX_CLAIM_PICKED, "autobind");
		if (err == -EADDRINUSE)
			continue;	/* claimed meanwhile */
		if (err)
			return err;	/* the registry is full, or a signal */
		sk->sk_reuse = SK_NO_REUSE;
		sk->sk_reuseport = 0;
		err = orig_get_port(k, sk, port, arg);
		sk->sk_reuse = reuse;
		sk->sk_reuseport = reuseport;
		if (!err)
			return 0;
		ddemux_move_end(m);	/* the reservation goes */
		if (++tries == DDEMUX_AUTOBIND_TRIES)
			break;
	}
	return -EADDRINUSE;
}

/*
 * Autobind of a TCP (or DCCP) socket: its get_port only puts it in a
 * bind bucket, where it receives nothing (listen() hashes it after
 * get_port returns), so the kernel picks, and a port another domain
 * holds (shared with SO_REUSEADDR under net.ipv4.ip_autobind_reuse) is
 * given back with the kernel's own undo and picked again, up to
 * DDEMUX_AUTOBIND_TRIES times.
 */
static int pick_tcp_port(struct ddemux_net *dn, struct sock *sk, int proto)
{
	struct ddemux_aset set;
	int ret, tries, err;

	err = ddemux_gate(dn, sk);
	if (err)
		return err;
	for (tries = 0;; tries++) {
		ret = orig_get_port(GP_TCP, sk, 0, 0);
		if (ret)
			return ret;
		ddemux_sk_aset(sk, proto, ddemux_sk_port(sk), &set);
		err = ddemux_judge(dn, sock_net(sk), sk, &set,
				   DDEMUX_CLAIM_PICKED,
				   tries < DDEMUX_AUTOBIND_TRIES ? "autobind-try" :
				   "autobind");
		if (!err)
			return 0;
		orig_put_port(GP_TCP, sk);
		if (ddemux_sk_port(sk)) {
			/* cannot happen: the kernel's undo always unhashes */
			atomic64_inc(&ddemux_gstats.rollback_failed);
			return 0;
		}
		if (err != -EADDRINUSE || tries == DDEMUX_AUTOBIND_TRIES)
			return err;
		ddemux_count(dn, DDEMUX_ST_AUTOBIND_RETRIES);
	}
}

/*
 * The bind veto, for every way a port is acquired (bind, connect/sendmsg
 * autobind, listen and its re-check, kernel_bind, io_uring, MPTCP,
 * bpf_bind()): a given port is judged and reserved before the kernel
 * hashes it, and what the socket holds afterwards is recorded; a
 * conflict returns -EADDRINUSE without calling the kernel at all.
 */
static int ddemux_get_port(enum gp_kind k, struct sock *sk,
			   unsigned short snum, unsigned int arg)
{
	struct ping_bind_ctx *ctx = NULL;
	struct ddemux_move m;
	struct ddemux_aset to;
	struct ddemux_net *dn;
	int proto, ret;

	dn = guarded(sk, &proto);
	if (!dn || !kind_matches(k, proto))
		return orig_get_port(k, sk, snum, arg);
	m.dn = NULL;
	if (!snum && k == GP_TCP)
		return pick_tcp_port(dn, sk, proto);

	if (k == GP_PING) {
		ctx = ping_bind_of(sk);
		if (ctx)
			ping_set_addr(sk, ctx);
	}
	ddemux_sk_aset(sk, proto, snum, &to);
	if (snum) {
		ret = ddemux_move_begin(&m, dn, sk, proto, &to,
					sk->sk_state == TCP_LISTEN ? "listen" :
					"bind");
		if (!ret)
			ret = orig_get_port(k, sk, snum, arg);
		else
			m.dn = NULL;
	} else {
		ret = pick_port(k, dn, sk, proto, arg, &to, &m);
		if (ret)
			m.dn = NULL;	/* pick_port() ended what it began */
	}
	if (ret && ctx)
		ping_set_addr(sk, NULL);
	/*
	 * inet_csk_get_port() and udp_lib_get_port() store the port and
	 * touch no other field of the set (ping_get_port() is left to the
	 * read-back: ping_set_addr() moved its address for the call).
	 */
	if (m.dn && !ret && k != GP_PING)
		ddemux_move_end_port(&m);
	else if (m.dn)
		ddemux_move_end(&m);
	return ret;
}

static int ddemux_inet_csk_get_port(struct sock *sk, unsigned short snum)
{
	int idx = ddemux_enter();
	int ret = ddemux_get_port(GP_TCP, sk, snum, 0);

	ddemux_leave(idx);
	return ret;
}

static int ddemux_udp_lib_get_port(struct sock *sk, unsigned short snum,
				   unsigned int hash2_nulladdr)
{
	int idx = ddemux_enter();
	int ret = ddemux_get_port(GP_UDP, sk, snum, hash2_nulladdr);

	ddemux_leave(idx);
	return ret;
}

static int ddemux_ping_get_port(struct sock *sk, unsigned short ident)
{
	int idx = ddemux_enter();
	int ret = ddemux_get_port(GP_PING, sk, ident, 0);

	ddemux_leave(idx);
	return ret;
}

/* The address a ping bind asks for, as ping_check_bind_addr() reads it. */
static bool ping_bind_addr(struct sock *sk, struct sockaddr *uaddr,
			   int addr_len, struct ping_bind_ctx *ctx)
{
	if (sk->sk_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)uaddr;

		if (addr_len < sizeof(*sin))
			return false;
		ctx->v4 = sin->sin_addr.s_addr;
		return true;
	}
	if (sk->sk_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)uaddr;

		if (addr_len < sizeof(*sin6))
			return false;
		ctx->v6 = sin6->sin6_addr;
		return true;
	}
	return false;
}

static int ddemux_ping_bind(struct sock *sk, struct sockaddr *uaddr,
			    int addr_len)
{
	int idx = ddemux_enter();
	struct ping_bind_ctx ctx = { .task = current, .sk = sk };
	int proto, ret;

	if (guarded(sk, &proto) && ping_bind_addr(sk, uaddr, addr_len, &ctx)) {
		spin_lock(&ping_binds_lock);
		list_add(&ctx.node, &ping_binds);
		spin_unlock(&ping_binds_lock);
		ret = ping_bind(sk, uaddr, addr_len);
		spin_lock(&ping_binds_lock);
		list_del(&ctx.node);
		spin_unlock(&ping_binds_lock);
	} else {
		ret = ping_bind(sk, uaddr, addr_len);
	}
	ddemux_leave(idx);
	return ret;
}

/*
 * listen(): get_port re-checks the bound port in listener mode (the same
 * set), then the kernel hashes the socket; if that fails, it is closed
 * again.  Recorded afterwards, whichever happened.
 */
static int ddemux_inet_csk_listen_start(struct sock *sk)
{
	int idx = ddemux_enter();
	struct ddemux_aset to, *top = NULL;
	struct ddemux_move m;
	struct ddemux_net *dn;
	int proto, ret;
	u16 port;

	dn = guarded(sk, &proto);
	if (!dn) {
		ret = inet_csk_listen_start(sk);
		goto out;
	}
	port = ddemux_sk_port(sk);
	if (port) {
		ddemux_sk_aset(sk, proto, port, &to);
		top = &to;
	}
	ret = ddemux_move_begin(&m, dn, sk, proto, top, "listen");
	if (ret)
		goto out;
	ret = inet_csk_listen_start(sk);
	ddemux_move_end(&m);
out:
	ddemux_leave(idx);
	return ret;
}

/*
 * TCP connect: tcp_v4_connect() and tcp_v6_connect() have set the local
 * address, the peer and SYN_SENT when they call this to hash the 4-tuple.
 * With a bound port that 4-tuple lies within the bound set; without one,
 * the kernel picks the port here among those no bind() holds, and the
 * 4-tuple is judged once it is known: a refusal makes the caller undo
 * the hashing (its failure path), before any segment is sent.
 */
static int orig_hash_connect(bool v6, struct inet_timewait_death_row *dr,
			     struct sock *sk)
{
	return v6 ? inet6_hash_connect(dr, sk) : inet_hash_connect(dr, sk);
}

static int hash_connect(bool v6, struct inet_timewait_death_row *dr,
			struct sock *sk)
{
	struct ddemux_aset set;
	struct ddemux_move m;
	struct ddemux_net *dn;
	int proto, ret;
	u16 port;

	dn = guarded(sk, &proto);
	if (!dn)
		return orig_hash_connect(v6, dr, sk);
	port = ddemux_sk_port(sk);
	if (port) {
		ddemux_sk_aset(sk, proto, port, &set);
		ret = ddemux_move_begin(&m, dn, sk, proto, &set, "connect");
		if (ret)
			return ret;
		ret = orig_hash_connect(v6, dr, sk);
		ddemux_move_end(&m);
		return ret;
	}
	ret = ddemux_gate(dn, sk);
	if (ret)
		return ret;
	ret = orig_hash_connect(v6, dr, sk);
	if (ret)
		return ret;
	ddemux_sk_aset(sk, proto, ddemux_sk_port(sk), &set);
	return ddemux_judge(dn, sock_net(sk), sk, &set, DDEMUX_CLAIM_PICKED,
			    "connect");
}

static int ddemux_inet_hash_connect(struct inet_timewait_death_row *dr,
				    struct sock *sk)
{
	int idx = ddemux_enter();
	int ret = hash_connect(false, dr, sk);

	ddemux_leave(idx);
	return ret;
}

static int ddemux_inet6_hash_connect(struct inet_timewait_death_row *dr,
				     struct sock *sk)
{
	int idx = ddemux_enter();
	int ret = hash_connect(true, dr, sk);

	ddemux_leave(idx);
	return ret;
}

/*
 * The set a datagram connect() can give @sk, from the address it was
 * given: the peer, and the local address as it is (the kernel may narrow
 * a wildcard to the route's source, which lies within it), on the device
 * a scoped IPv6 peer names.  False if the address is not one the kernel
 * will accept (it refuses it then, changing nothing).
 */
static bool connect_set(struct sock *sk, int proto, struct sockaddr *uaddr,
			int addr_len, struct ddemux_aset *s)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)uaddr;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)uaddr;
	int dev = READ_ONCE(sk->sk_bound_dev_if);

	ddemux_sk_aset(sk, proto, ddemux_sk_port(sk), s);
	if (addr_len >= sizeof(*sin) && uaddr->sa_family == AF_INET) {
		ddemux_aset_set_remote(s, AF_INET, sin->sin_addr.s_addr, NULL,
				       ntohs(sin->sin_port));
	} else if (sk->sk_family == AF_INET6 && addr_len >= SIN6_LEN_RFC2133 &&
		   uaddr->sa_family == AF_INET6) {
		ddemux_aset_set_remote(s, AF_INET6, 0, &sin6->sin6_addr,
				       ntohs(sin6->sin6_port));
		if (!dev && addr_len >= sizeof(*sin6) &&
		    __ipv6_addr_needs_scope_id(ipv6_addr_type(&sin6->sin6_addr)))
			ddemux_aset_set_dev(sock_net(sk), proto, s,
					    sin6->sin6_scope_id);
	} else {
		return false;
	}
	s->state = DDEMUX_CONNECTED;
	ddemux_aset_normalise(s);
	return true;
}

/*
 * Datagram connect (UDP, UDP-Lite, ping): the original takes the socket
 * lock around __ip4_datagram_connect() / __ip6_datagram_connect(); so
 * does this, around the judgment, the change and the record.
 */
static int dgram_connect(bool v6, struct sock *sk, struct sockaddr *uaddr,
			 int addr_len)
{
	struct ddemux_aset to;
	struct ddemux_move m;
	struct ddemux_net *dn;
	int proto, ret;

	dn = guarded(sk, &proto);
	if (!dn)
		return v6 ? ip6_datagram_connect(sk, uaddr, addr_len) :
			    ip4_datagram_connect(sk, uaddr, addr_len);
	lock_sock(sk);
	ret = ddemux_move_begin(&m, dn, sk, proto,
				ddemux_sk_port(sk) &&
				connect_set(sk, proto, uaddr, addr_len, &to) ?
				&to : NULL, "connect");
	if (!ret) {
		ret = v6 ? __ip6_datagram_connect(sk, uaddr, addr_len) :
			   __ip4_datagram_connect(sk, uaddr, addr_len);
		ddemux_move_end(&m);
	}
	release_sock(sk);
	return ret;
}

static int ddemux_ip4_datagram_connect(struct sock *sk, struct sockaddr *uaddr,
				       int addr_len)
{
	int idx = ddemux_enter();
	int ret = dgram_connect(false, sk, uaddr, addr_len);

	ddemux_leave(idx);
	return ret;
}

static int ddemux_ip6_datagram_connect(struct sock *sk, struct sockaddr *uaddr,
				       int addr_len)
{
	int idx = ddemux_enter();
	int ret = dgram_connect(true, sk, uaddr, addr_len);

	ddemux_leave(idx);
	return ret;
}

/*
 * ICMPv6 echo (and raw IPv6) sockets connect through this, which checks
 * the family and calls ip6_datagram_connect() -- inlined there by the
 * compiler, so that its hook does not see the call (the differential
 * oracle found it).
 */
static int ddemux_ip6_datagram_connect_v6_only(struct sock *sk,
					       struct sockaddr *uaddr,
					       int addr_len)
{
	int idx = ddemux_enter();
	int ret;

	if (addr_len < SIN6_LEN_RFC2133)
		ret = -EINVAL;
	else if (uaddr->sa_family != AF_INET6)
		ret = -EAFNOSUPPORT;
	else
		ret = dgram_connect(true, sk, uaddr, addr_len);
	ddemux_leave(idx);
	return ret;
}

/*
 * Disconnect (connect(AF_UNSPEC)) of a datagram socket widens its set:
 * __udp_disconnect() drops the peer and the bound device, resets the
 * local address unless bind() locked it, and gives the port back unless
 * bind() locked that.  The wider set is judged first; if it would
 * overlap another domain's, the disconnect is refused and the socket
 * stays as it is: connect() returns EADDRINUSE.
 */
static int disconnect(struct ddemux_net *dn, struct sock *sk, int proto,
		      int flags)
{
	struct ddemux_aset to, *top = NULL;
	struct ddemux_move m;
	u16 port = ddemux_sk_port(sk);
	int ret;

	if (port && (sk->sk_userlocks & SOCK_BINDPORT_LOCK)) {
		ddemux_sk_aset_without(sk, proto, port, DDEMUX_DROP_PEER |
				       DDEMUX_DROP_DEV |
				       (sk->sk_userlocks & SOCK_BINDADDR_LOCK ?
					0 : DDEMUX_DROP_ADDR), &to);
		top = &to;
	}
	ret = ddemux_move_begin(&m, dn, sk, proto, top, "disconnect");
	if (ret)
		return ret;
	ret = __udp_disconnect(sk, flags);
	ddemux_move_end(&m);
	return ret;
}

/* UDP and UDP-Lite: udp_disconnect() is __udp_disconnect() under the lock. */
static int ddemux_udp_disconnect(struct sock *sk, int flags)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn;
	int proto, ret;

	dn = guarded(sk, &proto);
	if (!dn) {
		ret = udp_disconnect(sk, flags);
	} else {
		lock_sock(sk);
		ret = disconnect(dn, sk, proto, flags);
		release_sock(sk);
	}
	ddemux_leave(idx);
	return ret;
}

/*
 * Ping (and raw) sockets use __udp_disconnect() itself as their
 * disconnect, without the socket lock, as does udp_abort() with it: this
 * takes none either.  So do L2TP/IP sockets, whose disconnect keeps
 * what their bind gave (ddemux_l2tp.c).
 */
static int ddemux___udp_disconnect(struct sock *sk, int flags)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn;
	int proto, ret;

	dn = guarded(sk, &proto);
	if (dn)
		ret = disconnect(dn, sk, proto, flags);
	else if (sk->sk_protocol == IPPROTO_L2TP)
		ret = ddemux_l2tp_disconnect(sk, flags);
	else
		ret = __udp_disconnect(sk, flags);
	ddemux_leave(idx);
	return ret;
}

/*
 * TCP widens a socket's set in one place: tcp_disconnect() and the
 * failure path of tcp_v4_connect()/tcp_v6_connect() reset the local
 * address to the wildcard (unless bind() locked it) and keep the port if
 * bind() locked that, once the socket is closed.  Neither can fail, so a
 * widening that would overlap another domain's set is refused the other
 * way: the socket gives its port back, as it would have without
 * SO_BINDPORT_LOCK, and holds no set.  Counted in ports_revoked.
 */
static void ddemux_inet_bhash2_reset_saddr(struct sock *sk)
{
	int idx = ddemux_enter();
	struct ddemux_aset to;
	struct ddemux_move m;
	struct ddemux_net *dn;
	int proto;
	u16 port;

	dn = guarded(sk, &proto);
	port = dn ? ddemux_sk_port(sk) : 0;
	if (!port) {
		inet_bhash2_reset_saddr(sk);
		goto out;
	}
	ddemux_sk_aset_without(sk, proto, port, DDEMUX_DROP_PEER |
			       (sk->sk_userlocks & SOCK_BINDADDR_LOCK ? 0 :
				DDEMUX_DROP_ADDR), &to);
	if (ddemux_move_begin(&m, dn, sk, proto, &to, "disconnect")) {
		inet_put_port(sk);
		sk->sk_userlocks &= ~SOCK_BINDPORT_LOCK;
		inet_sk(sk)->inet_sport = 0;
		inet_bhash2_reset_saddr(sk);
		ddemux_forget(dn, sk);
		ddemux_count(dn, DDEMUX_ST_PORTS_REVOKED);
		goto out;
	}
	inet_bhash2_reset_saddr(sk);
	ddemux_move_end(&m);
out:
	ddemux_leave(idx);
}

/*
 * A TCP socket that closes (a reset, a timeout, close(), a failed
 * connect) gives its port back next (inet_put_port()), unless bind()
 * locked it: then it keeps the port, bound, and that is recorded once
 * the state is stored (tcp_set_state() unhashes the socket first).  The
 * hooks' filter redirects only the calls that store TCP_CLOSE for a
 * socket whose port bind() locked: every other state change of every
 * connection, and the close of every connection whose port was picked
 * for it, runs the kernel's own alone.
 */
static void closed(struct sock *sk, int state, int want)
{
	struct ddemux_net *dn;
	int proto;

	if (state != TCP_CLOSE || !(sk->sk_userlocks & SOCK_BINDPORT_LOCK) ||
	    !ddemux_sk_port(sk))
		return;
	dn = guarded(sk, &proto);
	if (dn && proto == want)
		ddemux_relearn(dn, sk, proto, "close");
}

static void ddemux_tcp_set_state(struct sock *sk, int state)
{
	int idx = ddemux_enter();

	tcp_set_state(sk, state);
	closed(sk, state, DDEMUX_TCP);
	ddemux_leave(idx);
}

/*
 * DCCP's tcp_set_state(), dccp_set_state(), lives in the dccp module; it
 * unhashes a socket that closes, gives its port back unless bind()
 * locked it, and stores the state with inet_sk_set_state(), which is
 * ddemux's hook (in the kernel proper, so ddemux does not depend on the
 * dccp module).  Any context, as tcp_set_state().
 */
static void ddemux_inet_sk_set_state(struct sock *sk, int state)
{
	int idx = ddemux_enter();

	inet_sk_set_state(sk, state);
	closed(sk, state, DDEMUX_DCCP);	/* DCCP_CLOSED is TCP_CLOSE */
	ddemux_leave(idx);
}

/*
 * SO_BINDTODEVICE and SO_BINDTOIFINDEX move a bound socket's set to
 * another device, or to none.  The new device is read here, from a copy
 * of the option (the kernel reads it once, as this does; no second
 * fetch), judged under the socket lock, and set with the kernel's own
 * sock_bindtoindex() (its CAP_NET_RAW check for a change included).
 */
static int device_index(struct net *net, int optname, sockptr_t optval,
			unsigned int optlen, int *ifindex)
{
	char name[IFNAMSIZ] = { };
	struct net_device *dev;

	if (optname == SO_BINDTOIFINDEX) {
		if (optlen < sizeof(int))
			return -EINVAL;
		return copy_from_sockptr(ifindex, optval, sizeof(int)) ?
		       -EFAULT : 0;
	}
	/* as sock_setbindtodevice() */
	if ((int)optlen < 0)
		return -EINVAL;
	if (copy_from_sockptr(name, optval, min_t(unsigned int, optlen,
						  IFNAMSIZ - 1)))
		return -EFAULT;
	*ifindex = 0;
	if (!name[0])
		return 0;
	rcu_read_lock();
	dev = dev_get_by_name_rcu(net, name);
	if (dev)
		*ifindex = dev->ifindex;
	rcu_read_unlock();
	return dev ? 0 : -ENODEV;
}

/* Under the socket lock; @dn NULL for a socket ddemux does not guard. */
static int bind_device_locked(struct ddemux_net *dn, struct sock *sk,
			      int proto, int ifindex)
{
	u16 port = dn ? ddemux_sk_port(sk) : 0;
	struct ddemux_aset to;
	struct ddemux_move m;
	int ret;

	if (!port || ifindex < 0)
		return sock_bindtoindex(sk, ifindex, false);
	ddemux_sk_aset(sk, proto, port, &to);
	ddemux_aset_set_dev(sock_net(sk), proto, &to, ifindex);
	ddemux_aset_normalise(&to);
	ret = ddemux_move_begin(&m, dn, sk, proto, &to, "bindtodevice");
	if (ret)
		return ret;
	ret = sock_bindtoindex(sk, ifindex, false);
	ddemux_move_end(&m);
	return ret;
}

static int set_device(struct ddemux_net *dn, struct sock *sk, int proto,
		      int optname, sockptr_t optval, unsigned int optlen)
{
	int ifindex, ret;

	ret = device_index(sock_net(sk), optname, optval, optlen, &ifindex);
	if (ret)
		return ret;
	if (proto == DDEMUX_SCTP) {
		/*
		 * Its own mutex first, which a BPF program (the socket
		 * locked, in an RCU read section) cannot take: refused
		 * there rather than made unjudged.
		 */
		if (has_current_bpf_ctx())
			return -EOPNOTSUPP;
		return ddemux_sctp_set_device(dn, sk, ifindex, false);
	}
	sockopt_lock_sock(sk);
	ret = bind_device_locked(dn, sk, proto, ifindex);
	sockopt_release_sock(sk);
	return ret;
}

/*
 * Every SOL_SOCKET option ends in sk_setsockopt(): setsockopt(2)
 * through sock_setsockopt(), 6.12's UDP, MPTCP's device options (6.12
 * sets them on the first subflow with it), bpf_setsockopt().  It is not
 * exported, so ddemux cannot call it: only the two device options are
 * redirected (the hook's filter), and this does for them what the
 * kernel does -- sock_setbindtodevice(), or sock_bindtoindex_locked()
 * under the socket lock -- for every socket, judging the new device of
 * a guarded one first.  Process context, or a BPF program's, which
 * holds the socket lock already (sockopt_lock_sock()).
 */
static int ddemux_sk_setsockopt(struct sock *sk, int level, int optname,
				sockptr_t optval, unsigned int optlen)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn;
	int proto, ret;

	dn = guarded(sk, &proto);
	ret = set_device(dn, sk, proto, optname, optval, optlen);
	ddemux_leave(idx);
	return ret;
}

/* Kernel users bind a device with sock_bindtoindex(). */
static int ddemux_sock_bindtoindex(struct sock *sk, int ifindex, bool lock_sk)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn;
	int proto, ret;

	dn = guarded(sk, &proto);
	if (!dn) {
		ret = sock_bindtoindex(sk, ifindex, lock_sk);
		goto out;
	}
	if (proto == DDEMUX_SCTP) {
		ret = ddemux_sctp_set_device(dn, sk, ifindex, !lock_sk);
		goto out;
	}
	if (lock_sk)
		lock_sock(sk);
	ret = bind_device_locked(dn, sk, proto, ifindex);
	if (lock_sk)
		release_sock(sk);
out:
	ddemux_leave(idx);
	return ret;
}

/*
 * An accepted TCP or DCCP child joins its listener's port (softirq):
 * tcp_v4_syn_recv_sock(), dccp_v4_request_recv_sock() and their IPv6
 * twins, with the 4-tuple set.
 */
static int ddemux___inet_inherit_port(const struct sock *sk,
				      struct sock *child)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn;
	int proto, ret;

	ret = __inet_inherit_port(sk, child);
	if (!ret) {
		dn = guarded(child, &proto);
		if (dn && ddemux_proto_tcp_like(proto))
			ddemux_learn_child(dn, sk, child, proto);
	}
	ddemux_leave(idx);
	return ret;
}

/* Ports given back: forget the set (the socket may live on, portless). */
static void forget(struct sock *sk)
{
	struct ddemux_net *dn;
	int proto;

	dn = guarded(sk, &proto);
	if (dn)
		ddemux_forget(dn, sk);
}

static void ddemux_inet_put_port(struct sock *sk)
{
	int idx = ddemux_enter();

	inet_put_port(sk);
	forget(sk);
	ddemux_leave(idx);
}

static void ddemux_udp_lib_unhash(struct sock *sk)
{
	int idx = ddemux_enter();

	udp_lib_unhash(sk);
	forget(sk);
	ddemux_leave(idx);
}

static void ddemux_ping_unhash(struct sock *sk)
{
	int idx = ddemux_enter();

	ping_unhash(sk);
	forget(sk);
	ddemux_leave(idx);
}

/*
 * The socket is gone: the one event every full socket reaches exactly
 * once, at process exit and namespace teardown too.  What a socket that
 * still has a port holds is forgotten here.  A plain callback
 * (sk_destruct is not exported); any context.
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
	/* what gave the port back forgot the set (the hooks above) */
	if (ddemux_holds_none(sk))
		return;
	idx = ddemux_enter();
	forget(sk);
	ddemux_leave(idx);
}

/* ---- the hook table --------------------------------------------------- */

#define REDIRECT(fn) DDEMUX_REDIRECT(fn)

/*
 * Every one is needed: without a hook, a change of a socket's set would
 * go unjudged, or the registry would drift from the kernel.  The ones
 * that forget come first, so that nothing is recorded that cannot be
 * forgotten; claims wait for the load-time walk anyway (ddemux_gate()).
 */
static struct ddemux_hook hooks[] = {
	{ .name = "sk_destruct", .func = ddemux_sk_destruct },
	REDIRECT(inet_put_port),
	REDIRECT(udp_lib_unhash),
	REDIRECT(ping_unhash),
	{ .name = "tcp_set_state", .target = tcp_set_state,
	  .wrapper = ddemux_tcp_set_state,
	  .filter_arg = 1, .filter_vals = BIT_ULL(TCP_CLOSE),
	  .bindlocked = true },
	{ .name = "inet_sk_set_state", .target = inet_sk_set_state,
	  .wrapper = ddemux_inet_sk_set_state,
	  .filter_arg = 1, .filter_vals = BIT_ULL(TCP_CLOSE),
	  .bindlocked = true },
	REDIRECT(__inet_inherit_port),
	/* bind, listen, autobind */
	REDIRECT(inet_csk_get_port),
	REDIRECT(udp_lib_get_port),
	REDIRECT(ping_get_port),
	REDIRECT(ping_bind),
	REDIRECT(inet_csk_listen_start),
	/* connect and disconnect */
	REDIRECT(inet_hash_connect),
	REDIRECT(inet6_hash_connect),
	REDIRECT(ip4_datagram_connect),
	REDIRECT(ip6_datagram_connect),
	REDIRECT(ip6_datagram_connect_v6_only),
	REDIRECT(udp_disconnect),
	REDIRECT(__udp_disconnect),
	REDIRECT(inet_bhash2_reset_saddr),
	/* devices */
	{ .name = "sk_setsockopt", .wrapper = ddemux_sk_setsockopt,
	  .filter_arg = 2,	/* optname */
	  .filter_vals = BIT_ULL(SO_BINDTODEVICE) | BIT_ULL(SO_BINDTOIFINDEX) },
	REDIRECT(sock_bindtoindex),
};

static_assert(SO_BINDTODEVICE < 64 && SO_BINDTOIFINDEX < 64);
static_assert(TCP_CLOSE < 64);

/**
 * ddemux_hooks_init - install every socket hook
 *
 * A hook that cannot be installed fails the load (ddemux_hooks_install()
 * names it): without it ddemux would leave some change of a socket's set
 * unjudged and say so only in a counter.
 *
 * Then it waits an RCU-tasks grace period: a task that entered one of
 * these functions before its hook was live has left it (it returns to
 * user space, or sleeps, only after), so every port the kernel hashed
 * unseen is in its tables by the time ddemux_enumerate() walks them.
 */
int ddemux_hooks_init(void)
{
	int err = ddemux_hooks_install(hooks, ARRAY_SIZE(hooks));

	if (err)
		return err;
	err = ddemux_sctp_init();
	if (err)
		goto undo_hooks;
	err = ddemux_l2tp_init();
	if (err)
		goto undo_sctp;
	synchronize_rcu_tasks();
	return 0;

undo_sctp:
	ddemux_sctp_exit();
undo_hooks:
	ddemux_hooks_remove(hooks, ARRAY_SIZE(hooks));
	ddemux_hooks_quiesce();
	return err;
}

/* Remove every socket hook and wait until no ddemux code runs. */
void ddemux_hooks_exit(void)
{
	ddemux_l2tp_exit();
	ddemux_sctp_exit();
	ddemux_hooks_remove(hooks, ARRAY_SIZE(hooks));
	ddemux_hooks_quiesce();
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

/* Adopt a batch's sockets that hold a port (see ddemux_adopt()). */
static int batch_register(struct sk_batch *b, struct ddemux_net *dn)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < b->n && !err; i++) {
		struct sock *sk = b->sk[i];
		int proto;
		u16 port;

		if (!sk_fullsock(sk))
			continue;
		proto = ddemux_sk_proto(sk);
		port = ddemux_sk_port(sk);
		if (proto >= 0 && port)
			err = ddemux_adopt(dn, sk, proto, port);
	}
	batch_drop(b);
	return err;
}

/* TCP's, or DCCP's, bind buckets: every socket holding a port. */
static int enumerate_inet(struct net *net, struct ddemux_net *dn,
			  struct inet_hashinfo *hinfo, struct sk_batch *b)
{
	unsigned int i;
	int err;

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
				return -ENOMEM;
		} while (full);
		err = batch_register(b, dn);
		if (err)
			return err;
		cond_resched();
	}
	return 0;
}

static int enumerate_udp(struct net *net, struct ddemux_net *dn,
			 struct udp_table *table, struct sk_batch *b)
{
	unsigned int i;
	int err;

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
				return -ENOMEM;
		} while (full);
		err = batch_register(b, dn);
		if (err)
			return err;
		cond_resched();
	}
	return 0;
}

/*
 * DCCP's bind buckets are in the dccp module, a global table the module
 * exports (dccp_hashinfo, GPL): ddemux takes it by name, with a
 * reference that keeps the module from going meanwhile, rather than
 * depend on it.  Without the module there is no DCCP socket.  A module
 * still initialising is not found (__symbol_get() takes only a live
 * one): its sockets, if any, took their ports after ddemux's hooks were
 * live, through them.
 */
static int enumerate_dccp(struct net *net, struct ddemux_net *dn,
			  struct sk_batch *b)
{
	struct inet_hashinfo *hinfo = __symbol_get("dccp_hashinfo");
	int err;

	if (!hinfo)
		return 0;
	err = enumerate_inet(net, dn, hinfo, b);
	__symbol_put("dccp_hashinfo");
	return err;
}

/*
 * The kernel's ping table is private to ping.c, but the iterator behind
 * /proc/net/icmp and icmp6 is exported (for IPv6's file): it walks the
 * table of one family and one namespace under the table's lock.  It
 * needs no more of a seq_file than its private iterator state.
 */
static int enumerate_ping(struct net *net, struct ddemux_net *dn,
			  sa_family_t family, struct sk_batch *b)
{
	struct ping_iter_state state = { };
	struct seq_file seq = { .private = &state };
	loff_t pos;
	bool full;
	void *v;

#ifdef CONFIG_NET_NS
	state.p.net = net;
#endif
	do {
		full = false;
		pos = 0;
		v = ping_seq_start(&seq, &pos, family);
		while ((v = ping_seq_next(&seq, v, &pos))) {
			if (!batch_add(b, v)) {
				full = true;
				break;
			}
		}
		ping_seq_stop(&seq, v);
		if (full && batch_grow(b))
			return -ENOMEM;
	} while (full);
	return batch_register(b, dn);
}

/**
 * ddemux_enumerate - register the sockets @net already has
 * @net: the namespace
 * @dn: its state
 *
 * Runs once at load, after every hook is live and every call that
 * entered a hooked function before has left it (ddemux_hooks_init()):
 * each TCP, DCCP, UDP, UDP-Lite and ping socket that holds a port is
 * either in the kernel's tables now, where this walk finds it, or was
 * given its port through a hook.  Claims wait meanwhile
 * (ddemux_gate()); releases go on, and ddemux_adopt() keeps the two
 * apart.  Returns 0, or -ENOMEM if a socket could not be recorded: the
 * load then fails.  Process context.
 */
int ddemux_enumerate(struct net *net, struct ddemux_net *dn)
{
	struct sk_batch b = { };
	int err;

	err = batch_grow(&b);
	if (!err)
		err = enumerate_inet(net, dn, net->ipv4.tcp_death_row.hashinfo,
				     &b);
	if (!err)
		err = enumerate_dccp(net, dn, &b);
	if (!err)
		err = enumerate_udp(net, dn, ddemux_udp_table(net), &b);
	if (!err)
		err = enumerate_udp(net, dn, &udplite_table, &b);
	if (!err)
		err = enumerate_ping(net, dn, AF_INET, &b);
	if (!err)
		err = enumerate_ping(net, dn, AF_INET6, &b);
	if (!err)
		err = ddemux_sctp_enumerate(net, dn);
	batch_drop(&b);
	kvfree(b.sk);
	return err;
}
