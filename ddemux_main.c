// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - module life: parameters, init and exit, and their order
 *
 * Load: the core's defaults, then the state of every namespace (core,
 * then interface, then egress hooks), then the socket hooks
 * (ddemux_hooks.c), then the sockets that already exist.  Unload is the
 * reverse, and waits until no task runs ddemux code any more.  This file
 * calls every layer and is called by none.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "ddemux_core.h"
#include "ddemux_iface.h"
#include "ddemux_hooks.h"
#include "ddemux_egress.h"

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

static unsigned int max_entries = DDEMUX_MAX_ENTRIES;
module_param(max_entries, uint, 0444);
MODULE_PARM_DESC(max_entries,
		 "Most address sets recorded per network namespace (1-16777216, default 1048576)");

static int domain_max = 65536;
module_param(domain_max, int, 0444);
MODULE_PARM_DESC(domain_max,
		 "Initial net.ddemux.domain_max: most address sets of one domain per namespace (1-16777216, default 65536)");

/* ---- per-namespace life --------------------------------------------- */

static int __net_init ddemux_net_init(struct net *net)
{
	struct ddemux_net *dn = ddemux_net_state(net);
	int err;

	err = ddemux_core_init_net(net, dn);
	if (err)
		return err;
	err = ddemux_iface_init_net(net, dn);
	if (err)
		goto err_core;
	ddemux_core_publish(dn);
	err = ddemux_egress_init_net(net, dn);
	if (err)
		goto err_ready;
	return 0;

err_ready:
	ddemux_core_gates_refuse(true);
	ddemux_core_unpublish(dn);
	ddemux_hooks_sync();
	ddemux_core_gates_refuse(false);
	ddemux_iface_exit_net(net, dn);
err_core:
	ddemux_core_exit_net(dn);
	return err;
}

static void __net_exit ddemux_net_exit(struct net *net)
{
	struct ddemux_net *dn = ddemux_net_state(net);

	ddemux_core_gates_refuse(true);	/* no wait below waits for a load */
	ddemux_egress_exit_net(net, dn);	/* waits for packets in flight */
	ddemux_core_unpublish(dn);
	ddemux_hooks_sync();	/* no hook still holds @dn */
	ddemux_core_gates_refuse(false);
	ddemux_iface_exit_net(net, dn);
	ddemux_core_exit_net(dn);
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
 * namespace that exists, and in any set up meanwhile.  Claims in a
 * namespace wait until its walk is done; a walk that fails still lets
 * them go on (the load then fails), rather than hold them while the
 * hooks are taken out.
 */
static int enum_err;

static int __net_init ddemux_enum_init(struct net *net)
{
	struct ddemux_net *dn = ddemux_net(net);
	int err;

	if (!dn)
		return 0;
	err = ddemux_enumerate(net, dn);
	if (err && !enum_err)
		enum_err = err;
	ddemux_core_synced(dn);
	return 0;
}

static struct pernet_operations ddemux_enum_ops = {
	.init = ddemux_enum_init,
};

static int __init ddemux_init(void)
{
	const struct ddemux_defaults defaults = {
		.mode = mode,
		.domain = domain,
		.egress = egress,
		.domain_max = domain_max,
		.max_entries = max_entries,
	};
	int err;

	if (mode < DDEMUX_MODE_OFF || mode > DDEMUX_MODE_ENFORCE ||
	    domain < DDEMUX_DOM_UID || domain > DDEMUX_DOM_ALL ||
	    egress < 0 || egress > 1 ||
	    !max_entries || max_entries > (1U << 24) ||
	    domain_max < 1 || domain_max > (1 << 24)) {
		pr_err("parameter out of range: mode=%d domain=%d egress=%d max_entries=%u domain_max=%d\n",
		       mode, domain, egress, max_entries, domain_max);
		return -EINVAL;
	}
	err = ddemux_reg_module_init();
	if (err)
		return err;
	ddemux_core_init(&defaults);
	ddemux_core_loading(true);	/* until every walk is done */
	err = ddemux_egress_notifier_init();	/* before any device's hook */
	if (err)
		goto err_reg;
	err = register_pernet_subsys(&ddemux_net_ops);
	if (err)
		goto err_notifier;
	err = ddemux_egress_init();	/* packet sockets' redirects */
	if (err)
		goto err_pernet;
	err = ddemux_hooks_init();
	if (err)
		goto err_egress;
	err = register_pernet_subsys(&ddemux_enum_ops);
	ddemux_core_loading(false);
	if (!err) {
		unregister_pernet_subsys(&ddemux_enum_ops);
		err = enum_err;
	}
	if (err) {
		pr_err("cannot register the sockets that exist (%d): not loading\n",
		       err);
		goto err_hooks;
	}

	pr_info("loaded %s: mode=%d domain=%d egress=%d max_entries=%u domain_max=%d\n",
		DDEMUX_VERSION, mode, domain, egress, max_entries, domain_max);
	return 0;

err_hooks:
	ddemux_core_open_gates();	/* nobody waits for a walk now */
	ddemux_hooks_exit();
err_egress:
	ddemux_egress_exit();
err_pernet:
	unregister_pernet_subsys(&ddemux_net_ops);
err_notifier:
	ddemux_egress_notifier_exit();
err_reg:
	ddemux_reg_module_exit();
	return err;
}

static void __exit ddemux_exit(void)
{
	ddemux_hooks_exit();	/* no ddemux hook runs after this */
	ddemux_egress_exit();	/* nor a packet socket's redirect */
	unregister_pernet_subsys(&ddemux_net_ops);	/* nor a device's hook */
	ddemux_egress_notifier_exit();
	ddemux_reg_module_exit();	/* every registry is gone */
	pr_info("unloaded\n");
}

module_init(ddemux_init);
module_exit(ddemux_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Keep the socket address sets of security domains apart");
MODULE_AUTHOR("The ddemux developers");
MODULE_VERSION(DDEMUX_VERSION);
