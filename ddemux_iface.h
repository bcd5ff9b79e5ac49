/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ddemux - the interface (ddemux_iface.c): sysctls and /proc/net/ddemux
 */
#ifndef _DDEMUX_IFACE_H
#define _DDEMUX_IFACE_H

struct net;
struct ddemux_net;

int ddemux_iface_init_net(struct net *net, struct ddemux_net *dn);
void ddemux_iface_exit_net(struct net *net, struct ddemux_net *dn);

#endif /* _DDEMUX_IFACE_H */
