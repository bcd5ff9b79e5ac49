/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <net/ipv6.h>: the address helpers ddemux_policy.c
 * uses, copied in substance from the kernel
 * (include/net/ipv6.h), plus cpu_to_be32() from <asm/byteorder.h> that
 * they need.  Addresses are struct in6_addr in the kernel's layout
 * (<linux/in6.h> shim).
 */
#ifndef _DDEMUX_SHIM_NET_IPV6_H
#define _DDEMUX_SHIM_NET_IPV6_H

#include <linux/types.h>
#include <linux/in6.h>
#include <linux/socket.h>

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define cpu_to_be32(x) ((__be32)__builtin_bswap32((u32)(x)))
#define be32_to_cpu(x) ((u32)__builtin_bswap32((__be32)(x)))
#else
#define cpu_to_be32(x) ((__be32)(x))
#define be32_to_cpu(x) ((u32)(x))
#endif

static inline bool ipv6_addr_any(const struct in6_addr *a)
{
	return (a->s6_addr32[0] | a->s6_addr32[1] |
		a->s6_addr32[2] | a->s6_addr32[3]) == 0;
}

static inline bool ipv6_addr_equal(const struct in6_addr *a1,
				   const struct in6_addr *a2)
{
	return ((a1->s6_addr32[0] ^ a2->s6_addr32[0]) |
		(a1->s6_addr32[1] ^ a2->s6_addr32[1]) |
		(a1->s6_addr32[2] ^ a2->s6_addr32[2]) |
		(a1->s6_addr32[3] ^ a2->s6_addr32[3])) == 0;
}

/* ::ffff:a.b.c.d */
static inline bool ipv6_addr_v4mapped(const struct in6_addr *a)
{
	return ((unsigned long)(a->s6_addr32[0] | a->s6_addr32[1]) |
		(unsigned long)(a->s6_addr32[2] ^ cpu_to_be32(0x0000ffff))) == 0UL;
}

/* ff00::/8 */
static inline bool ipv6_addr_is_multicast(const struct in6_addr *addr)
{
	return (addr->s6_addr32[0] & cpu_to_be32(0xFF000000)) ==
	       cpu_to_be32(0xFF000000);
}

static inline void ipv6_addr_set(struct in6_addr *addr, __be32 w1, __be32 w2,
				 __be32 w3, __be32 w4)
{
	addr->s6_addr32[0] = w1;
	addr->s6_addr32[1] = w2;
	addr->s6_addr32[2] = w3;
	addr->s6_addr32[3] = w4;
}

static inline void ipv6_addr_set_v4mapped(const __be32 addr,
					  struct in6_addr *v4mapped)
{
	ipv6_addr_set(v4mapped, 0, 0, cpu_to_be32(0x0000FFFF), addr);
}

#endif
