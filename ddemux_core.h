/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ddemux - the enforcement core: per-namespace state, judgment, reports
 *
 * The module's layers, from the top; each file calls only the ones below
 * it, and nothing below calls up (scripts/layers.py checks it on the
 * object files):
 *
 *   ddemux_main.c     module life: parameters, init and exit, their order
 *   ddemux_iface.c    the interface: net.ddemux.* sysctls, /proc/net/ddemux
 *   ddemux_hooks.c    adapter: the socket paths, through ftrace redirects
 *   ddemux_egress.c   adapter: rule 3, through netfilter hooks
 *   ddemux_core.c     the enforcement core: this header
 *   ddemux_table.c    the registry of one namespace (ddemux.h)
 *   ddemux_policy.c   pure decisions (ddemux.h)
 *
 * The two adapters do not call each other; the interface may switch the
 * egress hooks.  Not used by the pure code or the KUnit suites.
 */
#ifndef _DDEMUX_CORE_H
#define _DDEMUX_CORE_H

#define DDEMUX_KERNEL_GLUE
#include "ddemux_compat.h"
#include "ddemux.h"

#include <linux/percpu.h>
#include <linux/mutex.h>
#include <linux/list.h>
#include <linux/completion.h>
#include <linux/ratelimit.h>
#include <linux/workqueue.h>
#include <linux/srcu.h>
#include <linux/ftrace.h>
#include <linux/netdevice.h>
#include <net/net_namespace.h>
#include <net/sock.h>

/* Per-namespace event counters, /proc/net/ddemux/stats. */
enum ddemux_stat {
	DDEMUX_ST_BINDS_CHECKED,	/* port claims judged */
	DDEMUX_ST_BINDS_VETOED,		/* refused with EADDRINUSE */
	DDEMUX_ST_BINDS_AUDITED,	/* would be refused; allowed (audit) */
	DDEMUX_ST_BINDS_SHARED,		/* allowed by a share rule */
	DDEMUX_ST_AUTOBIND_RETRIES,	/* kernel-chosen port taken back */
	DDEMUX_ST_OVERLAPS_OBSERVED,	/* fail-open: an overlap recorded */
	DDEMUX_ST_ENUMERATED,		/* sockets registered at load */
	DDEMUX_ST_OVERLAPS_AT_LOAD,	/* overlaps found among them */
	DDEMUX_ST_LOAD_REFUSED,		/* claims refused while loading */
	DDEMUX_ST_PORTS_REVOKED,	/* ports taken back: a widening refused */
	DDEMUX_ST_LOG_SUPPRESSED,	/* reports lost to rate limiting */
	DDEMUX_ST_EGRESS_CHECKED,	/* packets judged by rule 3 */
	DDEMUX_ST_EGRESS_DROPPED,	/* dropped: reply to another domain */
	DDEMUX_ST_EGRESS_AUDITED,	/* would be dropped; sent (audit) */
	DDEMUX_ST_XSK_REFUSED,		/* AF_XDP sockets refused */
	DDEMUX_ST_XSK_AUDITED,		/* would be refused; created (audit) */
	DDEMUX_ST_XSK_AT_LOAD,		/* AF_XDP sockets that existed at load */
	DDEMUX_NSTATS,
};

struct ddemux_stats {
	u64 c[DDEMUX_NSTATS];
};

/**
 * struct ddemux_net - ddemux's state in one network namespace
 * @reg: the registry of address sets
 * @net: the namespace this is the state of
 * @mode: sysctl net.ddemux.mode (&enum ddemux_mode)
 * @domain: sysctl net.ddemux.domain (DDEMUX_DOM_* mask)
 * @egress: sysctl net.ddemux.egress (rule 3 on or off)
 * @shares: the share rules, RCU; NULL when there are none
 * @shares_lock: serialises writers of @shares
 * @stats: per-CPU event counters
 * @sysctl_table: this namespace's copy of the sysctl table
 * @sysctl_hdr: its registration
 * @proc_dir: /proc/net/ddemux
 * @egress_live: the LOCAL_OUT hooks are registered; under RTNL
 * @egress_devs: the egress hooks; under RTNL
 * @egress_node: in the egress adapter's list of the namespaces whose
 *	devices it follows (ddemux_egress.c); under RTNL
 * @dev_hooks_live: the devices' egress hooks are registered (for packet
 *	sockets); changed under @pkt_lock and RTNL
 * @l3mdevs: the namespace's VRF devices; under RTNL, read locklessly
 * @pkt_lock: serialises the device hooks' registration against packet
 *	sockets being created
 * @pkt_creating: packet sockets being created; under @pkt_lock
 * @pkt_work: takes the device hooks away once no packet socket is left
 * @egress_dead: the namespace is going; under @pkt_lock
 * @ready: set once everything above exists, cleared before teardown
 * @synced: every socket the namespace had at load is in @reg
 * @domain_max: sysctl net.ddemux.domain_max (entries per domain)
 * @report_rs: the rate limit of this namespace's log lines
 */
struct ddemux_net {
	struct ddemux_registry reg;
	struct net *net;
	int mode;
	int domain;
	int egress;
	struct ddemux_shares __rcu *shares;
	struct mutex shares_lock;	/* serialises writers of @shares */
	struct ddemux_stats __percpu *stats;
	struct ctl_table *sysctl_table;
	struct ctl_table_header *sysctl_hdr;
	struct proc_dir_entry *proc_dir;
	bool egress_live;
	struct list_head egress_devs;
	struct list_head egress_node;
	bool dev_hooks_live;
	int l3mdevs;
	struct mutex pkt_lock;		/* see above */
	unsigned int pkt_creating;
	struct delayed_work pkt_work;
	bool egress_dead;
	bool ready;
	bool synced;
	/* reservations under a ddemux_resv_key() that moves hold now */
	atomic_t resv_live;
	int domain_max;
	struct ratelimit_state report_rs;
};

struct ddemux_net *ddemux_net(const struct net *net);
struct ddemux_net *ddemux_net_state(const struct net *net);
void ddemux_policy_of(struct ddemux_net *dn, struct ddemux_policy *pol);

static inline void ddemux_count(struct ddemux_net *dn, enum ddemux_stat s)
{
	this_cpu_inc(dn->stats->c[s]);
}

/* Module-wide fail-open accounting, shown in every namespace's stats. */
struct ddemux_global_stats {
	atomic64_t rollback_failed;	/* a kernel-chosen port could not be undone */
	atomic_t egress_hook_errors;	/* egress hooks that could not register */
};

extern struct ddemux_global_stats ddemux_gstats;

int ddemux_judge(struct ddemux_net *dn, struct net *net, const void *owner,
		 const struct ddemux_aset *set, unsigned int flags,
		 const char *op);
void ddemux_learn(struct ddemux_net *dn, struct net *net, const void *owner,
		  const struct ddemux_aset *set, const char *op);
void ddemux_learn_child(struct ddemux_net *dn, const struct sock *listener,
			struct sock *child, int proto);
void ddemux_relearn(struct ddemux_net *dn, struct sock *sk, int proto,
		    const char *op);
void ddemux_forget(struct ddemux_net *dn, const struct sock *sk);
bool ddemux_holds_none(const struct sock *sk);
int ddemux_gate(struct ddemux_net *dn, const struct sock *sk);
int ddemux_adopt(struct ddemux_net *dn, struct sock *sk, int proto, u16 port);

/**
 * struct ddemux_move - a change of one socket's address set, in progress
 * @dn: the namespace's state
 * @sk: the socket
 * @proto: its &enum ddemux_proto
 * @op: the change, for reports
 * @key: where the new set is reserved (the socket, or its reservation
 *	key); NULL when nothing is
 * @resv: the entry reserved, where one was (ddemux_reg_settle())
 * @had: @from is the set the socket held before
 * @from: that set
 * @to: the set judged for the change
 */
struct ddemux_move {
	struct ddemux_net *dn;
	struct sock *sk;
	int proto;
	const char *op;
	const void *key;
	struct ddemux_entry *resv;
	bool had;
	struct ddemux_aset from;
	struct ddemux_aset to;
};

/*
 * A socket bound to several local addresses (SCTP) holds its set as
 * parts (ddemux.h): part @i is keyed by an address inside the socket.
 */
static inline const void *ddemux_part_key(const struct sock *sk,
					  unsigned int i)
{
	return (const u8 *)sk + 2 * i;
}

/**
 * struct ddemux_parts - the parts of one socket's set
 * @n: how many
 * @set: the parts
 *
 * Too big for the stack: allocated by the callers.
 */
struct ddemux_parts {
	unsigned int n;
	struct ddemux_aset set[DDEMUX_PARTS_MAX];
};

void ddemux_parts_held(struct ddemux_net *dn, const struct sock *sk,
		       struct ddemux_parts *held);
int ddemux_parts_begin(struct ddemux_net *dn, struct sock *sk,
		       struct ddemux_parts *held,
		       const struct ddemux_parts *to, const char *op);
void ddemux_parts_end(struct ddemux_net *dn, struct sock *sk,
		      const struct ddemux_parts *held,
		      const struct ddemux_parts *to,
		      struct ddemux_parts *now, const char *op);
void ddemux_parts_forget(struct ddemux_net *dn, const struct sock *sk);
int ddemux_parts_adopt(struct ddemux_net *dn, struct sock *sk,
		       struct ddemux_parts *now);

int ddemux_move_begin_flags(struct ddemux_move *m, struct ddemux_net *dn,
			    struct sock *sk, int proto,
			    const struct ddemux_aset *to, unsigned int flags,
			    const char *op);

static inline int ddemux_move_begin(struct ddemux_move *m,
				    struct ddemux_net *dn, struct sock *sk,
				    int proto, const struct ddemux_aset *to,
				    const char *op)
{
	return ddemux_move_begin_flags(m, dn, sk, proto, to, 0, op);
}

void ddemux_move_end(struct ddemux_move *m);
void ddemux_move_end_port(struct ddemux_move *m);

void ddemux_report(struct net *net, const char *op, enum ddemux_verdict v,
		   const struct ddemux_aset *set,
		   const struct ddemux_conflict *c);

void ddemux_sk_domain(struct sock *sk, struct ddemux_domain *dom);
/* What ddemux_sk_aset_without() leaves out: what a disconnect clears. */
#define DDEMUX_DROP_PEER	BIT(0)	/* the remote address and port */
#define DDEMUX_DROP_ADDR	BIT(1)	/* the local address */
#define DDEMUX_DROP_DEV		BIT(2)	/* the bound device */

void ddemux_sk_aset(struct sock *sk, int proto, u16 lport,
		    struct ddemux_aset *s);
void ddemux_sk_aset_without(struct sock *sk, int proto, u16 lport,
			    unsigned int drop, struct ddemux_aset *s);
void ddemux_aset_set_dev(struct net *net, int proto, struct ddemux_aset *s,
			 int ifindex);
u16 ddemux_sk_port(const struct sock *sk);

/**
 * struct ddemux_out - a packet rule 3 judges (ddemux_reply.c)
 * @pkt: the tuple whose reply is judged: the packet's own, or, for an
 *	ICMP error, the one of the packet it quotes
 * @odev: the device it leaves by, if known
 * @oif: the device its sender asked for (the route's rt_iif, a bound
 *	device), 0 for none
 * @quoted: @pkt is the packet an ICMP error quotes
 */
struct ddemux_out {
	struct ddemux_pkt pkt;
	const struct net_device *odev;
	int oif;
	bool quoted;
};

bool ddemux_parse_ip(const struct sk_buff *skb, u8 fam, struct ddemux_out *out);
bool ddemux_parse_frame(const struct sk_buff *skb, struct ddemux_out *out);
enum ddemux_verdict ddemux_rule3(struct ddemux_net *dn, struct net *net,
				 struct sock *sk, const struct ddemux_out *out,
				 const char *via);
int ddemux_xsk_create(struct net *net);

void ddemux_report_egress(struct net *net, enum ddemux_verdict v,
			  const char *via, const struct ddemux_domain *dom,
			  const struct ddemux_out *out,
			  const struct ddemux_aset *holder,
			  const struct net *hnet);
void ddemux_report_xsk(struct net *net, enum ddemux_verdict v);
const char *ddemux_flags_text(u8 flags);

/* The initial namespace's settings, from the module parameters. */
struct ddemux_defaults {
	int mode;
	int domain;
	int egress;
	int domain_max;
	unsigned int max_entries;
};

void ddemux_core_init(const struct ddemux_defaults *d);
void ddemux_core_loading(bool on);
void ddemux_core_open_gates(void);
void ddemux_core_gates_refuse(bool on);
void ddemux_core_update(struct ddemux_net *dn);
void ddemux_core_synced(struct ddemux_net *dn);
int ddemux_core_init_net(struct net *net, struct ddemux_net *dn);
void ddemux_core_publish(struct ddemux_net *dn);
void ddemux_core_unpublish(struct ddemux_net *dn);
void ddemux_core_exit_net(struct ddemux_net *dn);

extern unsigned int ddemux_net_id;

/*
 * The adapters' kernel hooks: ftrace ops on kernel functions (see
 * ddemux_core.c, "Hooks").  A redirect resumes the call in @wrapper, a
 * function of the same prototype that calls the original; with
 * @filter_vals, only calls whose argument @filter_arg, an int, is one
 * of those values (each below 64) are redirected.  A hook without @wrapper is a
 * plain callback at entry, @func.  A hook without @target is on a
 * function that is not exported, found by @name: a wrapper cannot call
 * it, and does all the work itself for the calls its filter lets
 * through.
 */
struct ddemux_hook {
	const char *name;
	void *target;
	void *wrapper;
	ftrace_func_t func;
	unsigned int filter_arg;
	u64 filter_vals;
	bool bindlocked;	/* only for a socket (argument 0) bind() locked */
	struct ftrace_ops ops;
	bool live;
	bool optional;	/* by @name, in a module that may not be loaded */
};

#define DDEMUX_REDIRECT(fn) \
	{ .name = #fn, .target = fn, .wrapper = ddemux_##fn }

int ddemux_hooks_install(struct ddemux_hook *hooks, unsigned int n);
void ddemux_hooks_remove(struct ddemux_hook *hooks, unsigned int n);
void ddemux_hooks_quiesce(void);
void ddemux_hooks_sync(void);

/* Every wrapper runs its body between these (ddemux_hooks_quiesce()). */
extern struct srcu_struct ddemux_srcu;

static inline int ddemux_enter(void)
{
	return srcu_read_lock(&ddemux_srcu);
}

static inline void ddemux_leave(int idx)
{
	srcu_read_unlock(&ddemux_srcu, idx);
}

#endif /* _DDEMUX_CORE_H */
