// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - the socket adapter, SCTP's part
 *
 * SCTP lives in a module of its own (sctp.ko, loaded when a socket asks
 * for it), which exports none of the functions an SCTP socket's
 * addresses change in.  ddemux hooks them by name when the module comes
 * (a module notifier, or at load if it is there already), makes the
 * module's load fail if it cannot, and takes the hooks out when the
 * module goes.  Each hook is a redirect (ddemux_core.c, "hooks") whose
 * wrapper reaches the original through the socket's own operations
 * (sk->sk_prot->bind, sock->ops->connect, ...), which point at it; one,
 * on sctp_sock_migrate(), is a plain callback.
 *
 * The set.  An SCTP socket's address set is its bound local addresses,
 * on its port, from any peer: one part per address (ddemux_parts_*(),
 * ddemux.h).  An association of a one-to-one socket narrows what the
 * SCTP stack delivers to it to its peer's addresses, which the peer adds
 * and removes as it likes (ASCONF), without a call on the socket; but no
 * other socket can come to share the local addresses and port it holds:
 * binds are judged from any peer, and an autobind takes only a port that
 * no set holds.  So the bound set is what ddemux records: it refuses
 * nothing the narrowed one would not.
 *
 * The changes.  Every change of an SCTP socket's set passes one of the
 * wrappers below, under one mutex (sctp_lock), which holds the change's
 * judgment, the SCTP stack's work and the record of what the socket then
 * holds together, so that no claim can come between them:
 *
 *  - bind() and sctp_bind_add(): the address, judged;
 *  - setsockopt(SCTP_SOCKOPT_BINDX_ADD): the addresses, copied once,
 *    judged, and handed to the SCTP stack as that copy (it reads them
 *    from there again); _BINDX_REM: recorded after;
 *  - the autobinds of connect(), connectx, sendmsg() and listen(): the
 *    socket is bound first, to the wildcard on a port that no set holds,
 *    picked here (as UDP's autobind, ddemux_hooks.c), which is what the
 *    SCTP stack does itself (sctp_autobind());
 *  - listen(): the state, recorded after;
 *  - accept() and peeloff (getsockopt(SCTP_SOCKOPT_PEELOFF)): the new
 *    socket takes its parent's addresses and port, and is recorded in
 *    its parent's domain (as a TCP child);
 *  - SO_BINDTODEVICE (ddemux_sctp_set_device());
 *  - the socket's end (sk_destruct: ddemux_forget()).
 *
 * SCTP sockets that exist when ddemux loads are found through the SCTP
 * module's own walks (its exports, taken with symbol_get(), so that
 * ddemux does not need the module): the listening endpoints and the
 * sockets with associations.  A socket that is bound and does neither
 * is not in any list the module lets others read; it is recorded once it
 * listens, connects or binds again.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/random.h>
#include <linux/sockptr.h>
#include <net/ip.h>
#include <net/sctp/sctp.h>
#include <net/sctp/structs.h>

#include "ddemux_core.h"
#include "ddemux_fast.h"
#include "ddemux_hooks.h"

/* Holds every change of an SCTP socket's set together; see above. */
static DEFINE_MUTEX(sctp_lock);

/* Serialises the hooks' installation and removal; @sctp_hooked under it. */
static DEFINE_MUTEX(sctp_hooks_lock);
static bool sctp_hooked;

/*
 * A peeloff runs under its parent's socket lock (sctp_getsockopt()),
 * where sctp_lock may not be taken (it is taken before socket locks):
 * the new socket is handed from sctp_sock_migrate() to the getsockopt()
 * around it, keyed by the task and the parent, and recorded once the
 * lock is released.
 */
struct peeloff_ctx {
	struct list_head node;
	const struct task_struct *task;
	const struct sock *parent;
	struct sock *child;		/* referenced, or NULL */
};

static LIST_HEAD(peeloffs);
static DEFINE_SPINLOCK(peeloffs_lock);	/* guards peeloffs */

/* How many ports an autobind tries before it gives up. */
#define SCTP_AUTOBIND_TRIES	8

/* @sk's namespace state, if it is an SCTP socket ddemux guards. */
static struct ddemux_net *sctp_guarded(struct sock *sk)
{
	return ddemux_sk_proto(sk) == DDEMUX_SCTP ? ddemux_net(sock_net(sk)) :
						   NULL;
}

static u16 bound_port(struct sock *sk)
{
	return READ_ONCE(sctp_sk(sk)->ep->base.bind_addr.port);
}

/* The part of @sk's set for local address @a on @port. */
static void part_of(struct sock *sk, const union sctp_addr *a, u16 port,
		    struct ddemux_aset *s)
{
	memset(s, 0, sizeof(*s));
	s->proto = DDEMUX_SCTP;
	s->lport = port;
	if (a->sa.sa_family == AF_INET)
		ddemux_aset_set_local(s, AF_INET, a->v4.sin_addr.s_addr,
				      &in6addr_any, false);
	else
		ddemux_aset_set_local(s, AF_INET6, 0, &a->v6.sin6_addr,
				      ipv6_only_sock(sk));
	if (READ_ONCE(sk->sk_state) == SCTP_SS_LISTENING)
		s->state = DDEMUX_LISTEN;
	if (sk->sk_reuse || sctp_sk(sk)->reuse)
		s->flags |= DDEMUX_REUSEADDR;
	if (sk->sk_reuseport)
		s->flags |= DDEMUX_REUSEPORT;
	if (sk->sk_kern_sock)
		s->flags |= DDEMUX_KERNEL;
	ddemux_aset_normalise(s);
	ddemux_aset_set_dev(sock_net(sk), DDEMUX_SCTP, s,
			    READ_ONCE(sk->sk_bound_dev_if));
	ddemux_sk_domain(sk, &s->dom);
}

/*
 * The parts @sk holds: its bind list, on its port.  -ENOBUFS past
 * DDEMUX_PARTS_MAX (which the wrappers do not let it reach).
 */
static int parts_of(struct sock *sk, struct ddemux_parts *p)
{
	struct sctp_bind_addr *bp = &sctp_sk(sk)->ep->base.bind_addr;
	struct sctp_sockaddr_entry *e;
	u16 port = bound_port(sk);
	int err = 0;

	p->n = 0;
	if (!port)
		return 0;
	rcu_read_lock();
	list_for_each_entry_rcu(e, &bp->address_list, list) {
		if (p->n == DDEMUX_PARTS_MAX) {
			err = -ENOBUFS;
			break;
		}
		part_of(sk, &e->a, port, &p->set[p->n++]);
	}
	rcu_read_unlock();
	return err;
}

/*
 * The length of the SCTP address at @a, with @len bytes left, as
 * sctp_sockaddr_af() and sctp_setsockopt_bindx() take them; 0 if there
 * is none.
 */
static int one_addr_len(const struct sockaddr *a, int len)
{
	if (len < (int)sizeof(struct sockaddr))
		return 0;
	if (a->sa_family == AF_INET)
		return sizeof(struct sockaddr_in);
	if (a->sa_family == AF_INET6 &&
	    len >= (int)sizeof(struct sockaddr_in6))
		return sizeof(struct sockaddr_in6);
	return 0;
}

/* The port of an address (the same place in both families). */
static __be16 *port_ptr(struct sockaddr *a)
{
	return &((struct sockaddr_in *)a)->sin_port;
}

/*
 * The parts @sk would hold with @addrs (@len bytes of packed addresses)
 * added, on @port.  -EINVAL for a list the SCTP stack refuses itself,
 * -ENOBUFS for more than DDEMUX_PARTS_MAX parts.
 */
static int parts_with(struct sock *sk, struct sockaddr *addrs, int len,
		      u16 port, struct ddemux_parts *to)
{
	u8 *p = (u8 *)addrs, *end = p + len;
	int err, n;

	err = parts_of(sk, to);
	if (err)
		return err;
	while (p < end) {
		n = one_addr_len((struct sockaddr *)p, end - p);
		if (!n || n > end - p)
			return -EINVAL;
		if (to->n == DDEMUX_PARTS_MAX)
			return -ENOBUFS;
		part_of(sk, (union sctp_addr *)p, port, &to->set[to->n++]);
		p += n;
	}
	return 0;
}

/* How the SCTP stack adds @addrs to @sk (the original behind a wrapper). */
typedef int (*sctp_add_fn)(struct sock *sk, struct sockaddr *addrs, int len);

static int add_by_bind(struct sock *sk, struct sockaddr *addrs, int len)
{
	return sk->sk_prot->bind(sk, addrs, len);
}

static int add_by_bind_add(struct sock *sk, struct sockaddr *addrs, int len)
{
	return sk->sk_prot->bind_add(sk, addrs, len);
}

static int add_by_bindx(struct sock *sk, struct sockaddr *addrs, int len)
{
	return sk->sk_prot->setsockopt(sk, SOL_SCTP, SCTP_SOCKOPT_BINDX_ADD,
				       KERNEL_SOCKPTR(addrs), len);
}

/*
 * Add @addrs to @sk's set on @port: judged, made by @add, and what the
 * socket then holds recorded.  Under sctp_lock.
 */
static int add_on(struct ddemux_net *dn, struct sock *sk,
		  struct sockaddr *addrs, int len, u16 port, sctp_add_fn add,
		  struct ddemux_parts *p, const char *op)
{
	struct ddemux_parts *held = &p[0], *to = &p[1], *now = &p[2];
	int err;

	err = parts_with(sk, addrs, len, port, to);
	if (err == -EINVAL)
		return add(sk, addrs, len);	/* refused there: nothing held */
	if (err)
		return err;
	err = ddemux_parts_begin(dn, sk, held, to, op);
	if (err)
		return err;
	err = add(sk, addrs, len);
	parts_of(sk, now);
	ddemux_parts_end(dn, sk, held, to, now, op);
	return err;
}

/*
 * An ephemeral port for @sk: in its range, not reserved, not one that
 * would need CAP_NET_BIND_SERVICE, and held by no set of the namespace.
 */
static u16 pick_port(struct ddemux_net *dn, struct sock *sk, u32 *next)
{
	struct net *net = sock_net(sk);
	int low, high;
	u32 range, i;

	inet_sk_get_local_port_range(sk, &low, &high);
	range = high - low + 1;
	if (!*next)
		*next = get_random_u32_below(range) + 1;
	for (i = 0; i < range; i++) {
		u16 port = low + (*next + i) % range;

		if (inet_is_local_reserved_port(net, port) ||
		    inet_port_requires_bind_service(net, port) ||
		    ddemux_reg_port_used(&dn->reg, DDEMUX_SCTP, port))
			continue;
		*next += i + 1;
		return port;
	}
	return 0;
}

/*
 * Add @addrs (a copy of ours) to @sk's set.  A socket without a port,
 * asked for port 0, gets one picked here: the SCTP stack would pick a
 * port no SCTP socket holds, as this does, but the registry knows which
 * ones no set holds.  A port the SCTP stack refuses (held by a socket
 * from before ddemux was loaded that it could not find) is passed over.
 * Under sctp_lock; process context.
 */
static int add_addrs(struct ddemux_net *dn, struct sock *sk,
		     struct sockaddr *addrs, int len, sctp_add_fn add,
		     const char *op)
{
	struct ddemux_parts *p;
	u16 port = bound_port(sk);
	u32 next = 0;
	int err, tries;

	p = kmalloc_array(3, sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	if (port || *port_ptr(addrs)) {
		err = add_on(dn, sk, addrs, len, port ?: ntohs(*port_ptr(addrs)),
			     add, p, op);
		goto out;
	}
	err = -EADDRINUSE;
	for (tries = 0; tries < SCTP_AUTOBIND_TRIES; tries++) {
		port = pick_port(dn, sk, &next);
		if (!port)
			break;
		*port_ptr(addrs) = htons(port);
		err = add_on(dn, sk, addrs, len, port, add, p, op);
		if (err != -EADDRINUSE)
			break;
	}
out:
	kfree(p);
	return err;
}

/*
 * Record what @sk holds after a change that cannot widen its set (a
 * bindx remove, listen()), or one made without a judgment; under
 * sctp_lock.  @parent: a listener or the socket peeled off from, whose
 * parts (and domain) an accepted or peeled-off socket takes.
 */
static void record_now(struct ddemux_net *dn, struct sock *sk,
		       struct sock *parent, const char *op)
{
	struct ddemux_parts *p, *held, *now;
	unsigned int i;

	p = kmalloc_array(2, sizeof(*p), GFP_KERNEL);
	if (!p) {
		/* the set stays as it was recorded: wider, or gone */
		ddemux_parts_forget(dn, sk);
		return;
	}
	held = &p[0];
	now = &p[1];
	ddemux_parts_held(dn, parent ?: sk, held);
	parts_of(sk, now);
	for (i = 0; parent && held->n && i < now->n; i++) {
		now->set[i].dom = held->set[0].dom;
		now->set[i].flags |= DDEMUX_CHILD;
	}
	ddemux_parts_end(dn, sk, held, NULL, now, op);
	kfree(p);
}

/* The wildcard address of @sk's family, port 0: what sctp_autobind() binds. */
static int any_addr(struct sock *sk, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (sk->sk_family == AF_INET6) {
		ss->ss_family = AF_INET6;
		return sizeof(struct sockaddr_in6);
	}
	ss->ss_family = AF_INET;
	return sizeof(struct sockaddr_in);
}

/*
 * The autobind of connect(), connectx, sendmsg() and listen(), made
 * first, here: an SCTP socket without a port is bound to the wildcard on
 * a port picked as add_addrs() does.  On failure, what the SCTP stack's
 * autobind fails with (-EAGAIN), unless the claim could not be recorded.
 */
static int prebind(struct ddemux_net *dn, struct sock *sk)
{
	struct sockaddr_storage ss;
	int err = 0, len;

	if (bound_port(sk))
		return 0;
	mutex_lock(&sctp_lock);
	if (!bound_port(sk)) {
		len = any_addr(sk, &ss);
		err = add_addrs(dn, sk, (struct sockaddr *)&ss, len,
				add_by_bind, "autobind");
	}
	mutex_unlock(&sctp_lock);
	if (err && err != -ENOBUFS && err != -EINTR && err != -ENOMEM)
		err = -EAGAIN;
	return err;
}

/* ---- the wrappers --------------------------------------------------------- */

static int ddemux_sctp_bind(struct sock *sk, struct sockaddr *addr,
			    int addr_len)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn = sctp_guarded(sk);
	struct sockaddr_storage ss;
	int err, len;

	len = dn && !bound_port(sk) ? one_addr_len(addr, addr_len) : 0;
	if (!len || len > addr_len) {
		/* bound already, or no address: the SCTP stack refuses it */
		err = sk->sk_prot->bind(sk, addr, addr_len);
		goto out;
	}
	memcpy(&ss, addr, len);
	mutex_lock(&sctp_lock);
	err = add_addrs(dn, sk, (struct sockaddr *)&ss, len, add_by_bind,
			"bind");
	mutex_unlock(&sctp_lock);
out:
	ddemux_leave(idx);
	return err;
}

/* In-kernel users' bindx (sock_bind_add()): @addrs is kernel memory. */
static int ddemux_sctp_bind_add(struct sock *sk, struct sockaddr *addrs,
				int addrlen)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn = sctp_guarded(sk);
	void *copy;
	int err;

	if (!dn || addrlen <= 0 ||
	    addrlen > DDEMUX_PARTS_MAX * (int)sizeof(struct sockaddr_in6)) {
		err = dn && addrlen > 0 ? -ENOBUFS :
		      sk->sk_prot->bind_add(sk, addrs, addrlen);
		goto out;
	}
	copy = kmemdup(addrs, addrlen, GFP_KERNEL);
	if (!copy) {
		err = -ENOMEM;
		goto out;
	}
	mutex_lock(&sctp_lock);
	err = add_addrs(dn, sk, copy, addrlen, add_by_bind_add, "bindx");
	mutex_unlock(&sctp_lock);
	kfree(copy);
out:
	ddemux_leave(idx);
	return err;
}

/*
 * sctp_bindx(): an add is judged on a copy of the list, which the SCTP
 * stack then reads; a list of more addresses than a set may have parts
 * is refused (ENOBUFS).  A remove is recorded after.
 */
static int bindx(struct ddemux_net *dn, struct sock *sk, int optname,
		 sockptr_t optval, unsigned int optlen)
{
	void *copy;
	int err;

	if (optname == SCTP_SOCKOPT_BINDX_REM) {
		mutex_lock(&sctp_lock);
		err = sk->sk_prot->setsockopt(sk, SOL_SCTP, optname, optval,
					      optlen);
		record_now(dn, sk, NULL, "bindx");
		mutex_unlock(&sctp_lock);
		return err;
	}
	if (!optlen || (int)optlen < 0)
		return sk->sk_prot->setsockopt(sk, SOL_SCTP, optname, optval,
					       optlen);
	if (optlen > DDEMUX_PARTS_MAX * sizeof(struct sockaddr_in6))
		return -ENOBUFS;
	copy = memdup_sockptr(optval, optlen);
	if (IS_ERR(copy))
		return PTR_ERR(copy);
	mutex_lock(&sctp_lock);
	err = add_addrs(dn, sk, copy, optlen, add_by_bindx, "bindx");
	mutex_unlock(&sctp_lock);
	kfree(copy);
	return err;
}

static int ddemux_sctp_setsockopt(struct sock *sk, int level, int optname,
				  sockptr_t optval, unsigned int optlen)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn = NULL;
	int err = 0;

	if (level == SOL_SCTP)
		dn = sctp_guarded(sk);
	if (dn && (optname == SCTP_SOCKOPT_BINDX_ADD ||
		   optname == SCTP_SOCKOPT_BINDX_REM)) {
		err = bindx(dn, sk, optname, optval, optlen);
		goto out;
	}
	if (dn && (optname == SCTP_SOCKOPT_CONNECTX_OLD ||
		   optname == SCTP_SOCKOPT_CONNECTX))
		err = prebind(dn, sk);
	if (!err)
		err = sk->sk_prot->setsockopt(sk, level, optname, optval,
					      optlen);
out:
	ddemux_leave(idx);
	return err;
}

/* A new socket with its parent's addresses and port, in its domain. */
static void adopt_child(struct sock *parent, struct sock *child)
{
	struct ddemux_net *dn = sctp_guarded(parent);

	if (!dn || !child)
		return;
	mutex_lock(&sctp_lock);
	record_now(dn, child, parent, "accept");
	mutex_unlock(&sctp_lock);
}

/* getsockopt(SCTP_SOCKOPT_PEELOFF*): the peeloff's new socket, after. */
static int peeloff(struct sock *sk, int level, int optname,
		   char __user *optval, int __user *optlen)
{
	struct peeloff_ctx ctx = { .task = current, .parent = sk };
	int err;

	spin_lock(&peeloffs_lock);
	list_add(&ctx.node, &peeloffs);
	spin_unlock(&peeloffs_lock);
	err = sk->sk_prot->getsockopt(sk, level, optname, optval, optlen);
	spin_lock(&peeloffs_lock);
	list_del(&ctx.node);
	spin_unlock(&peeloffs_lock);
	if (ctx.child) {
		adopt_child(sk, ctx.child);
		sock_put(ctx.child);
	}
	return err;
}

/*
 * getsockopt(SCTP_SOCKOPT_CONNECTX3) connects, and may autobind; a
 * peeloff makes a socket.
 */
static int ddemux_sctp_getsockopt(struct sock *sk, int level, int optname,
				  char __user *optval, int __user *optlen)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn = NULL;
	int err = 0;

	if (level == SOL_SCTP)
		dn = sctp_guarded(sk);
	if (dn && (optname == SCTP_SOCKOPT_PEELOFF ||
		   optname == SCTP_SOCKOPT_PEELOFF_FLAGS)) {
		err = peeloff(sk, level, optname, optval, optlen);
		goto out;
	}
	if (dn && optname == SCTP_SOCKOPT_CONNECTX3)
		err = prebind(dn, sk);
	if (!err)
		err = sk->sk_prot->getsockopt(sk, level, optname, optval,
					      optlen);
out:
	ddemux_leave(idx);
	return err;
}

static int ddemux_sctp_inet_connect(struct socket *sock, struct sockaddr *uaddr,
				    int addr_len, int flags)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn = sctp_guarded(sock->sk);
	int err = dn ? prebind(dn, sock->sk) : 0;

	if (!err)
		err = sock->ops->connect(sock, uaddr, addr_len, flags);
	ddemux_leave(idx);
	return err;
}

static int ddemux_sctp_sendmsg(struct sock *sk, struct msghdr *msg,
			       size_t len)
{
	int idx = ddemux_enter();
	struct ddemux_net *dn = bound_port(sk) ? NULL : sctp_guarded(sk);
	int err = dn ? prebind(dn, sk) : 0;

	if (!err)
		err = sk->sk_prot->sendmsg(sk, msg, len);
	ddemux_leave(idx);
	return err;
}

static int ddemux_sctp_inet_listen(struct socket *sock, int backlog)
{
	int idx = ddemux_enter();
	struct sock *sk = sock->sk;
	struct ddemux_net *dn = sctp_guarded(sk);
	int err = dn ? prebind(dn, sk) : 0;

	if (!err)
		err = sock->ops->listen(sock, backlog);
	if (dn && bound_port(sk)) {
		mutex_lock(&sctp_lock);
		record_now(dn, sk, NULL, "listen");
		mutex_unlock(&sctp_lock);
	}
	ddemux_leave(idx);
	return err;
}

#if DDEMUX_ACCEPT_ARG
static struct sock *ddemux_sctp_accept(struct sock *sk,
				       struct proto_accept_arg *arg)
{
	int idx = ddemux_enter();
	struct sock *child;

	child = sk->sk_prot->accept(sk, arg);
	adopt_child(sk, child);
	ddemux_leave(idx);
	return child;
}
#else
static struct sock *ddemux_sctp_accept(struct sock *sk, int flags, int *err,
				       bool kern)
{
	int idx = ddemux_enter();
	struct sock *child;

	child = sk->sk_prot->accept(sk, flags, err, kern);
	adopt_child(sk, child);
	ddemux_leave(idx);
	return child;
}
#endif

/*
 * sctp_sock_migrate(oldsk, newsk, ...), at entry: a peeloff (or an
 * accept, which ddemux_sctp_accept() records) moves an association to a
 * new socket.  The new socket goes to the getsockopt() around a peeloff
 * of this task's, referenced; a peeloff elsewhere (sctp_do_peeloff() has
 * no caller in the kernel but that getsockopt()) is not followed.  Any
 * context the function runs in: it takes a spinlock and a reference.
 */
static void notrace ddemux_sctp_sock_migrate(unsigned long ip,
					     unsigned long parent_ip,
					     struct ftrace_ops *op,
					     struct ftrace_regs *fregs)
{
	struct sock *parent = (struct sock *)ddemux_ftrace_arg(fregs, 0);
	struct sock *child = (struct sock *)ddemux_ftrace_arg(fregs, 1);
	struct peeloff_ctx *ctx;

	spin_lock(&peeloffs_lock);
	list_for_each_entry(ctx, &peeloffs, node) {
		if (ctx->task == current && ctx->parent == parent &&
		    !ctx->child) {
			sock_hold(child);
			ctx->child = child;
			break;
		}
	}
	spin_unlock(&peeloffs_lock);
}

/**
 * ddemux_sctp_set_device - SO_BINDTODEVICE of an SCTP socket
 * @dn: the namespace's state
 * @sk: the socket
 * @ifindex: the new device, 0 for none
 * @locked: the caller holds the socket's lock (a kernel user's
 *	sock_bindtoindex()); then sctp_lock, taken before socket locks, is
 *	not taken
 *
 * Judged as the other changes are, and made with the kernel's own
 * sock_bindtoindex().  Process context.
 */
int ddemux_sctp_set_device(struct ddemux_net *dn, struct sock *sk,
			   int ifindex, bool locked)
{
	struct ddemux_parts *p, *held, *to, *now;
	unsigned int i;
	int err;

	p = kmalloc_array(3, sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	held = &p[0];
	to = &p[1];
	now = &p[2];
	if (!locked)
		mutex_lock(&sctp_lock);
	err = parts_of(sk, to);
	if (err || !to->n) {
		if (!err)
			err = sock_bindtoindex(sk, ifindex, !locked);
		goto out;
	}
	for (i = 0; i < to->n; i++) {
		ddemux_aset_set_dev(sock_net(sk), DDEMUX_SCTP, &to->set[i],
				    ifindex);
		ddemux_aset_normalise(&to->set[i]);
	}
	err = ddemux_parts_begin(dn, sk, held, to, "bindtodevice");
	if (err)
		goto out;
	err = sock_bindtoindex(sk, ifindex, !locked);
	parts_of(sk, now);
	ddemux_parts_end(dn, sk, held, to, now, "bindtodevice");
out:
	if (!locked)
		mutex_unlock(&sctp_lock);
	kfree(p);
	return err;
}

/* ---- sockets that exist at load -------------------------------------------- */

/* The sockets found, referenced; grown as the walks go (atomically). */
struct sctp_found {
	struct sock **sk;
	unsigned int n, cap;
	int err;
};

static int found_add(struct sctp_found *f, struct sock *sk)
{
	struct sock **more;

	if (f->n == f->cap) {
		more = krealloc_array(f->sk, f->cap ? 2 * f->cap : 64,
				      sizeof(*f->sk), GFP_ATOMIC);
		if (!more) {
			f->err = -ENOMEM;
			return f->err;
		}
		f->sk = more;
		f->cap = f->cap ? 2 * f->cap : 64;
	}
	sock_hold(sk);
	f->sk[f->n++] = sk;
	return 0;
}

static int found_ep(struct sctp_endpoint *ep, void *p)
{
	return found_add(p, ep->base.sk);
}

static int found_transport(struct sctp_endpoint *ep, struct sctp_transport *t,
			   void *p)
{
	return found_add(p, ep->base.sk);
}

/**
 * ddemux_sctp_enumerate - record the SCTP sockets @net already has
 * @net: the namespace
 * @dn: its state
 *
 * The listening endpoints and the sockets with associations, through the
 * SCTP module's exports; see the top of the file for the ones no walk
 * finds.  Under sctp_lock, so that no change of an SCTP socket's set
 * comes between a socket's reading and its record.  Returns 0, or
 * -ENOMEM: the load then fails.  Process context, at load.
 */
int ddemux_sctp_enumerate(struct net *net, struct ddemux_net *dn)
{
	typeof(sctp_for_each_endpoint) *each_ep;
	typeof(sctp_transport_traverse_process) *each_t;
	struct sctp_found f = { };
	struct ddemux_parts *now;
	int pos = 0, err = 0;
	unsigned int i;

	each_ep = symbol_get(sctp_for_each_endpoint);
	each_t = symbol_get(sctp_transport_traverse_process);
	if (!each_ep || !each_t)
		goto put;	/* the module is not there: no socket */
	now = kmalloc(sizeof(*now), GFP_KERNEL);
	if (!now) {
		err = -ENOMEM;
		goto put;
	}
	mutex_lock(&sctp_lock);
	each_ep(found_ep, net, &pos, &f);
	pos = 0;
	if (!f.err)
		each_t(found_transport, NULL, net, &pos, &f);
	err = f.err;
	for (i = 0; i < f.n; i++) {
		if (!err && !parts_of(f.sk[i], now))
			err = ddemux_parts_adopt(dn, f.sk[i], now);
		sock_put(f.sk[i]);
	}
	mutex_unlock(&sctp_lock);
	kfree(f.sk);
	kfree(now);
put:
	if (each_ep)
		symbol_put(sctp_for_each_endpoint);
	if (each_t)
		symbol_put(sctp_transport_traverse_process);
	return err;
}

/* ---- the hooks' life -------------------------------------------------------- */

#define SCTP_REDIRECT(fn) { .name = #fn, .wrapper = ddemux_##fn }

static struct ddemux_hook sctp_hooks[] = {
	SCTP_REDIRECT(sctp_bind),
	SCTP_REDIRECT(sctp_bind_add),
	SCTP_REDIRECT(sctp_setsockopt),
	SCTP_REDIRECT(sctp_getsockopt),
	SCTP_REDIRECT(sctp_inet_connect),
	SCTP_REDIRECT(sctp_sendmsg),
	SCTP_REDIRECT(sctp_inet_listen),
	SCTP_REDIRECT(sctp_accept),
	{ .name = "sctp_sock_migrate", .func = ddemux_sctp_sock_migrate },
};

static int sctp_hooks_on(void)
{
	int err = 0;

	mutex_lock(&sctp_hooks_lock);
	if (!sctp_hooked) {
		err = ddemux_hooks_install(sctp_hooks, ARRAY_SIZE(sctp_hooks));
		sctp_hooked = !err;
	}
	mutex_unlock(&sctp_hooks_lock);
	return err;
}

/*
 * @wait: wait until no task runs in a wrapper.  The SCTP module going
 * needs no wait: each of its sockets holds a reference on it, so no task
 * is in one of its functions; and a wait would hold a load of ddemux in
 * progress (ddemux_hooks_quiesce()).
 */
static void sctp_hooks_off(bool wait)
{
	mutex_lock(&sctp_hooks_lock);
	if (sctp_hooked) {
		ddemux_hooks_remove(sctp_hooks, ARRAY_SIZE(sctp_hooks));
		if (wait)
			ddemux_hooks_quiesce();
		sctp_hooked = false;
	}
	mutex_unlock(&sctp_hooks_lock);
}

/*
 * The SCTP module comes: hooked before its init runs, or it does not
 * load (it would hand out ports unguarded); hooked at latest once it is
 * live, for a module that came while ddemux was registering this; and
 * unhooked as it goes.
 */
static int sctp_module_event(struct notifier_block *nb, unsigned long event,
			     void *data)
{
	struct module *mod = data;

	if (strcmp(mod->name, "sctp"))
		return NOTIFY_DONE;
	switch (event) {
	case MODULE_STATE_COMING:
		return notifier_from_errno(sctp_hooks_on());
	case MODULE_STATE_LIVE:
		if (sctp_hooks_on())
			pr_err("sctp is loaded and cannot be hooked: its sockets are not guarded\n");
		break;
	case MODULE_STATE_GOING:
		sctp_hooks_off(false);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block sctp_module_nb = {
	.notifier_call = sctp_module_event,
};

/**
 * ddemux_sctp_init - follow the SCTP module; hook it if it is there
 *
 * Fails (and so does the load) if the SCTP module is loaded and cannot
 * be hooked.  Process context, module load.
 */
int ddemux_sctp_init(void)
{
	typeof(sctp_for_each_endpoint) *probe;
	int err;

	err = register_module_notifier(&sctp_module_nb);
	if (err)
		return err;
	/* NULL unless it is live (symbol_get() takes GPL exports only) */
	probe = symbol_get(sctp_for_each_endpoint);
	if (probe) {
		symbol_put(sctp_for_each_endpoint);
		err = sctp_hooks_on();
		if (err)
			unregister_module_notifier(&sctp_module_nb);
	}
	return err;
}

/* Unload: no SCTP hook runs after this. */
void ddemux_sctp_exit(void)
{
	unregister_module_notifier(&sctp_module_nb);
	sctp_hooks_off(true);
}
