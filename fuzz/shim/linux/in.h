/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/in.h>: the two IPv4 address class tests
 * ddemux_policy.c uses, copied in substance from the kernel
 * (include/linux/in.h).  Not the UAPI <linux/in.h> (struct sockaddr_in
 * and friends), which would drag in glibc's socket types.
 */
#ifndef _DDEMUX_SHIM_LINUX_IN_H
#define _DDEMUX_SHIM_LINUX_IN_H

#include <linux/types.h>
#include <net/ipv6.h>		/* cpu_to_be32() */

#define INADDR_BROADCAST ((unsigned long int)0xffffffff)

/* 224.0.0.0/4 */
static inline bool ipv4_is_multicast(__be32 addr)
{
	return (addr & cpu_to_be32(0xf0000000)) == cpu_to_be32(0xe0000000);
}

/* 255.255.255.255, the limited broadcast */
static inline bool ipv4_is_lbcast(__be32 addr)
{
	return addr == cpu_to_be32(INADDR_BROADCAST);
}

#endif
