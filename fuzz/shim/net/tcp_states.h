/* SPDX-License-Identifier: GPL-2.0-only */
/* fuzz shim: the TCP states ddemux_policy.c reads (as in the kernel) */
#ifndef _SHIM_NET_TCP_STATES_H
#define _SHIM_NET_TCP_STATES_H

enum {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT,
	TCP_SYN_RECV,
	TCP_FIN_WAIT1,
	TCP_FIN_WAIT2,
	TCP_TIME_WAIT,
	TCP_CLOSE,
	TCP_CLOSE_WAIT,
	TCP_LAST_ACK,
	TCP_LISTEN,
	TCP_CLOSING,
	TCP_NEW_SYN_RECV,
	TCP_MAX_STATES
};

#endif
