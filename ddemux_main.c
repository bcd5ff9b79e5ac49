// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - module life, per-namespace state, sysctls, /proc, reports
 *
 * Load order: the per-namespace state of every namespace, then the hooks
 * (ddemux_hooks.c), then the sockets that already exist.  Unload is the
 * reverse, and waits until no task runs ddemux code any more.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <linux/proc_fs.h>
#include <linux/audit.h>
#include <linux/ratelimit.h>
#include <linux/capability.h>
#include <linux/uaccess.h>
#include <linux/ctype.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "ddemux_kern.h"

static int mode = DDEMUX_MODE_ENFORCE;
module_param(mode, int, 0444);
MODULE_PARM_DESC(mode,
		 "Initial net.ddemux.mode: 0 off, 1 audit, 2 enforce (0-2, default 2)");

static int domain = DDEMUX_DOM_UID;
module_param(domain, int, 0444);
MODULE_PARM_DESC(domain,
		 "Initial net.ddemux.domain: 1 uid, 2 cgroup, 3 both (1-3, default 1)");

static int egress = 1;
module_param(egress, int, 0444);
MODULE_PARM_DESC(egress,
		 "Initial net.ddemux.egress: rule 3 on egress, 0 off, 1 on (0-1, default 1)");

static unsigned int max_entries = 262144;
module_param(max_entries, uint, 0444);
MODULE_PARM_DESC(max_entries,
		 "Most address sets recorded per network namespace (1-16777216, default 262144)");

static unsigned int ddemux_net_id __read_mostly;
struct ddemux_global_stats ddemux_gstats;

/* Reports: ten lines a second, bursts of fifty; the rest are counted. */
static DEFINE_RATELIMIT_STATE(ddemux_report_rs, HZ / 10, 50);

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
	/* pairs with the release at the end of ddemux_net_init() */
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
 * The start of every report: false when the rate limit suppresses it
 * (counted in log_suppressed); else @comm holds the task's name.
 */
static bool report_begin(struct net *net, char (*comm)[TASK_COMM_LEN])
{
	struct ddemux_net *dn = ddemux_net(net);

	if (!__ratelimit(&ddemux_report_rs)) {
		if (dn)
			ddemux_count(dn, DDEMUX_ST_LOG_SUPPRESSED);
		return false;
	}
	safe_comm(comm);
	return true;
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

static const char *flags_text(u8 flags)
{
	static const char *const text[] = {
		"-", "reuseaddr", "reuseport", "reuseaddr,reuseport",
	};

	return text[flags & DDEMUX_OPTIN];
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

	if (!report_begin(net, &comm))
		return;
	ddemux_aset_format(set, mine, sizeof(mine));
	ddemux_aset_format(&c->holder, theirs, sizeof(theirs));

	pr_notice("%s %s netns=%u reason=%s pid=%u comm=%s uid=%u cgroup=%llu set=\"%s\" opt=%s holder_uid=%u holder_cgroup=%llu holder_pid=%u holder_set=\"%s\" holder_opt=%s%s\n",
		  what[v], op, net->ns.inum, ddemux_reason_name(c->reason),
		  current_pid(), comm,
		  from_kuid_munged(&init_user_ns, set->dom.uid), set->dom.cgid,
		  mine, flags_text(set->flags),
		  from_kuid_munged(&init_user_ns, c->holder.dom.uid),
		  c->holder.dom.cgid, c->holder_pid, theirs,
		  flags_text(c->holder.flags),
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
 * @pkt: the packet
 * @holder: the set, of another domain, that its reply would reach
 *
 *   ddemux: deny egress netns=4026531840 via=raw pid=812 comm=forge
 *   uid=1001 cgroup=57 pkt="udp 10.0.0.1:5353 > 10.0.0.2:53"
 *   holder_uid=1000 holder_cgroup=57 holder_set="udp 0.0.0.0:5353 *:*"
 *
 * pid and comm are those of the task sending, when a task sends (not for
 * a TCP retransmission from a timer, say); "-" otherwise.  Any context.
 */
void ddemux_report_egress(struct net *net, enum ddemux_verdict v,
			  const char *via, const struct ddemux_domain *dom,
			  const struct ddemux_pkt *pkt,
			  const struct ddemux_aset *holder)
{
	char comm[TASK_COMM_LEN], theirs[128], what[112];
	struct audit_buffer *ab;

	if (!report_begin(net, &comm))
		return;
	ddemux_aset_format(holder, theirs, sizeof(theirs));
	if (pkt->fam == DDEMUX_FAM_V4)
		scnprintf(what, sizeof(what), "%s %pI4:%u > %pI4:%u",
			  ddemux_proto_name(pkt->proto),
			  &pkt->saddr.s6_addr32[3], pkt->sport,
			  &pkt->daddr.s6_addr32[3], pkt->dport);
	else
		scnprintf(what, sizeof(what), "%s [%pI6c]:%u > [%pI6c]:%u",
			  ddemux_proto_name(pkt->proto), &pkt->saddr,
			  pkt->sport, &pkt->daddr, pkt->dport);

	pr_notice("%s egress netns=%u via=%s pid=%u comm=%s uid=%u cgroup=%llu pkt=\"%s\" holder_uid=%u holder_cgroup=%llu holder_set=\"%s\"\n",
		  v == DDEMUX_DENY ? "deny" : "audit", net->ns.inum, via,
		  current_pid(), comm, from_kuid_munged(&init_user_ns, dom->uid),
		  dom->cgid, what,
		  from_kuid_munged(&init_user_ns, holder->dom.uid),
		  holder->dom.cgid, theirs);

	ab = report_audit_start();
	if (!ab)
		return;
	audit_log_format(ab, "op=ddemux_egress verdict=%s netns=%u via=%s",
			 v == DDEMUX_DENY ? "deny" : "audit", net->ns.inum, via);
	audit_log_format(ab, " sock_uid=%u sock_cgroup=%llu pkt=\"%s\"",
			 from_kuid_munged(&init_user_ns, dom->uid), dom->cgid,
			 what);
	audit_log_format(ab, " holder_uid=%u holder_cgroup=%llu holder_set=\"%s\"",
			 from_kuid_munged(&init_user_ns, holder->dom.uid),
			 holder->dom.cgid, theirs);
	report_audit_end(ab, comm);
}

/**
 * ddemux_judge - decide a port claim, record it, count and report
 * @dn: the namespace's state
 * @net: the namespace
 * @owner: the socket
 * @set: its address set
 * @flags: DDEMUX_CLAIM_*
 * @op: what the socket is doing, for the report
 *
 * Returns the verdict; on DENY nothing was recorded.
 */
enum ddemux_verdict ddemux_judge(struct ddemux_net *dn, struct net *net,
				 const void *owner,
				 const struct ddemux_aset *set,
				 unsigned int flags, const char *op)
{
	struct ddemux_policy pol;
	struct ddemux_conflict c;
	enum ddemux_verdict v;

	rcu_read_lock();
	ddemux_policy_of(dn, &pol);
	v = ddemux_reg_claim(&dn->reg, owner, set, current_pid(), flags, &pol,
			     &c);
	rcu_read_unlock();

	ddemux_count(dn, DDEMUX_ST_BINDS_CHECKED);
	if (v == DDEMUX_DENY) {
		ddemux_count(dn, DDEMUX_ST_BINDS_VETOED);
		ddemux_report(net, op, v, set, &c);
	} else if (v == DDEMUX_AUDIT) {
		ddemux_count(dn, DDEMUX_ST_BINDS_AUDITED);
		ddemux_report(net, op, v, set, &c);
	} else if (c.reason == DDEMUX_R_SHARED) {
		ddemux_count(dn, DDEMUX_ST_BINDS_SHARED);
	}
	return v;
}

/**
 * ddemux_learn - record a change the kernel has already made
 * @dn: the namespace's state
 * @net: the namespace
 * @owner: the socket
 * @set: its new address set
 * @op: the change, for the report
 *
 * For changes that cannot be refused (connect, disconnect, device
 * binding, accepted children, sockets found at load): the set is
 * recorded whatever the verdict.  If it overlaps another domain's set
 * under enforce or audit mode, that is counted and reported.
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
			     DDEMUX_CLAIM_FORCE, &pol, &c);
	rcu_read_unlock();
	if (v != DDEMUX_ALLOW) {
		ddemux_count(dn, DDEMUX_ST_OVERLAPS_OBSERVED);
		ddemux_report(net, op, DDEMUX_ALLOW, set, &c);
	}
}

/* ---- sysctl: net.ddemux.* -------------------------------------------- */

static int sysctl_max[] = { DDEMUX_MODE_ENFORCE, DDEMUX_DOM_ALL, 1 };

/*
 * Writes need CAP_NET_ADMIN in the initial user namespace: the root of a
 * container (a namespace owned by another user namespace) can read its
 * settings but cannot weaken its own isolation.  A value is one decimal
 * number in range, optionally followed by a newline; anything else is
 * -EINVAL and changes nothing.
 */
static int ddemux_sysctl_int(ddemux_ctl_table *table, int write, void *buffer,
			     size_t *lenp, loff_t *ppos)
{
	int min = *(int *)table->extra1, max = *(int *)table->extra2;
	const char *p = buffer;
	size_t len = *lenp, i;
	int val = 0, old;

	if (!write)
		return proc_dointvec(table, write, buffer, lenp, ppos);
	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	if (*ppos)
		return -EINVAL;		/* no partial or continued writes */
	if (len && p[len - 1] == '\n')
		len--;
	if (!len || len > 3)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!isdigit(p[i]))
			return -EINVAL;
		val = val * 10 + (p[i] - '0');
	}
	if (val < min || val > max)
		return -EINVAL;

	old = xchg((int *)table->data, val);
	if (old != val) {
		struct net *net = current->nsproxy->net_ns;

		pr_notice("%s: %d -> %d (netns=%u pid=%u uid=%u)\n",
			  table->procname, old, val, net->ns.inum,
			  task_tgid_nr(current),
			  from_kuid_munged(&init_user_ns, current_uid()));
		/* the egress hooks exist only while rule 3 is on */
		if (table->data == &ddemux_net_state(net)->mode ||
		    table->data == &ddemux_net_state(net)->egress)
			ddemux_egress_update(net, ddemux_net_state(net));
	}
	*ppos += *lenp;
	return 0;
}

static const struct ctl_table ddemux_sysctl_template[] = {
	{
		.procname = "mode",
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = ddemux_sysctl_int,
		.extra1 = SYSCTL_ZERO,
		.extra2 = &sysctl_max[0],
	},
	{
		.procname = "domain",
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = ddemux_sysctl_int,
		.extra1 = SYSCTL_ONE,
		.extra2 = &sysctl_max[1],
	},
	{
		.procname = "egress",
		.maxlen = sizeof(int),
		.mode = 0644,
		.proc_handler = ddemux_sysctl_int,
		.extra1 = SYSCTL_ZERO,
		.extra2 = &sysctl_max[2],
	},
	{ }	/* sentinel, registered only where the kernel wants one */
};

static int ddemux_sysctl_init(struct net *net, struct ddemux_net *dn)
{
	const size_t n = ARRAY_SIZE(ddemux_sysctl_template) - 1;

	dn->sysctl_table = kmemdup(ddemux_sysctl_template,
				   sizeof(ddemux_sysctl_template), GFP_KERNEL);
	if (!dn->sysctl_table)
		return -ENOMEM;
	/* point at this namespace's values (required outside init_net) */
	dn->sysctl_table[0].data = &dn->mode;
	dn->sysctl_table[1].data = &dn->domain;
	dn->sysctl_table[2].data = &dn->egress;
	dn->sysctl_hdr = ddemux_register_net_sysctl(net, "net/ddemux",
						    dn->sysctl_table,
						    n + DDEMUX_SYSCTL_SENTINEL);
	if (!dn->sysctl_hdr) {
		kfree(dn->sysctl_table);
		return -ENOMEM;
	}
	return 0;
}

static void ddemux_sysctl_exit(struct ddemux_net *dn)
{
	unregister_net_sysctl_table(dn->sysctl_hdr);
	kfree(dn->sysctl_table);
}

/* ---- /proc/net/ddemux ------------------------------------------------ */

static const char *const stat_names[DDEMUX_NSTATS] = {
	[DDEMUX_ST_BINDS_CHECKED] = "binds_checked",
	[DDEMUX_ST_BINDS_VETOED] = "binds_vetoed",
	[DDEMUX_ST_BINDS_AUDITED] = "binds_audited",
	[DDEMUX_ST_BINDS_SHARED] = "binds_shared",
	[DDEMUX_ST_AUTOBIND_RETRIES] = "autobind_retries",
	[DDEMUX_ST_OVERLAPS_OBSERVED] = "overlaps_observed",
	[DDEMUX_ST_ENUMERATED] = "enumerated",
	[DDEMUX_ST_LOG_SUPPRESSED] = "log_suppressed",
	[DDEMUX_ST_EGRESS_CHECKED] = "egress_checked",
	[DDEMUX_ST_EGRESS_DROPPED] = "egress_dropped",
	[DDEMUX_ST_EGRESS_AUDITED] = "egress_audited",
};

static int stats_show(struct seq_file *seq, void *v)
{
	struct ddemux_net *dn = net_generic(seq_file_single_net(seq),
					    ddemux_net_id);
	u64 sum[DDEMUX_NSTATS] = { };
	int cpu, i;

	for_each_possible_cpu(cpu)
		for (i = 0; i < DDEMUX_NSTATS; i++)
			sum[i] += per_cpu_ptr(dn->stats, cpu)->c[i];
	for (i = 0; i < DDEMUX_NSTATS; i++)
		seq_printf(seq, "%s %llu\n", stat_names[i], sum[i]);
	seq_printf(seq, "registry_entries %u\n", ddemux_reg_count(&dn->reg));
	seq_printf(seq, "registry_max %u\n", dn->reg.max);
	seq_printf(seq, "registry_full %lld\n", atomic64_read(&dn->reg.full));
	seq_printf(seq, "registry_nomem %lld\n", atomic64_read(&dn->reg.nomem));
	seq_printf(seq, "hooks_missing %d\n",
		   atomic_read(&ddemux_gstats.hooks_missing));
	seq_printf(seq, "rollback_failed %lld\n",
		   atomic64_read(&ddemux_gstats.rollback_failed));
	seq_printf(seq, "egress_hook_errors %d\n",
		   atomic_read(&ddemux_gstats.egress_hook_errors));
	return 0;
}

static int shares_show(struct seq_file *seq, void *v)
{
	struct ddemux_net *dn = net_generic(seq_file_single_net(seq),
					    ddemux_net_id);
	const struct ddemux_shares *rules;
	char *buf;
	int n;

	buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	mutex_lock(&dn->shares_lock);
	rules = rcu_dereference_protected(dn->shares,
					  lockdep_is_held(&dn->shares_lock));
	n = ddemux_shares_format(rules, buf, PAGE_SIZE);
	mutex_unlock(&dn->shares_lock);
	if (n > 0)
		seq_write(seq, buf, n);
	kfree(buf);
	return n < 0 ? n : 0;
}

/*
 * A write is parsed and applied to a private copy; only a fully valid
 * write is published, so a malformed one changes nothing.  Readers (the
 * hooks) see the old or the new rules, never a mix.
 */
static int shares_write(struct file *file, char *buf, size_t size)
{
	struct net *net = seq_file_single_net(file->private_data);
	struct ddemux_net *dn = net_generic(net, ddemux_net_id);
	struct ddemux_shares *old, *new;
	int err;

	if (!file_ns_capable(file, &init_user_ns, CAP_NET_ADMIN))
		return -EPERM;
	new = kzalloc(sizeof(*new), GFP_KERNEL);
	if (!new)
		return -ENOMEM;
	mutex_lock(&dn->shares_lock);
	old = rcu_dereference_protected(dn->shares,
					lockdep_is_held(&dn->shares_lock));
	if (old)
		*new = *old;
	err = ddemux_shares_apply(new, buf, size);
	if (!err)
		rcu_assign_pointer(dn->shares, new);
	mutex_unlock(&dn->shares_lock);
	if (err) {
		kfree(new);
		return err;
	}
	pr_notice("shares changed (netns=%u pid=%u uid=%u)\n", net->ns.inum,
		  task_tgid_nr(current),
		  from_kuid_munged(&init_user_ns, current_uid()));
	synchronize_rcu();
	kfree(old);
	return 0;
}

struct sockets_iter {
	struct net *net;
	struct ddemux_snap_row *rows;
	unsigned int nr;
};

static void *sockets_start(struct seq_file *seq, loff_t *pos)
{
	struct sockets_iter *it = seq->private;

	if (!*pos)
		return SEQ_START_TOKEN;
	return *pos <= it->nr ? &it->rows[*pos - 1] : NULL;
}

static void *sockets_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct sockets_iter *it = seq->private;

	++*pos;
	return *pos <= it->nr ? &it->rows[*pos - 1] : NULL;
}

static void sockets_stop(struct seq_file *seq, void *v)
{
}

static int sockets_show(struct seq_file *seq, void *v)
{
	const struct ddemux_snap_row *row = v;
	const struct ddemux_aset *s;
	char local[64], remote[64];

	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "proto local remote dev state uid cgroup opt pid\n");
		return 0;
	}
	s = &row->set;
	ddemux_aset_format_local(s, local, sizeof(local));
	ddemux_aset_format_remote(s, remote, sizeof(remote));
	seq_printf(seq, "%s %s %s %d %s%s %u %llu %s %u\n",
		   ddemux_proto_name(s->proto), local, remote, s->dev,
		   ddemux_state_name(s->state), row->pending ? "+pending" : "",
		   from_kuid_munged(seq_user_ns(seq), s->dom.uid), s->dom.cgid,
		   flags_text(s->flags), row->pid);
	return 0;
}

static const struct seq_operations sockets_seq_ops = {
	.start = sockets_start,
	.next = sockets_next,
	.stop = sockets_stop,
	.show = sockets_show,
};

/*
 * The listing is a snapshot taken at open: one instant of the registry,
 * so a long read never shows an entry twice, misses a stable one or
 * prints a torn one.  The file holds a reference on its namespace, as
 * the kernel's own /proc/net files do.
 */
static int sockets_open(struct inode *inode, struct file *file)
{
	struct net *net = maybe_get_net(proc_get_parent_data(inode));
	struct sockets_iter *it;
	struct ddemux_net *dn;
	int err;

	if (!net)
		return -ENXIO;
	it = __seq_open_private(file, &sockets_seq_ops, sizeof(*it));
	if (!it) {
		put_net(net);
		return -ENOMEM;
	}
	it->net = net;
	dn = net_generic(net, ddemux_net_id);
	err = ddemux_reg_snapshot(&dn->reg, &it->rows, &it->nr);
	if (err) {
		seq_release_private(inode, file);
		put_net(net);
	}
	return err;
}

static int sockets_release(struct inode *inode, struct file *file)
{
	struct sockets_iter *it = ((struct seq_file *)file->private_data)->private;
	struct net *net = it->net;

	kvfree(it->rows);
	seq_release_private(inode, file);
	put_net(net);
	return 0;
}

static const struct proc_ops sockets_proc_ops = {
	.proc_open = sockets_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = sockets_release,
};

static int ddemux_proc_init(struct net *net, struct ddemux_net *dn)
{
	dn->proc_dir = proc_net_mkdir(net, "ddemux", net->proc_net);
	if (!dn->proc_dir)
		return -ENOMEM;
	if (!proc_create_net_single("stats", 0444, dn->proc_dir, stats_show,
				    NULL) ||
	    !proc_create_net_single_write("shares", 0644, dn->proc_dir,
					  shares_show, shares_write, NULL) ||
	    !proc_create_data("sockets", 0444, dn->proc_dir,
			      &sockets_proc_ops, NULL)) {
		remove_proc_subtree("ddemux", net->proc_net);
		return -ENOMEM;
	}
	return 0;
}

/* ---- per-namespace life --------------------------------------------- */

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
		dn->mode = mode;
		dn->domain = domain;
		dn->egress = egress;
		return 0;
	}
	dn->mode = READ_ONCE(init->mode);
	dn->domain = READ_ONCE(init->domain);
	dn->egress = READ_ONCE(init->egress);
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

static int __net_init ddemux_net_init(struct net *net)
{
	struct ddemux_net *dn = net_generic(net, ddemux_net_id);
	int err;

	dn->net = net;
	mutex_init(&dn->shares_lock);
	err = ddemux_inherit(net, dn);
	if (err)
		return err;
	dn->stats = alloc_percpu(struct ddemux_stats);
	if (!dn->stats) {
		err = -ENOMEM;
		goto err_shares;
	}
	err = ddemux_reg_init(&dn->reg, max_entries);
	if (err)
		goto err_stats;
	err = ddemux_sysctl_init(net, dn);
	if (err)
		goto err_reg;
	err = ddemux_proc_init(net, dn);
	if (err)
		goto err_sysctl;
	/* publish: everything above is visible to whoever sees @ready */
	smp_store_release(&dn->ready, true);
	err = ddemux_egress_init_net(net, dn);
	if (err)
		goto err_ready;
	return 0;

err_ready:
	WRITE_ONCE(dn->ready, false);
	ddemux_hooks_sync();
	remove_proc_subtree("ddemux", net->proc_net);
err_sysctl:
	ddemux_sysctl_exit(dn);
err_reg:
	ddemux_reg_destroy(&dn->reg);
err_stats:
	free_percpu(dn->stats);
err_shares:
	kfree(rcu_dereference_protected(dn->shares, true));
	return err;
}

static void __net_exit ddemux_net_exit(struct net *net)
{
	struct ddemux_net *dn = net_generic(net, ddemux_net_id);

	ddemux_egress_exit_net(net, dn);	/* waits for packets in flight */
	WRITE_ONCE(dn->ready, false);
	ddemux_hooks_sync();	/* no hook still holds @dn */
	remove_proc_subtree("ddemux", net->proc_net);
	ddemux_sysctl_exit(dn);
	ddemux_reg_destroy(&dn->reg);	/* waits for lock-free readers */
	free_percpu(dn->stats);
	kfree(rcu_dereference_protected(dn->shares, true));
}

static struct pernet_operations ddemux_net_ops = {
	.init = ddemux_net_init,
	.exit = ddemux_net_exit,
	.id = &ddemux_net_id,
	.size = sizeof(struct ddemux_net),
};

/*
 * Sockets that exist at load: a second set of per-namespace operations,
 * registered once the hooks are live (so nothing falls between the two)
 * and unregistered right away; registering runs .init in every
 * namespace that exists.
 */
static int __net_init ddemux_enum_init(struct net *net)
{
	struct ddemux_net *dn = ddemux_net(net);

	if (dn)
		ddemux_enumerate(net, dn);
	return 0;
}

static struct pernet_operations ddemux_enum_ops = {
	.init = ddemux_enum_init,
};

static int __init ddemux_init(void)
{
	int err;

	if (mode < DDEMUX_MODE_OFF || mode > DDEMUX_MODE_ENFORCE ||
	    domain < DDEMUX_DOM_UID || domain > DDEMUX_DOM_ALL ||
	    egress < 0 || egress > 1 ||
	    !max_entries || max_entries > (1U << 24)) {
		pr_err("parameter out of range: mode=%d domain=%d egress=%d max_entries=%u\n",
		       mode, domain, egress, max_entries);
		return -EINVAL;
	}
	err = register_pernet_subsys(&ddemux_net_ops);
	if (err)
		return err;
	err = ddemux_egress_init();	/* devices' egress hooks */
	if (err)
		goto err_pernet;
	err = ddemux_hooks_init();
	if (err)
		goto err_egress;
	err = register_pernet_subsys(&ddemux_enum_ops);
	if (err)
		goto err_hooks;
	unregister_pernet_subsys(&ddemux_enum_ops);

	pr_info("loaded %s: mode=%d domain=%d egress=%d max_entries=%u hooks_missing=%d\n",
		DDEMUX_VERSION, mode, domain, egress, max_entries,
		atomic_read(&ddemux_gstats.hooks_missing));
	return 0;

err_hooks:
	ddemux_hooks_exit();
err_egress:
	ddemux_egress_exit();
err_pernet:
	unregister_pernet_subsys(&ddemux_net_ops);
	return err;
}

static void __exit ddemux_exit(void)
{
	ddemux_hooks_exit();	/* no ddemux hook runs after this */
	ddemux_egress_exit();	/* nor a device's egress hook */
	unregister_pernet_subsys(&ddemux_net_ops);
	pr_info("unloaded\n");
}

module_init(ddemux_init);
module_exit(ddemux_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Keep the socket address sets of security domains apart");
MODULE_AUTHOR("The ddemux developers");
MODULE_VERSION(DDEMUX_VERSION);
