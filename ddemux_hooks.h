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

/* ddemux_sctp.c, the SCTP part of this adapter */
struct sock;
int ddemux_sctp_init(void);
void ddemux_sctp_exit(void);
int ddemux_sctp_enumerate(struct net *net, struct ddemux_net *dn);
int ddemux_sctp_set_device(struct ddemux_net *dn, struct sock *sk,
			   int ifindex, bool locked);

/* ddemux_l2tp.c, L2TP/IP's part */
int ddemux_l2tp_init(void);
void ddemux_l2tp_exit(void);
int ddemux_l2tp_disconnect(struct sock *sk, int flags);

#endif /* _DDEMUX_HOOKS_H */
