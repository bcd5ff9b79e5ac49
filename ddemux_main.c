// SPDX-License-Identifier: GPL-2.0-only
/*
 * ddemux - module life, per-namespace state
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "ddemux_compat.h"
#include "ddemux.h"

static unsigned int max_entries = 262144;
module_param(max_entries, uint, 0444);
MODULE_PARM_DESC(max_entries,
		 "Most address sets recorded per network namespace (1-16777216, default 262144)");

struct ddemux_net {
	struct ddemux_registry reg;
};

static unsigned int ddemux_net_id __read_mostly;

static int __net_init ddemux_net_init(struct net *net)
{
	struct ddemux_net *dn = net_generic(net, ddemux_net_id);

	return ddemux_reg_init(&dn->reg, max_entries);
}

static void __net_exit ddemux_net_exit(struct net *net)
{
	struct ddemux_net *dn = net_generic(net, ddemux_net_id);

	ddemux_reg_destroy(&dn->reg);
}

static struct pernet_operations ddemux_net_ops = {
	.init = ddemux_net_init,
	.exit = ddemux_net_exit,
	.id = &ddemux_net_id,
	.size = sizeof(struct ddemux_net),
};

static int __init ddemux_init(void)
{
	if (!max_entries || max_entries > (1U << 24))
		return -EINVAL;
	return register_pernet_subsys(&ddemux_net_ops);
}

static void __exit ddemux_exit(void)
{
	unregister_pernet_subsys(&ddemux_net_ops);
}

module_init(ddemux_init);
module_exit(ddemux_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Keep the socket address sets of security domains apart");
MODULE_AUTHOR("The ddemux developers");
MODULE_VERSION(DDEMUX_VERSION);
