/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/in6.h>: struct in6_addr with the kernel's
 * layout (a union named in6_u, reached through the s6_addr* macros).
 * This is NOT glibc's struct in6_addr (whose union is __in6_u), so a file
 * that includes this shim must not also include <netinet/in.h>; the
 * address printing that needs inet_ntop() lives in vsprintf.c, which
 * sees only bytes.
 */
#ifndef _DDEMUX_SHIM_LINUX_IN6_H
#define _DDEMUX_SHIM_LINUX_IN6_H

#include <linux/types.h>

struct in6_addr {
	union {
		__u8 u6_addr8[16];
		__be16 u6_addr16[8];
		__be32 u6_addr32[4];
	} in6_u;
#define s6_addr in6_u.u6_addr8
#define s6_addr16 in6_u.u6_addr16
#define s6_addr32 in6_u.u6_addr32
};

#endif
