/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ddemux - what the kernel glue (main, hooks) shares
 *
 * Not used by the pure core or the KUnit suites.
 */
#ifndef _DDEMUX_KERN_H
#define _DDEMUX_KERN_H

#define DDEMUX_KERNEL_GLUE
#include "ddemux_compat.h"
#include "ddemux.h"

#include <linux/percpu.h>
#include <linux/mutex.h>
#include <net/net_namespace.h>

/* Per-namespace event counters, /proc/net/ddemux/stats. */
enum ddemux_stat {
	DDEMUX_ST_BINDS_CHECKED,	/* port claims judged */
	DDEMUX_ST_BINDS_VETOED,		/* refused with EADDRINUSE */
	DDEMUX_ST_BINDS_AUDITED,	/* would be refused; allowed (audit) */
	DDEMUX_ST_BINDS_SHARED,		/* allowed by a share rule */
	DDEMUX_ST_AUTOBIND_RETRIES,	/* kernel-chosen port taken back */
	DDEMUX_ST_OVERLAPS_OBSERVED,	/* overlaps ddemux could not refuse */
	DDEMUX_ST_ENUMERATED,		/* sockets registered at load */
	DDEMUX_ST_LOG_SUPPRESSED,	/* reports lost to rate limiting */
	DDEMUX_NSTATS,
};

struct ddemux_stats {
	u64 c[DDEMUX_NSTATS];
};

/**
 * struct ddemux_net - ddemux's state in one network namespace
 * @reg: the registry of address sets
 * @mode: sysctl net.ddemux.mode (&enum ddemux_mode)
 * @domain: sysctl net.ddemux.domain (DDEMUX_DOM_* mask)
 * @shares: the share rules, RCU; NULL when there are none
 * @shares_lock: serialises writers of @shares
 * @stats: per-CPU event counters
 * @sysctl_table: this namespace's copy of the sysctl table
 * @sysctl_hdr: its registration
 * @proc_dir: /proc/net/ddemux
 * @ready: set once everything above exists, cleared before teardown
 */
struct ddemux_net {
	struct ddemux_registry reg;
	int mode;
	int domain;
	struct ddemux_shares __rcu *shares;
	struct mutex shares_lock;	/* serialises writers of @shares */
	struct ddemux_stats __percpu *stats;
	struct ctl_table *sysctl_table;
	struct ctl_table_header *sysctl_hdr;
	struct proc_dir_entry *proc_dir;
	bool ready;
};

struct ddemux_net *ddemux_net(const struct net *net);
void ddemux_policy_of(struct ddemux_net *dn, struct ddemux_policy *pol);

static inline void ddemux_count(struct ddemux_net *dn, enum ddemux_stat s)
{
	this_cpu_inc(dn->stats->c[s]);
}

/* Module-wide fail-open accounting, shown in every namespace's stats. */
struct ddemux_global_stats {
	atomic_t hooks_missing;		/* optional hooks not installed */
	atomic64_t rollback_failed;	/* a kernel-chosen port could not be undone */
};

extern struct ddemux_global_stats ddemux_gstats;

enum ddemux_verdict ddemux_judge(struct ddemux_net *dn, struct net *net,
				 const void *owner,
				 const struct ddemux_aset *set,
				 unsigned int flags, const char *op);
void ddemux_learn(struct ddemux_net *dn, struct net *net, const void *owner,
		  const struct ddemux_aset *set, const char *op);
void ddemux_report(struct net *net, const char *op, enum ddemux_verdict v,
		   const struct ddemux_aset *set,
		   const struct ddemux_conflict *c);

int ddemux_hooks_init(void);
void ddemux_hooks_exit(void);
void ddemux_hooks_sync(void);
void ddemux_enumerate(struct net *net, struct ddemux_net *dn);
const char *ddemux_hook_status(unsigned int i, bool *live);

#endif /* _DDEMUX_KERN_H */
