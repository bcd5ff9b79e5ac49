/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ddemux - the socket adapter (ddemux_hooks.c): where the running kernel
 * hands ddemux its sockets
 */
#ifndef _DDEMUX_HOOKS_H
#define _DDEMUX_HOOKS_H

struct net;
struct ddemux_net;

int ddemux_hooks_init(void);
void ddemux_hooks_exit(void);
int ddemux_enumerate(struct net *net, struct ddemux_net *dn);

#endif /* _DDEMUX_HOOKS_H */
