// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - the interface: net.ddemux.* sysctls and /proc/net/ddemux
 *
 * What administrators see and change, per network namespace.  It reads
 * the core's state and counters and switches the egress hooks when the
 * knobs say so; nothing below it calls it.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/seq_file_net.h>
#include <linux/proc_fs.h>
#include <linux/capability.h>
#include <linux/uaccess.h>
#include <linux/ctype.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/sched/task_stack.h>
#include <linux/pid_namespace.h>
#include <net/net_namespace.h>

#include "ddemux_core.h"
#include "ddemux_egress.h"
#include "ddemux_iface.h"

/* ---- sysctl: net.ddemux.* -------------------------------------------- */

/* One knob: its range, and where it lives in struct ddemux_net. */
struct knob {
	int min, max;
	size_t offset;
};

static const struct knob knobs[] = {
	{ DDEMUX_MODE_OFF, DDEMUX_MODE_ENFORCE, offsetof(struct ddemux_net, mode) },
	{ DDEMUX_DOM_UID, DDEMUX_DOM_ALL, offsetof(struct ddemux_net, domain) },
	{ 0, 1, offsetof(struct ddemux_net, egress) },
	{ 1, 1 << 24, offsetof(struct ddemux_net, domain_max) },
};

/*
 * Who opened the file being written.  proc_sys_call_handler(), the one
 * caller that writes (6.1 and 6.12 alike), passes the position of the
 * write's kiocb, which names the file: for write(2), on the writer's own
 * stack.  Anything else -- an io_uring write, a kernel that changed
 * that -- is not trusted: NULL.
 */
static struct file *sysctl_file(loff_t *ppos)
{
	struct kiocb *iocb;

	if (!object_is_on_stack(ppos))
		return NULL;
	iocb = container_of(ppos, struct kiocb, ki_pos);
	if (!iocb->ki_filp ||
	    file_inode(iocb->ki_filp)->i_sb->s_magic != PROC_SUPER_MAGIC)
		return NULL;
	return iocb->ki_filp;
}

/*
 * Writes need CAP_NET_ADMIN in the initial user namespace, both of the
 * task that opened the file and of the task writing: the root of a
 * container (a namespace owned by another user namespace) can read its
 * settings but cannot weaken its own isolation, neither itself nor by
 * handing a descriptor to a privileged writer.  A value is one decimal
 * number in range, optionally followed by a newline; anything else is
 * -EINVAL and changes nothing.  The change is to the namespace the file
 * belongs to, whoever writes it.
 */
static int ddemux_sysctl_int(ddemux_ctl_table *table, int write, void *buffer,
			     size_t *lenp, loff_t *ppos)
{
	const struct knob *k = table->extra1;
	struct ddemux_net *dn = table->data - k->offset;
	struct file *file;
	const char *p = buffer;
	size_t len = *lenp, i;
	long val = 0;
	int old;

	if (!write)
		return proc_dointvec(table, write, buffer, lenp, ppos);
	file = sysctl_file(ppos);
	if (!file || !file_ns_capable(file, &init_user_ns, CAP_NET_ADMIN) ||
	    !capable(CAP_NET_ADMIN))
		return -EPERM;
	if (*ppos)
		return -EINVAL;		/* no partial or continued writes */
	if (len && p[len - 1] == '\n')
		len--;
	if (!len || len > 9)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (!isdigit(p[i]))
			return -EINVAL;
		val = val * 10 + (p[i] - '0');
	}
	if (val < k->min || val > k->max)
		return -EINVAL;

	old = xchg((int *)table->data, (int)val);
	if (old != val) {
		pr_notice("%s: %d -> %ld (netns=%u pid=%u uid=%u)\n",
			  table->procname, old, val, dn->net->ns.inum,
			  task_tgid_nr(current),
			  from_kuid_munged(&init_user_ns, current_uid()));
		/* the egress hooks exist only while rule 3 is on */
		if (table->data == &dn->mode || table->data == &dn->egress)
			ddemux_egress_update(dn->net, dn);
		/* the quota is the registry's */
		if (table->data == &dn->domain || table->data == &dn->domain_max)
			ddemux_core_update(dn);
	}
	*ppos += *lenp;
	return 0;
}

#define KNOB(name, i) {							\
	.procname = name, .maxlen = sizeof(int), .mode = 0644,		\
	.proc_handler = ddemux_sysctl_int, .extra1 = (void *)&knobs[i],	\
}

static const struct ctl_table ddemux_sysctl_template[] = {
	KNOB("mode", 0),
	KNOB("domain", 1),
	KNOB("egress", 2),
	KNOB("domain_max", 3),
	{ }	/* sentinel, registered only where the kernel wants one */
};

static int ddemux_sysctl_init(struct net *net, struct ddemux_net *dn)
{
	const size_t n = ARRAY_SIZE(ddemux_sysctl_template) - 1;
	size_t i;

	dn->sysctl_table = kmemdup(ddemux_sysctl_template,
				   sizeof(ddemux_sysctl_template), GFP_KERNEL);
	if (!dn->sysctl_table)
		return -ENOMEM;
	/* point at this namespace's values (required outside init_net) */
	for (i = 0; i < n; i++)
		dn->sysctl_table[i].data = (void *)dn + knobs[i].offset;
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
	[DDEMUX_ST_OVERLAPS_AT_LOAD] = "overlaps_at_load",
	[DDEMUX_ST_LOAD_REFUSED] = "load_refused",
	[DDEMUX_ST_PORTS_REVOKED] = "ports_revoked",
	[DDEMUX_ST_LOG_SUPPRESSED] = "log_suppressed",
	[DDEMUX_ST_EGRESS_CHECKED] = "egress_checked",
	[DDEMUX_ST_EGRESS_DROPPED] = "egress_dropped",
	[DDEMUX_ST_EGRESS_AUDITED] = "egress_audited",
	[DDEMUX_ST_XSK_REFUSED] = "xsk_refused",
	[DDEMUX_ST_XSK_AUDITED] = "xsk_audited",
	[DDEMUX_ST_XSK_AT_LOAD] = "xsk_at_load",
};

static int stats_show(struct seq_file *seq, void *v)
{
	struct ddemux_net *dn = ddemux_net_state(seq_file_single_net(seq));
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
	seq_printf(seq, "domain_quota %lld\n",
		   atomic64_read(&dn->reg.quota_hits));
	seq_printf(seq, "rollback_failed %lld\n",
		   atomic64_read(&ddemux_gstats.rollback_failed));
	seq_printf(seq, "egress_hook_errors %d\n",
		   atomic_read(&ddemux_gstats.egress_hook_errors));
	return 0;
}

static int shares_show(struct seq_file *seq, void *v)
{
	struct ddemux_net *dn = ddemux_net_state(seq_file_single_net(seq));
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
	struct ddemux_net *dn = ddemux_net_state(net);
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

/**
 * struct sockets_iter - a reader of /proc/net/ddemux/sockets
 * @net: the namespace, referenced while the file is open
 * @walk: the registry walk (ddemux_reg_iter_start())
 * @walking: @walk holds what ddemux_reg_iter_stop() releases
 * @all: the opener has CAP_NET_ADMIN over the namespace: every row
 * @uid: else, the only uid whose rows it sees (the opener's fsuid)
 * @pidns: pids are shown as this pid namespace (the opener's) sees them
 */
struct sockets_iter {
	struct net *net;
	struct ddemux_reg_iter walk;
	bool walking;
	bool all;
	kuid_t uid;
	struct pid_namespace *pidns;
};

/* Row @pos of the walk (@pos 0 is the header). */
static void *sockets_at(struct sockets_iter *it, loff_t pos)
{
	struct ddemux_net *dn = ddemux_net_state(it->net);

	it->walking = true;
	return ddemux_reg_iter_start(&dn->reg, &it->walk, pos - 1) ?
	       &it->walk : NULL;
}

static void *sockets_start(struct seq_file *seq, loff_t *pos)
{
	struct sockets_iter *it = seq->private;

	return *pos ? sockets_at(it, *pos) : SEQ_START_TOKEN;
}

static void *sockets_next(struct seq_file *seq, void *v, loff_t *pos)
{
	struct sockets_iter *it = seq->private;

	++*pos;
	if (v == SEQ_START_TOKEN)
		return sockets_at(it, *pos);
	return ddemux_reg_iter_next(&it->walk) ? &it->walk : NULL;
}

static void sockets_stop(struct seq_file *seq, void *v)
{
	struct sockets_iter *it = seq->private;

	if (it->walking)
		ddemux_reg_iter_stop(&it->walk);
	it->walking = false;
}

static int sockets_show(struct seq_file *seq, void *v)
{
	struct sockets_iter *it = seq->private;
	struct ddemux_snap_row row;
	const struct ddemux_aset *s = &row.set;
	char local[64], remote[64];
	struct pid *pid;

	if (v == SEQ_START_TOKEN) {
		seq_puts(seq, "proto local remote dev state uid cgroup opt pid addrs\n");
		return 0;
	}
	ddemux_reg_iter_row(&it->walk, &row);
	if (!it->all && !uid_eq(s->dom.uid, it->uid))
		return 0;
	/* under the walk's rcu_read_lock() */
	pid = row.pid ? find_pid_ns(row.pid, &init_pid_ns) : NULL;
	ddemux_aset_format_local(s, local, sizeof(local));
	ddemux_aset_format_remote(s, remote, sizeof(remote));
	seq_printf(seq, "%s %s %s %d %s%s %u %llu %s %d ",
		   ddemux_proto_name(s->proto), local, remote, s->dev,
		   ddemux_state_name(s->state), row.pending ? "+pending" : "",
		   from_kuid_munged(seq_user_ns(seq), s->dom.uid), s->dom.cgid,
		   ddemux_flags_text(s->flags),
		   pid ? pid_nr_ns(pid, it->pidns) : 0);
	/* the parts of a set of several addresses: "1/2" ... */
	if (s->parts)
		seq_printf(seq, "%u/%u\n", s->part + 1, s->parts);
	else
		seq_puts(seq, "-\n");
	return 0;
}

static const struct seq_operations sockets_seq_ops = {
	.start = sockets_start,
	.next = sockets_next,
	.stop = sockets_stop,
	.show = sockets_show,
};

/*
 * The listing walks the registry as it is read, port by port, holding a
 * port's lock only while its rows are printed: nothing is copied, and
 * no claim waits on a reader for long.  A reader with CAP_NET_ADMIN over
 * the namespace's owner sees every row; any other reader only its own
 * uid's, so that the file neither defeats hidepid= nor shows a host's
 * users what other namespaces hold.  Pids are the opener's view (0 for
 * a process it cannot see).  The file holds a reference on its
 * namespace, as the kernel's own /proc/net files do.
 */
static int sockets_open(struct inode *inode, struct file *file)
{
	struct net *net = maybe_get_net(proc_get_parent_data(inode));
	struct sockets_iter *it;

	if (!net)
		return -ENXIO;
	it = __seq_open_private(file, &sockets_seq_ops, sizeof(*it));
	if (!it) {
		put_net(net);
		return -ENOMEM;
	}
	it->net = net;
	it->all = file_ns_capable(file, net->user_ns, CAP_NET_ADMIN);
	it->uid = file->f_cred->fsuid;
	it->pidns = get_pid_ns(task_active_pid_ns(current));
	return 0;
}

static int sockets_release(struct inode *inode, struct file *file)
{
	struct sockets_iter *it = ((struct seq_file *)file->private_data)->private;
	struct net *net = it->net;

	put_pid_ns(it->pidns);
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

int ddemux_iface_init_net(struct net *net, struct ddemux_net *dn)
{
	int err;

	err = ddemux_sysctl_init(net, dn);
	if (err)
		return err;
	err = ddemux_proc_init(net, dn);
	if (err)
		ddemux_sysctl_exit(dn);
	return err;
}

void ddemux_iface_exit_net(struct net *net, struct ddemux_net *dn)
{
	remove_proc_subtree("ddemux", net->proc_net);
	ddemux_sysctl_exit(dn);
}
