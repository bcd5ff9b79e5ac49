/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ddemux - the netfilter adapter (ddemux_egress.c): rule 3 on egress
 */
#ifndef _DDEMUX_EGRESS_H
#define _DDEMUX_EGRESS_H

struct net;
struct ddemux_net;

int ddemux_egress_notifier_init(void);
void ddemux_egress_notifier_exit(void);
int ddemux_egress_init(void);
void ddemux_egress_exit(void);
int ddemux_egress_init_net(struct net *net, struct ddemux_net *dn);
void ddemux_egress_update(struct net *net, struct ddemux_net *dn);
void ddemux_egress_exit_net(struct net *net, struct ddemux_net *dn);

#endif /* _DDEMUX_EGRESS_H */
