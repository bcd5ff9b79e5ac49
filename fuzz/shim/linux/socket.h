/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/socket.h>: the two address families
 * ddemux_policy.c compares against, with the kernel's (and libc's) values.
 */
#ifndef _DDEMUX_SHIM_LINUX_SOCKET_H
#define _DDEMUX_SHIM_LINUX_SOCKET_H

#define AF_INET 2
#define AF_INET6 10

#endif
