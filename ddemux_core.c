// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - the enforcement core
 *
 * What both adapters (ddemux_hooks.c, ddemux_egress.c) and the interface
 * (ddemux_iface.c) stand on: the state of each network namespace and its
 * lookup, the address set a socket holds, the judgment of a claim against
 * the registry, the counters, and the log line and audit record of every
 * decision.  It calls only the registry and the policy (ddemux.h).
 */
#include <linux/module.h>
#include <linux/ftrace.h>
#include <linux/srcu.h>
#include <linux/slab.h>
#include <linux/audit.h>
#include <linux/ratelimit.h>
#include <linux/ctype.h>
#include <linux/cgroup.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <net/ipv6.h>
#include <net/tcp_states.h>
#include <net/l3mdev.h>

#include "ddemux_core.h"
#include "ddemux_fast.h"

unsigned int ddemux_net_id __read_mostly;
struct ddemux_global_stats ddemux_gstats;
static struct ddemux_defaults defaults;

/* ---- per-namespace state --------------------------------------------- */

/**
 * ddemux_net - ddemux's state of a namespace, if it is live
 * @net: the namespace
 *
 * NULL while the namespace is being set up or torn down: a dying
 * namespace's kernel sockets are destroyed after ddemux's per-namespace
 * exit, and those events have nothing left to update.
 */
struct ddemux_net *ddemux_net(const struct net *net)
{
	struct ddemux_net *dn;

	if (!check_net(net))
		return NULL;
	dn = net_generic(net, ddemux_net_id);
	/* pairs with the release in ddemux_core_publish() */
	if (!dn || !smp_load_acquire(&dn->ready))
		return NULL;
	return dn;
}

/* The namespace's state whatever its life stage; NULL before init. */
struct ddemux_net *ddemux_net_state(const struct net *net)
{
	return net_generic(net, ddemux_net_id);
}

/* A snapshot of the knobs; the caller holds rcu_read_lock(). */
void ddemux_policy_of(struct ddemux_net *dn, struct ddemux_policy *pol)
{
	pol->mode = READ_ONCE(dn->mode);
	pol->domain = READ_ONCE(dn->domain);
	pol->shares = rcu_dereference(dn->shares);
}

/*
 * The policy for a claim that allocates as it may sleep (the load-time
 * walk's): its share rules kept by the namespace's shares_lock, which
 * their writers take to replace them, rather than by an RCU read
 * section, in which nothing may sleep.  The caller unlocks shares_lock.
 */
static void policy_hold(struct ddemux_net *dn, struct ddemux_policy *pol)
{
	mutex_lock(&dn->shares_lock);
	pol->mode = READ_ONCE(dn->mode);
	pol->domain = READ_ONCE(dn->domain);
	pol->shares = rcu_dereference_protected(dn->shares,
						lockdep_is_held(&dn->shares_lock));
}

/* ---- hooks ------------------------------------------------------------- */

/*
 * The adapters' ftrace hooks.  Most are redirects (FTRACE_OPS_FL_IPMODIFY,
 * as livepatch does): the ftrace handler resumes the call in a wrapper of
 * the same prototype, which calls the original -- an exported symbol --
 * and acts before and/or after it.  Calls that come from ddemux itself
 * are not redirected, which is how a wrapper reaches the original.
 * Wrappers run in the caller's normal context: no kretprobe instance pool
 * that can run dry, no "nested probe" misses, and they may call any
 * kernel function, including the ones that are hooked.  The ops are
 * FTRACE_OPS_FL_PERMANENT, so "sysctl kernel.ftrace_enabled=0" cannot
 * silently switch them off while ddemux is loaded.  See
 * Documentation/hooks.rst for why ftrace rather than kprobes.
 *
 * Unload.  A task may be inside a wrapper, even asleep in it, when the
 * hooks go away.  Wrappers run their bodies inside an SRCU read section
 * (ddemux_enter()), and ddemux_hooks_quiesce() waits for tasks still
 * between the ftrace trampoline and that section, for every section, and
 * for the epilogues after it.
 *
 * Not static: the module loader sets it up and tears it down, around
 * everything else, so netns exit may wait on it at any time.
 */
DEFINE_SRCU(ddemux_srcu);

/* Namespaces set up from now on start syncing (module load); see below. */
static bool loading;
/* Claims waiting for a walk (ddemux_gate()), of any namespace. */
static DECLARE_WAIT_QUEUE_HEAD(gate_wq);
/* The load is being undone: no claim waits for a walk any more. */
static bool gates_open;
/* Namespaces going (ddemux_core_gates_refuse()): gates refuse. */
static atomic_t gates_refusing = ATOMIC_INIT(0);

/*
 * A namespace goes, or fails to come: that holds pernet_ops_rwsem, which
 * the load-time walk needs, and waits for RTNL (ddemux_egress_exit_net())
 * and for the hooks (ddemux_hooks_sync()), which a claim asleep at a gate
 * may hold.  Such claims are refused from @on until the matching !@on
 * (ddemux_gate()).
 */
void ddemux_core_gates_refuse(bool on)
{
	if (on) {
		atomic_inc(&gates_refusing);
		wake_up_all(&gate_wq);
	} else {
		atomic_dec(&gates_refusing);
	}
}

/* The load fails: every claim waiting for a walk goes on. */
void ddemux_core_open_gates(void)
{
	WRITE_ONCE(gates_open, true);
	wake_up_all(&gate_wq);
}

/*
 * The redirect: resume in the wrapper, unless the call's filter argument
 * is none of the hook's values, or the hook is only for a socket whose
 * port bind() locked (@bindlocked) and this one's is not (both tested
 * first: most calls of a filtered function are not for ddemux), or the
 * call comes from ddemux itself (a wrapper calling the original, or a
 * rollback).  It does nothing else, so it needs no recursion protection
 * of its own.
 */
static void notrace ddemux_redirect(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *op,
				    struct ftrace_regs *fregs)
{
	struct ddemux_hook *h = container_of(op, struct ddemux_hook, ops);
	unsigned long v;

	if (h->filter_vals) {
		/* an int: the ABI leaves its register's upper half undefined */
		v = (u32)ddemux_ftrace_arg(fregs, h->filter_arg);
		if (v >= 64 || !(h->filter_vals & BIT_ULL(v)))
			return;
	}
	if (h->bindlocked) {
		const struct sock *sk = (void *)ddemux_ftrace_arg(fregs, 0);

		/* the caller holds the socket's lock: no bind() meanwhile */
		if (!(sk->sk_userlocks & SOCK_BINDPORT_LOCK))
			return;
	}
	if (within_module(parent_ip, THIS_MODULE))
		return;
	ddemux_ftrace_set_ip(fregs, (unsigned long)h->wrapper);
}

static int hook_install(struct ddemux_hook *h)
{
	int err;

	/*
	 * A hook installed before (a module that went and came again) has
	 * ops whose filter ftrace_free_filter() freed without resetting its
	 * pointers: it starts from nothing, as ftrace_ops_init() expects.
	 */
	memset(&h->ops, 0, sizeof(h->ops));
	h->ops.flags = FTRACE_OPS_FL_PERMANENT;
	h->ops.func = h->wrapper ? ddemux_redirect : h->func;
	if (h->wrapper) {
		h->ops.flags |= FTRACE_OPS_FL_IPMODIFY;
		if (!IS_ENABLED(CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS))
			h->ops.flags |= FTRACE_OPS_FL_SAVE_REGS;
	}
	if (h->target) {
		err = ftrace_set_filter_ip(&h->ops, (unsigned long)h->target,
					   0, 0);
	} else {
		/* a function that is not exported: by its name */
		char name[KSYM_NAME_LEN];

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
 * ddemux_hooks_install - install every hook of a table, or none
 * @hooks: the table
 * @n: its size
 *
 * A hook that cannot be installed (ftrace disabled, another IPMODIFY
 * user such as a livepatch of the same function, an unknown symbol) is
 * named in the log; the ones installed before it are removed again and
 * waited for (ddemux_hooks_quiesce()).  A hook of an optional table whose
 * function is not there fails with -EINVAL and is not named.  Process
 * context.
 */
int ddemux_hooks_install(struct ddemux_hook *hooks, unsigned int n)
{
	unsigned int i;
	int err;

	for (i = 0; i < n; i++) {
		err = hook_install(&hooks[i]);
		if (err) {
			/* an optional hook's function may just not be there */
			if (!hooks[i].optional || err != -EINVAL)
				pr_err("cannot hook %s (%d): not loading\n",
				       hooks[i].name, err);
			/*
			 * Nothing installed, nothing to wait for: an absent
			 * module's table (L2TP/IP) fails so at every load,
			 * while claims may wait at a gate (ddemux_gate()).
			 */
			if (i) {
				ddemux_hooks_remove(hooks, i);
				ddemux_hooks_quiesce();
			}
			return err;
		}
	}
	return 0;
}

/* Take a table's hooks out, last first; no call is redirected after. */
void ddemux_hooks_remove(struct ddemux_hook *hooks, unsigned int n)
{
	while (n-- > 0)
		hook_remove(&hooks[n]);
}

/**
 * ddemux_hooks_quiesce - wait until no task runs in a removed hook
 *
 * After unregistering, no call is redirected any more, but tasks already
 * redirected may be anywhere in a wrapper.  Three waits cover them: an
 * RCU-tasks grace period for tasks between the trampoline and their
 * ddemux_enter() (no voluntary sleep is possible there), an SRCU grace
 * period for every wrapper section (they may sleep in lock_sock()), and a
 * second RCU-tasks grace period for the few instructions after
 * ddemux_leave().
 */
void ddemux_hooks_quiesce(void)
{
	/*
	 * Hooks go during a load only when the load fails (module
	 * notifiers take a going module's hooks out without a quiesce):
	 * a claim asleep at a gate would hold the SRCU wait below forever.
	 */
	if (READ_ONCE(loading))
		ddemux_core_open_gates();
	synchronize_rcu_tasks();
	synchronize_srcu(&ddemux_srcu);
	synchronize_rcu_tasks();
}

/* Wait until no hook still uses a namespace's state (netns teardown). */
void ddemux_hooks_sync(void)
{
	synchronize_srcu(&ddemux_srcu);
}

/* ---- sockets to address sets ----------------------------------------- */

/*
 * The owner's uid as the kernel's own reuseport checks see it
 * (sock_i_uid(): the socket inode's owner), falling back to sk_uid for a
 * socket with no inode yet (a TCP child before accept()), which then
 * carries its listener's.  sock_i_uid() takes sk_callback_lock only to
 * keep sk_socket from going (sock_orphan()); the socket and its inode
 * are one object, freed after a grace period (sockfs' free_inode), so
 * RCU keeps what is read here valid, without the lock and its BH
 * toggling.
 */
static kuid_t sk_owner_uid(struct sock *sk)
{
	struct socket *sock;
	kuid_t uid;

	rcu_read_lock();
	sock = READ_ONCE(sk->sk_socket);
	uid = sock ? SOCK_INODE(sock)->i_uid : sk->sk_uid;
	rcu_read_unlock();
	return uid;
}

/* The cgroup v2 group the socket was created in. */
static u64 sk_cgroup_id(struct sock *sk)
{
	return cgroup_id(sock_cgroup_ptr(&sk->sk_cgrp_data));
}

/* The domain a socket belongs to. */
void ddemux_sk_domain(struct sock *sk, struct ddemux_domain *dom)
{
	dom->uid = sk_owner_uid(sk);
	dom->cgid = sk_cgroup_id(sk);
}

/* Does an unbound socket of @proto receive what arrives on a VRF's slaves? */
static bool l3mdev_accept(const struct net *net, int proto)
{
#if IS_ENABLED(CONFIG_NET_L3_MASTER_DEV)
	switch (proto) {
	case DDEMUX_TCP:
	case DDEMUX_DCCP:	/* inet_sk_bound_dev_eq(), as TCP */
		return READ_ONCE(net->ipv4.sysctl_tcp_l3mdev_accept);
	case DDEMUX_PING:
		return true;	/* ping_lookup() ignores l3mdev_accept */
	default:
		return READ_ONCE(net->ipv4.sysctl_udp_l3mdev_accept);
	}
#else
	return false;
#endif
}

/* ddemux_aset_set_dev(), inlined where this file builds a set */
static __always_inline void aset_set_dev(struct net *net, int proto,
					 struct ddemux_aset *s, int ifindex)
{
	s->dev = ifindex;
	s->mdev = ifindex ? l3mdev_master_ifindex_by_index(net, ifindex) : 0;
	s->flags &= ~DDEMUX_L3ANY;
	if (!ifindex && l3mdev_accept(net, proto))
		s->flags |= DDEMUX_L3ANY;
}

/**
 * ddemux_aset_set_dev - the device part of a set
 * @net: the namespace of the socket
 * @proto: its &enum ddemux_proto
 * @s: the set
 * @ifindex: the bound device, 0 for none
 *
 * As inet_bound_dev_eq() matches it: a device (and the VRF it is, or is
 * enslaved to), or none, with the protocol's sysctl l3mdev_accept.
 */
void ddemux_aset_set_dev(struct net *net, int proto, struct ddemux_aset *s,
			 int ifindex)
{
	aset_set_dev(net, proto, s, ifindex);
}

/**
 * ddemux_sk_aset_without - the address set a socket has, or would have
 * @sk: the socket
 * @proto: its &enum ddemux_proto
 * @lport: its port (inet_num, or the one it is about to get)
 * @drop: %DDEMUX_DROP_PEER, _ADDR, _DEV: the set as it would be once
 *	the kernel has cleared these (a disconnect), 0 for the set it has
 * @s: out
 *
 * ddemux_aset_from_view() of the socket's fields (ddemux_sk_view()), the
 * device as ddemux_aset_set_dev() says, the owner's domain.  Takes
 * no lock for the domain (sk_owner_uid()).
 */
void ddemux_sk_aset_without(struct sock *sk, int proto, u16 lport,
			    unsigned int drop, struct ddemux_aset *s)
{
	struct ddemux_sock_view sv;

	ddemux_sk_view(sk, proto, lport, &sv);
	if (drop & DDEMUX_DROP_ADDR) {
		sv.v4_rcv_saddr = 0;
		sv.v6_rcv_saddr = &in6addr_any;
	}
	if (drop & DDEMUX_DROP_PEER)
		sv.state = TCP_CLOSE;
	if (drop & DDEMUX_DROP_DEV)
		sv.bound_dev = 0;
	ddemux_aset_from_view(&sv, s);
	aset_set_dev(sock_net(sk), proto, s, s->dev);
	ddemux_sk_domain(sk, &s->dom);
}

/* The address set @sk has, with its port @lport (see above). */
void ddemux_sk_aset(struct sock *sk, int proto, u16 lport,
		    struct ddemux_aset *s)
{
	ddemux_sk_aset_without(sk, proto, lport, 0, s);
}

/*
 * The port (echo ident) @sk holds now, 0 if none: the kernel clears
 * inet_num whenever it gives a port back (inet_put_port(),
 * udp_lib_unhash(), ping_unhash()).
 */
u16 ddemux_sk_port(const struct sock *sk)
{
	return READ_ONCE(inet_sk(sk)->inet_num);
}

/* ---- reports --------------------------------------------------------- */

static u32 current_pid(void)
{
	return in_task() ? task_tgid_nr(current) : 0;
}

/*
 * A task name as a single printable token: no blanks, no control bytes.
 *
 * Not get_task_comm(): it takes task_lock(), which is not softirq-safe,
 * and reports are made with socket spinlocks held that softirqs take
 * (closing a listener sends its pending children's RSTs through the
 * egress hook under slock-AF_INET; lockdep caught the inversion).
 * current->comm is always NUL-terminated, as the kernel's own printks of
 * it rely on; a concurrent prctl(PR_SET_NAME) can at worst mix two names.
 */
static void safe_comm(char (*out)[TASK_COMM_LEN])
{
	int i;

	if (!in_task()) {
		strscpy(*out, "-", sizeof(*out));
		return;
	}
	memcpy(*out, current->comm, sizeof(*out));
	(*out)[sizeof(*out) - 1] = '\0';
	for (i = 0; (*out)[i]; i++)
		if (!isgraph((*out)[i]) || (*out)[i] == '"')
			(*out)[i] = '?';
}

/*
 * The start of every report: @comm gets the task's name; false when the
 * namespace's rate limit holds the log line back (counted in
 * log_suppressed).  Each namespace has its own limit, so that a flood in
 * one cannot hide another's reports, and the audit record is written
 * regardless: audit has its own rate limit and backlog.
 */
static bool report_begin(struct net *net, char (*comm)[TASK_COMM_LEN])
{
	struct ddemux_net *dn = ddemux_net_state(net);

	safe_comm(comm);
	if (__ratelimit(&dn->report_rs))
		return true;
	ddemux_count(dn, DDEMUX_ST_LOG_SUPPRESSED);
	return false;
}

/*
 * A report's audit record: NULL when auditing is off or no buffer could
 * be had.  In softirq, current's audit context is an unrelated task's.
 */
static struct audit_buffer *report_audit_start(void)
{
	if (audit_enabled == AUDIT_OFF)
		return NULL;
	return audit_log_start(in_task() ? audit_context() : NULL, GFP_ATOMIC,
			       AUDIT_KERNEL_OTHER);
}

/*
 * ... and its end, with the acting task's fields.  audit_log_task_info()
 * (pid, uids, comm, exe, tty) takes task_lock() and sighand's lock and
 * walks the exe path: only with softirqs and interrupts enabled, where
 * no lock a softirq takes can be held.  Elsewhere (an egress check under
 * a socket spinlock, say) the task is named by pid and @comm alone.
 */
static void report_audit_end(struct audit_buffer *ab, const char *comm)
{
	if (in_task() && !in_softirq() && !irqs_disabled()) {
		audit_log_task_info(ab);
	} else if (in_task()) {
		/* safe_comm() left no blank, quote or control byte */
		audit_log_format(ab, " pid=%u comm=\"%s\"", current_pid(), comm);
	}
	audit_log_end(ab);
}

/* The opt-ins of a set, and whether it is an MPTCP subflow's. */
const char *ddemux_flags_text(u8 flags)
{
	static const char *const text[] = {
		"-", "reuseaddr", "reuseport", "reuseaddr,reuseport",
		"mptcp", "reuseaddr,mptcp", "reuseport,mptcp",
		"reuseaddr,reuseport,mptcp",
	};

	return text[(flags & DDEMUX_OPTIN) | (flags & DDEMUX_MPTCP ? 4 : 0)];
}

/**
 * ddemux_report - the log line (and audit record) of one decision
 * @net: the namespace
 * @op: what was attempted ("bind", "autobind", "disconnect", ...)
 * @v: the verdict; DDEMUX_ALLOW reports an overlap that could not be
 *	refused (see the callers)
 * @set: the claimed address set
 * @c: the holder it collided with
 *
 * One line, rate-limited, naming both sides and the deciding rule:
 *
 *   ddemux: deny bind netns=4026531840 reason=cross-domain pid=812
 *   comm=nc uid=1001 cgroup=57 set="udp 0.0.0.0:5353 *:*" opt=reuseaddr
 *   holder_uid=1000 holder_cgroup=57 holder_pid=790
 *   holder_set="udp 0.0.0.0:5353 *:*" holder_opt=reuseaddr
 *
 * The same fields, with the task's (audit_log_task_info), go to the
 * audit log as type AUDIT_KERNEL_OTHER when auditing is on.  Any
 * context.
 */
void ddemux_report(struct net *net, const char *op, enum ddemux_verdict v,
		   const struct ddemux_aset *set,
		   const struct ddemux_conflict *c)
{
	static const char *const what[] = {
		[DDEMUX_ALLOW] = "overlap", [DDEMUX_AUDIT] = "audit",
		[DDEMUX_DENY] = "deny",
	};
	char comm[TASK_COMM_LEN], mine[128], theirs[128];
	struct audit_buffer *ab;
	bool print;

	print = report_begin(net, &comm);
	ddemux_aset_format(set, mine, sizeof(mine));
	ddemux_aset_format(&c->holder, theirs, sizeof(theirs));

	if (print)
		pr_notice("%s %s netns=%u reason=%s pid=%u comm=%s uid=%u cgroup=%llu set=\"%s\" opt=%s holder_uid=%u holder_cgroup=%llu holder_pid=%u holder_set=\"%s\" holder_opt=%s%s\n",
			  what[v], op, net->ns.inum,
			  ddemux_reason_name(c->reason), current_pid(), comm,
			  from_kuid_munged(&init_user_ns, set->dom.uid),
			  set->dom.cgid, mine, ddemux_flags_text(set->flags),
			  from_kuid_munged(&init_user_ns, c->holder.dom.uid),
			  c->holder.dom.cgid, c->holder_pid, theirs,
			  ddemux_flags_text(c->holder.flags),
			  c->holder_pending ? " holder_pending=1" : "");

	ab = report_audit_start();
	if (!ab)
		return;
	audit_log_format(ab, "op=ddemux_%s verdict=%s netns=%u reason=%s",
			 op, what[v], net->ns.inum,
			 ddemux_reason_name(c->reason));
	audit_log_format(ab, " sock_uid=%u sock_cgroup=%llu set=\"%s\"",
			 from_kuid_munged(&init_user_ns, set->dom.uid),
			 set->dom.cgid, mine);
	audit_log_format(ab, " holder_uid=%u holder_cgroup=%llu holder_pid=%u holder_set=\"%s\"",
			 from_kuid_munged(&init_user_ns, c->holder.dom.uid),
			 c->holder.dom.cgid, c->holder_pid, theirs);
	report_audit_end(ab, comm);
}

/**
 * ddemux_report_egress - the log line (and audit record) of a rule-3 drop
 * @net: the namespace
 * @v: DDEMUX_DENY (dropped) or DDEMUX_AUDIT (sent, audit mode)
 * @via: the sending socket's kind: udp, tcp, ping, raw or packet
 * @dom: the sender's domain
 * @out: the packet
 * @holder: the set, of another domain, that its reply would reach
 * @hnet: the namespace of @holder
 *
 *   ddemux: deny egress netns=4026531840 via=raw pid=812 comm=forge
 *   uid=1001 cgroup=57 pkt="udp 10.0.0.1:5353 > 10.0.0.2:53"
 *   holder_uid=1000 holder_cgroup=57 holder_set="udp 0.0.0.0:5353 *:*"
 *
 * An ICMP error is shown as the packet it quotes, pkt="icmp-error udp
 * ..."; a holder in another namespace adds holder_netns=.  pid and comm
 * are those of the task sending, when a task sends (not for a TCP
 * retransmission from a timer, say); "-" otherwise.  Any context.
 */
void ddemux_report_egress(struct net *net, enum ddemux_verdict v,
			  const char *via, const struct ddemux_domain *dom,
			  const struct ddemux_out *out,
			  const struct ddemux_aset *holder,
			  const struct net *hnet)
{
	const struct ddemux_pkt *pkt = &out->pkt;
	char comm[TASK_COMM_LEN], theirs[128], what[128], where[32] = "";
	const char *err = out->quoted ? "icmp-error " : "";
	struct audit_buffer *ab;
	bool print;

	print = report_begin(net, &comm);
	ddemux_aset_format(holder, theirs, sizeof(theirs));
	if (pkt->fam == DDEMUX_FAM_V4)
		scnprintf(what, sizeof(what), "%s%s %pI4:%u > %pI4:%u", err,
			  ddemux_proto_name(pkt->proto),
			  &pkt->saddr.s6_addr32[3], pkt->sport,
			  &pkt->daddr.s6_addr32[3], pkt->dport);
	else
		scnprintf(what, sizeof(what), "%s%s [%pI6c]:%u > [%pI6c]:%u",
			  err, ddemux_proto_name(pkt->proto), &pkt->saddr,
			  pkt->sport, &pkt->daddr, pkt->dport);
	if (!net_eq(hnet, net))
		scnprintf(where, sizeof(where), " holder_netns=%u",
			  hnet->ns.inum);

	if (print)
		pr_notice("%s egress netns=%u via=%s pid=%u comm=%s uid=%u cgroup=%llu pkt=\"%s\" holder_uid=%u holder_cgroup=%llu holder_set=\"%s\"%s\n",
			  v == DDEMUX_DENY ? "deny" : "audit", net->ns.inum,
			  via, current_pid(), comm,
			  from_kuid_munged(&init_user_ns, dom->uid), dom->cgid,
			  what, from_kuid_munged(&init_user_ns, holder->dom.uid),
			  holder->dom.cgid, theirs, where);

	ab = report_audit_start();
	if (!ab)
		return;
	audit_log_format(ab, "op=ddemux_egress verdict=%s netns=%u via=%s",
			 v == DDEMUX_DENY ? "deny" : "audit", net->ns.inum, via);
	audit_log_format(ab, " sock_uid=%u sock_cgroup=%llu pkt=\"%s\"",
			 from_kuid_munged(&init_user_ns, dom->uid), dom->cgid,
			 what);
	audit_log_format(ab, " holder_uid=%u holder_cgroup=%llu holder_set=\"%s\"%s",
			 from_kuid_munged(&init_user_ns, holder->dom.uid),
			 holder->dom.cgid, theirs, where);
	report_audit_end(ab, comm);
}

/**
 * ddemux_report_xsk - the log line (and audit record) of an AF_XDP socket
 * @net: the namespace
 * @v: DDEMUX_DENY (refused) or DDEMUX_AUDIT (created, audit mode)
 *
 *   ddemux: deny af_xdp netns=4026531840 pid=812 comm=xdpsock uid=1001
 *   cgroup=57
 *
 * The creator as the socket would have been owned: the task's fsuid and
 * cgroup v2 group.  Process context.
 */
void ddemux_report_xsk(struct net *net, enum ddemux_verdict v)
{
	const char *what = v == DDEMUX_DENY ? "deny" : "audit";
	char comm[TASK_COMM_LEN];
	struct audit_buffer *ab;
	u64 cgid;
	uid_t uid;

	uid = from_kuid_munged(&init_user_ns, current_fsuid());
	rcu_read_lock();
	cgid = cgroup_id(task_dfl_cgroup(current));
	rcu_read_unlock();
	if (report_begin(net, &comm))
		pr_notice("%s af_xdp netns=%u pid=%u comm=%s uid=%u cgroup=%llu\n",
			  what, net->ns.inum, current_pid(), comm, uid, cgid);
	ab = report_audit_start();
	if (!ab)
		return;
	audit_log_format(ab, "op=ddemux_af_xdp verdict=%s netns=%u sock_uid=%u sock_cgroup=%llu",
			 what, net->ns.inum, uid, cgid);
	report_audit_end(ab, comm);
}

/*
 * A claim the registry could not record: the namespace is at
 * max_entries, the claimant's domain at its quota, or memory ran out.
 * Allowing it would leave the socket unprotected and invisible to
 * everybody else's claims, so it is refused (enforce mode), or reported
 * (audit).
 */
static void report_unrecorded(struct net *net, const char *op,
			      enum ddemux_verdict v, const struct ddemux_aset *set,
			      int why, struct ddemux_registry *reg)
{
	const char *what = v == DDEMUX_DENY ? "deny" : "audit";
	const char *reason = why == -EDQUOT ? "domain-quota" :
			     why == -ENOSPC ? "registry-full" : "no-memory";
	char comm[TASK_COMM_LEN], mine[128];
	struct audit_buffer *ab;

	if (report_begin(net, &comm)) {
		ddemux_aset_format(set, mine, sizeof(mine));
		pr_notice("%s %s netns=%u reason=%s pid=%u comm=%s uid=%u cgroup=%llu set=\"%s\" entries=%u max=%u quota=%u\n",
			  what, op, net->ns.inum, reason, current_pid(), comm,
			  from_kuid_munged(&init_user_ns, set->dom.uid),
			  set->dom.cgid, mine, ddemux_reg_count(reg), reg->max,
			  READ_ONCE(reg->quota));
	} else {
		ddemux_aset_format(set, mine, sizeof(mine));
	}
	ab = report_audit_start();
	if (!ab)
		return;
	audit_log_format(ab, "op=ddemux_%s verdict=%s netns=%u reason=%s",
			 op, what, net->ns.inum, reason);
	audit_log_format(ab, " sock_uid=%u sock_cgroup=%llu set=\"%s\"",
			 from_kuid_munged(&init_user_ns, set->dom.uid),
			 set->dom.cgid, mine);
	report_audit_end(ab, comm);
}

/* ---- judgment -------------------------------------------------------- */

/* May the current context sleep?  False where it cannot be known. */
static bool may_sleep(void)
{
	if (!IS_ENABLED(CONFIG_PREEMPT_COUNT))
		return false;
	return preemptible() && !rcu_preempt_depth();
}

/*
 * How a claim may allocate: sleeping where the caller may (a record in
 * process context), atomically where not (a judgment, inside the RCU
 * read section that keeps its policy; bpf_bind(), softirq); charged to
 * the task's memory cgroup where a task claims (not in softirq, where
 * current is whoever was interrupted).
 */
static gfp_t claim_gfp(void)
{
	if (!in_task())
		return GFP_ATOMIC | __GFP_NOWARN;
	return (may_sleep() ? GFP_KERNEL : GFP_ATOMIC | __GFP_NOWARN) |
	       __GFP_ACCOUNT;
}

/* ddemux_judge(), and what it recorded for @owner (ddemux_reg_settle()) */
static int judge(struct ddemux_net *dn, struct net *net, const void *owner,
		 const struct ddemux_aset *set, unsigned int flags,
		 const char *op, struct ddemux_entry **recorded)
{
	struct ddemux_policy pol;
	struct ddemux_conflict c;
	enum ddemux_verdict v;

	rcu_read_lock();
	ddemux_policy_of(dn, &pol);
	v = ddemux_reg_claim(&dn->reg, owner, set, current_pid(), flags, &pol,
			     claim_gfp(), &c);
	rcu_read_unlock();
	if (recorded)
		*recorded = c.recorded;

	ddemux_count(dn, DDEMUX_ST_BINDS_CHECKED);
	if (c.unrecorded && v != DDEMUX_DENY && pol.mode != DDEMUX_MODE_OFF) {
		if (pol.mode == DDEMUX_MODE_ENFORCE) {
			ddemux_count(dn, DDEMUX_ST_BINDS_VETOED);
			report_unrecorded(net, op, DDEMUX_DENY, set, c.why,
					  &dn->reg);
			return -ENOBUFS;
		}
		report_unrecorded(net, op, DDEMUX_AUDIT, set, c.why, &dn->reg);
		return 0;
	}
	if (v == DDEMUX_DENY) {
		ddemux_count(dn, DDEMUX_ST_BINDS_VETOED);
		ddemux_report(net, op, v, set, &c);
		return -EADDRINUSE;
	}
	if (v == DDEMUX_AUDIT) {
		ddemux_count(dn, DDEMUX_ST_BINDS_AUDITED);
		ddemux_report(net, op, v, set, &c);
	} else if (c.reason == DDEMUX_R_SHARED) {
		ddemux_count(dn, DDEMUX_ST_BINDS_SHARED);
	}
	return 0;
}

/**
 * ddemux_judge - decide a claim, record it, count and report
 * @dn: the namespace's state
 * @net: the namespace
 * @owner: the socket, or the key of its reservation (ddemux_resv_key())
 * @set: the address set claimed
 * @flags: DDEMUX_CLAIM_*
 * @op: what the socket is doing, for the report
 *
 * Returns 0 when the set is recorded (allowed, audited or shared), or
 * the error the claim fails with, nothing recorded: -EADDRINUSE for an
 * overlap with another domain's set; -ENOBUFS for a set the registry
 * cannot record (full, or out of memory), refused in enforce mode and
 * reported in audit mode, since an unrecorded socket would be protected
 * from nobody, and nobody from it.
 */
int ddemux_judge(struct ddemux_net *dn, struct net *net, const void *owner,
		 const struct ddemux_aset *set, unsigned int flags,
		 const char *op)
{
	return judge(dn, net, owner, set, flags, op, NULL);
}

/**
 * ddemux_learn - record a set the kernel has already given a socket
 * @dn: the namespace's state
 * @net: the namespace
 * @owner: the socket
 * @set: its new address set
 * @op: the change, for the report
 *
 * For what was not judged before it took effect, and could not be: the
 * set is recorded whatever the verdict.  Every caller is one that cannot
 * overlap another domain's set (see Documentation/hooks.rst); if it does
 * all the same, under enforce or audit mode, that is the fail-open
 * counter overlaps_observed, and a report.
 */
void ddemux_learn(struct ddemux_net *dn, struct net *net, const void *owner,
		  const struct ddemux_aset *set, const char *op)
{
	struct ddemux_policy pol;
	struct ddemux_conflict c;
	enum ddemux_verdict v;

	rcu_read_lock();
	ddemux_policy_of(dn, &pol);
	v = ddemux_reg_claim(&dn->reg, owner, set, current_pid(),
			     DDEMUX_CLAIM_FORCE, &pol, claim_gfp(), &c);
	rcu_read_unlock();
	if (v != DDEMUX_ALLOW) {
		ddemux_count(dn, DDEMUX_ST_OVERLAPS_OBSERVED);
		ddemux_report(net, op, DDEMUX_ALLOW, set, &c);
	}
}

/*
 * The kernel's mark of an IPv4 socket bound to a broadcast address lasts
 * until it connects (ddemux_sk_aset_without()); a set that keeps the
 * local address of one marked keeps the mark.
 */
static void keep_group(struct ddemux_aset *now, const struct ddemux_aset *old)
{
	if ((old->flags & DDEMUX_GROUP) &&
	    ipv6_addr_equal(&now->laddr, &old->laddr))
		now->flags |= DDEMUX_GROUP;
}

/*
 * Record @set for @owner without judging it: it is within a judged one,
 * or @from, which @owner held.  A set on another local address than
 * @from's usually needs an address node of its own (a datagram
 * connect's source address): the claim allocates one up front.
 * @flags: the claim's, DDEMUX_CLAIM_FRESH for an owner that holds
 * nothing yet.
 */
static void record_from(struct ddemux_net *dn, const void *owner,
			const struct ddemux_aset *set,
			const struct ddemux_aset *from, unsigned int flags)
{
	struct ddemux_conflict c;

	if (from && !ipv6_addr_equal(&set->laddr, &from->laddr))
		flags |= DDEMUX_CLAIM_NEW_ADDR;
	ddemux_reg_claim(&dn->reg, owner, set, current_pid(), flags, NULL,
			 claim_gfp(), &c);
}

/**
 * ddemux_learn_child - an accepted TCP or DCCP child joins its listener
 * @dn: the namespace's state
 * @listener: the listening socket
 * @child: the new socket, with its 4-tuple
 * @proto: their &enum ddemux_proto
 *
 * The child belongs to its listener's domain (what it receives was the
 * listener's to receive), and its set lies inside the listener's: it is
 * recorded without a judgment.  Softirq.
 */
void ddemux_learn_child(struct ddemux_net *dn, const struct sock *listener,
			struct sock *child, int proto)
{
	struct ddemux_aset set, lset;

	ddemux_sk_aset(child, proto, ddemux_sk_port(child), &set);
	if (ddemux_reg_get(&dn->reg, listener, &lset, NULL))
		set.dom = lset.dom;
	set.flags |= DDEMUX_CHILD;
	record_from(dn, child, &set, NULL, DDEMUX_CLAIM_FRESH);	/* new */
}

/**
 * ddemux_relearn - record the set a socket has after the kernel changed it
 * @dn: the namespace's state
 * @sk: the socket
 * @proto: its &enum ddemux_proto
 * @op: the change, for a report
 *
 * For a change the kernel makes on its own and that cannot be refused: a
 * TCP socket that closes (a reset, a timeout) and keeps the port it was
 * bound to goes from its 4-tuple back to the bound set on that address
 * and port.  That cannot overlap another domain's set: such a set would
 * have overlapped the bound set this socket claimed first.  An accepted
 * child keeps its listener's domain.  Any context.
 */
void ddemux_relearn(struct ddemux_net *dn, struct sock *sk, int proto,
		    const char *op)
{
	u16 port = ddemux_sk_port(sk);
	struct ddemux_aset now, old;
	bool had;

	if (!port) {
		ddemux_forget(dn, sk);
		return;
	}
	had = ddemux_reg_get(&dn->reg, sk, &old, NULL);
	ddemux_sk_aset(sk, proto, port, &now);
	if (had)
		keep_group(&now, &old);
	if (had && (old.flags & DDEMUX_CHILD)) {
		now.dom = old.dom;
		now.flags |= DDEMUX_CHILD;
	}
	if (had && ddemux_aset_within(&now, &old))
		record_from(dn, sk, &now, &old, 0);
	else
		ddemux_learn(dn, sock_net(sk), sk, &now, op);
}

/* @sk holds no set any more, nor a reservation. */
void ddemux_forget(struct ddemux_net *dn, const struct sock *sk)
{
	if (sk->sk_protocol == IPPROTO_SCTP) {
		ddemux_parts_forget(dn, sk);
		return;
	}
	ddemux_reg_release(&dn->reg, sk);
	/*
	 * A reservation under the key outlives no move (ddemux_move_end());
	 * one of @sk's own is counted before it exists, by its thread.
	 */
	if (atomic_read(&dn->resv_live))
		ddemux_reg_release(&dn->reg, ddemux_resv_key(sk));
}

/*
 * @sk holds no set, nor anything to forget: it has no port, and what gave
 * its port back forgot its set (above).  Not said of an SCTP socket,
 * whose parts are its associations', not its port's.
 */
bool ddemux_holds_none(const struct sock *sk)
{
	return sk->sk_protocol != IPPROTO_SCTP && !ddemux_sk_port(sk);
}

/* ---- sets of several local addresses ------------------------------------ */

/*
 * A socket bound to several local addresses (SCTP) holds its set as
 * parts, one local address each (struct ddemux_aset, @part and @parts):
 * part i is the registry entry keyed ddemux_part_key(sk, i), an address
 * inside the socket (so never another socket's key), and its
 * reservation is keyed ddemux_resv_key() of that.  A change is judged
 * part by part: each new part that no part held already contains is
 * claimed, pending, and a refusal drops what was reserved; then the
 * parts the socket holds once the kernel is done are recorded, the
 * reservations dropped.  The callers serialise the changes of such
 * sockets (ddemux_sctp.c's mutex).
 */

/* What @sk holds, as the registry has it: its parts. */
void ddemux_parts_held(struct ddemux_net *dn, const struct sock *sk,
		       struct ddemux_parts *held)
{
	unsigned int i;

	for (i = 0; i < DDEMUX_PARTS_MAX; i++)
		if (!ddemux_reg_get(&dn->reg, ddemux_part_key(sk, i),
				    &held->set[i], NULL))
			break;
	held->n = i;
}

/**
 * ddemux_parts_begin - judge a change of a set of several addresses
 * @dn: the namespace's state
 * @sk: the socket
 * @held: out, the parts it holds now
 * @to: the parts it is to hold (or a superset of them)
 * @op: the change, for a report
 *
 * Returns 0 with every new part reserved, or the error of the first
 * refused (ddemux_judge(), ddemux_gate()) with nothing reserved.
 */
int ddemux_parts_begin(struct ddemux_net *dn, struct sock *sk,
		       struct ddemux_parts *held,
		       const struct ddemux_parts *to, const char *op)
{
	unsigned int i;
	int err;

	err = ddemux_gate(dn, sk);
	if (err)
		return err;
	ddemux_parts_held(dn, sk, held);
	for (i = 0; i < to->n; i++) {
		if (ddemux_parts_within(&to->set[i], held->set, held->n))
			continue;
		err = ddemux_judge(dn, sock_net(sk),
				   ddemux_resv_key(ddemux_part_key(sk, i)),
				   &to->set[i], DDEMUX_CLAIM_PENDING, op);
		if (err) {
			while (i--)
				ddemux_reg_release(&dn->reg,
						   ddemux_resv_key(ddemux_part_key(sk, i)));
			return err;
		}
	}
	return 0;
}

/**
 * ddemux_parts_end - record the parts a socket holds after a change
 * @dn: the namespace's state
 * @sk: the socket
 * @held: what it held before (ddemux_parts_begin()), or NULL
 * @to: what was judged, or NULL
 * @now: what it holds now (0 parts: nothing)
 * @op: the change, for a report
 *
 * A part within one held or judged is recorded as it is; anything else
 * (what the kernel did without a judgment: the port it picked, say) is
 * learned (ddemux_learn()).  Then the parts beyond @now's go, and the
 * reservations.
 */
void ddemux_parts_end(struct ddemux_net *dn, struct sock *sk,
		      const struct ddemux_parts *held,
		      const struct ddemux_parts *to,
		      struct ddemux_parts *now, const char *op)
{
	unsigned int i;

	for (i = 0; i < now->n; i++) {
		struct ddemux_aset *s = &now->set[i];
		const void *key = ddemux_part_key(sk, i);

		s->part = now->n > 1 ? i : 0;
		s->parts = now->n > 1 ? now->n : 0;
		if ((held && ddemux_parts_within(s, held->set, held->n)) ||
		    (to && ddemux_parts_within(s, to->set, to->n)))
			record_from(dn, key, s, NULL, 0);
		else
			ddemux_learn(dn, sock_net(sk), key, s, op);
	}
	for (i = now->n; i < DDEMUX_PARTS_MAX; i++)
		if (!ddemux_reg_release(&dn->reg, ddemux_part_key(sk, i)))
			break;
	for (i = 0; to && i < to->n; i++)
		ddemux_reg_release(&dn->reg,
				   ddemux_resv_key(ddemux_part_key(sk, i)));
}

/**
 * ddemux_parts_adopt - record the parts of a socket found at load
 * @dn: the namespace's state
 * @sk: the socket, referenced
 * @now: its parts, as it holds them
 *
 * As ddemux_adopt(), part by part: what a hook has recorded for @sk
 * since stays.  The callers keep the socket's set from changing
 * meanwhile (ddemux_sctp.c's mutex).  Returns -ENOMEM if a part could
 * not be recorded.  Process context.
 */
int ddemux_parts_adopt(struct ddemux_net *dn, struct sock *sk,
		       struct ddemux_parts *now)
{
	struct ddemux_policy pol;
	struct ddemux_conflict c;
	struct ddemux_aset held;
	enum ddemux_verdict v;
	bool overlap = false;
	unsigned int i;

	if (!now->n || ddemux_reg_get(&dn->reg, sk, &held, NULL))
		return 0;
	for (i = 0; i < now->n; i++) {
		struct ddemux_aset *s = &now->set[i];

		s->part = now->n > 1 ? i : 0;
		s->parts = now->n > 1 ? now->n : 0;
		policy_hold(dn, &pol);
		v = ddemux_reg_claim(&dn->reg, ddemux_part_key(sk, i), s, 0,
				     DDEMUX_CLAIM_IF_ABSENT | DDEMUX_CLAIM_FORCE |
				     DDEMUX_CLAIM_NO_QUOTA,
				     &pol, GFP_KERNEL, &c);
		mutex_unlock(&dn->shares_lock);
		if (c.unrecorded)
			return -ENOMEM;
		if (v != DDEMUX_ALLOW && !overlap) {
			overlap = true;
			ddemux_count(dn, DDEMUX_ST_OVERLAPS_AT_LOAD);
			ddemux_report(dn->net, "enumerate", DDEMUX_ALLOW, s, &c);
		}
	}
	ddemux_count(dn, DDEMUX_ST_ENUMERATED);
	return 0;
}

/* @sk holds no part any more, nor a reservation of one. */
void ddemux_parts_forget(struct ddemux_net *dn, const struct sock *sk)
{
	unsigned int i;
	bool part, resv;

	for (i = 0; i < DDEMUX_PARTS_MAX; i++) {
		part = ddemux_reg_release(&dn->reg, ddemux_part_key(sk, i));
		resv = ddemux_reg_release(&dn->reg,
					  ddemux_resv_key(ddemux_part_key(sk, i)));
		if (!part && !resv && i)
			break;
	}
}

/* ---- the load gate --------------------------------------------------- */

void ddemux_core_loading(bool on)
{
	WRITE_ONCE(loading, on);
}

/*
 * The longest a claim waits for the load-time walk (ddemux_gate()): far
 * more than a walk takes, even of a million sockets under a debug
 * kernel, and a bound on what a lock cycle through the gate costs.
 */
#define DDEMUX_GATE_WAIT	(30 * HZ)

/* Claims in @dn go on: its walk is done, or the load is undone. */
static bool gate_open(struct ddemux_net *dn)
{
	/* pairs with the release in ddemux_core_synced() */
	return smp_load_acquire(&dn->synced) || READ_ONCE(gates_open);
}

/**
 * ddemux_gate - wait until @dn's claims can be judged
 * @dn: the namespace's state
 * @sk: the claimant
 *
 * A namespace that exists when the module loads has sockets the registry
 * does not hold yet; until the load-time walk has put every one of them
 * there (ddemux_core_synced()), no claim in it can be judged.  A claim
 * then waits, where it may sleep; where it may not (the bpf_bind()
 * helper runs in an RCU read section) it is refused, which is counted
 * in load_refused: closed for the claimant, never open for the others.
 * The walk takes no socket lock, so a claimant that holds one cannot
 * stall it.  A claim waits inside its wrapper's SRCU section, so nothing
 * the walk waits for may wait for that section: a namespace that goes
 * meanwhile refuses the claims at the gates, counted in load_refused
 * too (ddemux_core_gates_refuse()); and a load that fails opens the gates
 * before it waits for the wrappers (ddemux_hooks_quiesce()), and the
 * claims go on, as they would without ddemux.  Nor may it wait for a
 * lock the claimant holds, and a kernel socket's claimant may hold RTNL
 * (a tunnel device opening its socket), which a namespace's setup or
 * teardown takes while it holds pernet_ops_rwsem, which the walk needs:
 * a kernel socket does not wait, it is refused; and any claim waits at
 * most %DDEMUX_GATE_WAIT, then it is refused.  Both are counted in
 * load_refused.  Returns 0, -EADDRINUSE, or -EINTR for a fatal signal.
 */
int ddemux_gate(struct ddemux_net *dn, const struct sock *sk)
{
	if (likely(gate_open(dn)))
		return 0;
	if (may_sleep() && !sk->sk_kern_sock &&
	    wait_event_killable_timeout(gate_wq, gate_open(dn) ||
					atomic_read(&gates_refusing),
					DDEMUX_GATE_WAIT) < 0)
		return -EINTR;
	if (gate_open(dn))
		return 0;
	ddemux_count(dn, DDEMUX_ST_LOAD_REFUSED);
	return -EADDRINUSE;
}

/* Every socket @dn had at load is in its registry: claims may go on. */
void ddemux_core_synced(struct ddemux_net *dn)
{
	/* the walk's records are visible to whoever sees @synced */
	smp_store_release(&dn->synced, true);
	wake_up_all(&gate_wq);
}

/**
 * ddemux_adopt - record a socket found by the load-time walk
 * @dn: the namespace's state
 * @sk: the socket, referenced
 * @proto: its &enum ddemux_proto
 * @port: the port the walk saw it hold
 *
 * The walk reads the socket without its lock, and the hooks are live:
 * whatever a hook recorded for @sk is newer than this read and stays
 * (%DDEMUX_CLAIM_IF_ABSENT); and if the kernel gave the port back
 * between the walk's read and this record, the record is undone unless
 * a hook has claimed it since (ddemux_reg_release_adopted()).  Sets of
 * two domains that already overlap at load are recorded both, and
 * counted in overlaps_at_load.  Returns -ENOMEM if the set could not be
 * recorded.  Process context.
 */
int ddemux_adopt(struct ddemux_net *dn, struct sock *sk, int proto, u16 port)
{
	struct ddemux_policy pol;
	struct ddemux_conflict c;
	struct ddemux_aset set;
	enum ddemux_verdict v;

	ddemux_sk_aset(sk, proto, port, &set);
	policy_hold(dn, &pol);
	v = ddemux_reg_claim(&dn->reg, sk, &set, 0,
			     DDEMUX_CLAIM_IF_ABSENT | DDEMUX_CLAIM_FORCE |
			     DDEMUX_CLAIM_NO_QUOTA, &pol, GFP_KERNEL, &c);
	mutex_unlock(&dn->shares_lock);
	if (c.present)
		return 0;
	if (c.unrecorded)
		return -ENOMEM;
	ddemux_count(dn, DDEMUX_ST_ENUMERATED);
	if (v != DDEMUX_ALLOW) {
		ddemux_count(dn, DDEMUX_ST_OVERLAPS_AT_LOAD);
		ddemux_report(dn->net, "enumerate", DDEMUX_ALLOW, &set, &c);
	}
	if (ddemux_sk_port(sk) != port)
		ddemux_reg_release_adopted(&dn->reg, sk);
	return 0;
}

/* ---- changes of a socket's set ----------------------------------------- */

/**
 * ddemux_move_begin_flags - judge a change of @sk's address set before it
 *	is made
 * @m: the change, filled in here
 * @dn: the namespace's state
 * @sk: the socket; its lock is held, or the caller serialises as the
 *	kernel does for the change
 * @proto: its &enum ddemux_proto
 * @to: the set the change gives it, or a set that contains it (when the
 *	kernel picks part of it, say a source address); NULL if the change
 *	leaves it without a port
 * @flags: 0, or %DDEMUX_CLAIM_PICKED where the port is one ddemux or the
 *	kernel picked at random (an autobind)
 * @op: the change, for the report
 *
 * A change into a set within the one @sk holds cannot overlap anything
 * the held one does not: it is not judged again.  Any other change is
 * judged, and the new set reserved (pending) while the old stays
 * recorded, so that neither can be claimed by another domain until
 * ddemux_move_end().  Returns 0, or an error for the caller to return
 * instead of making the change (ddemux_judge(), ddemux_gate()).
 */
int ddemux_move_begin_flags(struct ddemux_move *m, struct ddemux_net *dn,
			    struct sock *sk, int proto,
			    const struct ddemux_aset *to, unsigned int flags,
			    const char *op)
{
	int err;

	m->dn = dn;
	m->sk = sk;
	m->proto = proto;
	m->op = op;
	m->key = NULL;
	m->resv = NULL;
	err = ddemux_gate(dn, sk);
	if (err)
		return err;
	/* a socket without a port holds no set: no lookup */
	m->had = !ddemux_holds_none(sk) &&
		 ddemux_reg_get(&dn->reg, sk, &m->from, NULL);
	if (!to)
		return 0;
	m->to = *to;
	if (m->had)
		keep_group(&m->to, &m->from);
	if (m->had && ddemux_aset_within(to, &m->from))
		return 0;
	m->key = m->had ? ddemux_resv_key(sk) : sk;
	if (m->key != sk)
		atomic_inc(&dn->resv_live);
	/*
	 * Neither key has an entry: @sk none, as above, and its
	 * reservation key none outside a change, which the caller keeps
	 * to one at a time (ddemux_move_end() drops it).  Should one be
	 * left all the same, the claim finds it and replaces it.
	 */
	err = judge(dn, sock_net(sk), m->key, to,
		    DDEMUX_CLAIM_PENDING | DDEMUX_CLAIM_FRESH | flags, op,
		    &m->resv);
	if (err) {
		if (m->key != sk)
			atomic_dec(&dn->resv_live);
		m->key = NULL;
	}
	return err;
}

/**
 * ddemux_move_end - record what @m's socket holds after the change
 * @m: the change, from ddemux_move_begin() (which returned 0)
 *
 * Whether the kernel made the change or refused it, the set the socket
 * now holds is read from its fields and recorded, and the reservation
 * dropped.  A set within what was judged or held before is recorded
 * as it is; anything else (the kernel did what the hook did not expect)
 * is learned, and an overlap then counts in overlaps_observed.
 */
void ddemux_move_end(struct ddemux_move *m)
{
	struct ddemux_net *dn = m->dn;
	struct sock *sk = m->sk;
	struct ddemux_aset now;
	u16 port = ddemux_sk_port(sk);

	if (!port) {
		ddemux_forget(dn, sk);
		goto out;
	}
	ddemux_sk_aset(sk, m->proto, port, &now);
	if (m->had)
		keep_group(&now, &m->from);
	/*
	 * The usual end: the set as reserved, which becomes the entry; in
	 * place, with no lookup, for a socket that held nothing before.
	 */
	if (m->key == sk && m->resv && ddemux_aset_equal(&now, &m->to)) {
		ddemux_reg_settle(m->resv);
		return;
	}
	if (m->key && ddemux_reg_commit(&dn->reg, sk, m->key, &now,
					current_pid())) {
		if (m->key != sk)
			atomic_dec(&dn->resv_live);
		return;
	}
	if ((m->key && ddemux_aset_within(&now, &m->to)) ||
	    (m->had && ddemux_aset_within(&now, &m->from)))
		record_from(dn, sk, &now, m->had ? &m->from : NULL, 0);
	else
		ddemux_learn(dn, sock_net(sk), sk, &now, m->op);
	if (m->key && m->key != sk)
		ddemux_reg_release(&dn->reg, m->key);
out:
	if (m->key && m->key != sk)
		atomic_dec(&dn->resv_live);
}

/**
 * ddemux_move_end_port - ddemux_move_end() after a change that gives the
 *	socket a port and changes no other field of its set
 * @m: the change
 *
 * For a get_port that succeeded (inet_csk_get_port(), udp_lib_get_port()),
 * which stores the port (inet_num) and changes none of the fields the
 * set is made of: a socket's first set is then the one reserved if the
 * port is the one asked for, with no read-back of the rest.  Any other
 * outcome is ddemux_move_end()'s.
 */
void ddemux_move_end_port(struct ddemux_move *m)
{
	if (m->key == m->sk && m->resv &&
	    ddemux_sk_port(m->sk) == m->to.lport) {
		ddemux_reg_settle(m->resv);
		return;
	}
	ddemux_move_end(m);
}

/* ---- per-namespace life --------------------------------------------- */

/* The module parameters, before any namespace is set up. */
void ddemux_core_init(const struct ddemux_defaults *d)
{
	defaults = *d;
}

/*
 * A new namespace starts with the initial namespace's settings and share
 * rules, so a container is as protected as its host until the host's
 * administrator says otherwise.
 */
static int ddemux_inherit(struct net *net, struct ddemux_net *dn)
{
	struct ddemux_net *init = net_generic(&init_net, ddemux_net_id);
	const struct ddemux_shares *src;
	struct ddemux_shares *copy = NULL;

	if (net_eq(net, &init_net)) {
		dn->mode = defaults.mode;
		dn->domain = defaults.domain;
		dn->egress = defaults.egress;
		dn->domain_max = defaults.domain_max;
		return 0;
	}
	dn->mode = READ_ONCE(init->mode);
	dn->domain = READ_ONCE(init->domain);
	dn->egress = READ_ONCE(init->egress);
	dn->domain_max = READ_ONCE(init->domain_max);
	mutex_lock(&init->shares_lock);
	src = rcu_dereference_protected(init->shares,
					lockdep_is_held(&init->shares_lock));
	if (src)
		copy = kmemdup(src, sizeof(*src), GFP_KERNEL);
	mutex_unlock(&init->shares_lock);
	if (src && !copy)
		return -ENOMEM;
	RCU_INIT_POINTER(dn->shares, copy);
	return 0;
}

/**
 * ddemux_core_init_net - a namespace's settings, counters and registry
 * @net: the namespace
 * @dn: its state, not yet published
 */
int ddemux_core_init_net(struct net *net, struct ddemux_net *dn)
{
	int err;

	dn->net = net;
	mutex_init(&dn->shares_lock);
	dn->synced = !READ_ONCE(loading);
	err = ddemux_inherit(net, dn);
	if (err)
		return err;
	dn->stats = alloc_percpu(struct ddemux_stats);
	if (!dn->stats) {
		err = -ENOMEM;
		goto err_shares;
	}
	err = ddemux_reg_init(&dn->reg, defaults.max_entries);
	if (err)
		goto err_stats;
	ratelimit_state_init(&dn->report_rs, HZ / 10, 50);
	ddemux_core_update(dn);
	return 0;

err_stats:
	free_percpu(dn->stats);
err_shares:
	kfree(rcu_dereference_protected(dn->shares, true));
	return err;
}

/**
 * ddemux_core_update - the registry follows the namespace's knobs
 * @dn: the namespace's state, whose domain or domain_max changed
 *
 * The quota holds a domain (a uid, a cgroup, or both, as @dn->domain
 * says) to @dn->domain_max entries.
 */
void ddemux_core_update(struct ddemux_net *dn)
{
	ddemux_reg_set_quota(&dn->reg, READ_ONCE(dn->domain_max),
			     READ_ONCE(dn->domain));
}

/* Everything set up so far is visible to whoever sees @dn->ready. */
void ddemux_core_publish(struct ddemux_net *dn)
{
	/* pairs with the acquire in ddemux_net() */
	smp_store_release(&dn->ready, true);
}

/*
 * ddemux_net() finds nothing any more, and a claim waiting for the
 * load-time walk goes on; the caller then waits until no hook still
 * holds @dn (ddemux_hooks_sync()).
 */
void ddemux_core_unpublish(struct ddemux_net *dn)
{
	WRITE_ONCE(dn->ready, false);
	ddemux_core_synced(dn);
}

void ddemux_core_exit_net(struct ddemux_net *dn)
{
	ddemux_reg_destroy(&dn->reg);	/* waits for lock-free readers */
	free_percpu(dn->stats);
	kfree(rcu_dereference_protected(dn->shares, true));
}
