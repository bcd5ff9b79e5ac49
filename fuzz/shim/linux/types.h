/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/types.h>: the kernel's fixed-width and
 * byte-order-annotated integer types, as plain C99 types, and the two
 * structure-layout attributes ddemux.h uses.  The __be/__le
 * types carry no sparse annotation here; byte order is handled by the
 * helpers in <net/ipv6.h>.
 */
#ifndef _DDEMUX_SHIM_LINUX_TYPES_H
#define _DDEMUX_SHIM_LINUX_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>		/* uid_t, as the kernel's __kernel_uid32_t */

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

typedef uint8_t __u8;
typedef uint16_t __u16;
typedef uint32_t __u32;
typedef uint64_t __u64;
typedef int8_t __s8;
typedef int16_t __s16;
typedef int32_t __s32;
typedef int64_t __s64;

/* from <linux/compiler_attributes.h>, which every kernel file gets */
#define __packed __attribute__((__packed__))
#define __aligned(x) __attribute__((__aligned__(x)))
/* from <linux/compiler_types.h>: an address space for sparse, nothing else */
#define __rcu

typedef uint16_t __be16;
typedef uint32_t __be32;
typedef uint64_t __be64;
typedef uint16_t __le16;
typedef uint32_t __le32;
typedef uint64_t __le64;
/* loff_t: <sys/types.h>'s */

#endif
