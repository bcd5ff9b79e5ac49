/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/uidgid.h>: kuid_t is a struct around a uid_t
 * so that it cannot be compared by accident; only uid_eq and KUIDT_INIT
 * are needed.
 */
#ifndef _DDEMUX_SHIM_LINUX_UIDGID_H
#define _DDEMUX_SHIM_LINUX_UIDGID_H

#include <linux/types.h>

typedef struct {
	uid_t val;
} kuid_t;

#define KUIDT_INIT(value) ((kuid_t){ value })

static inline uid_t __kuid_val(kuid_t uid)
{
	return uid.val;
}

static inline bool uid_eq(kuid_t left, kuid_t right)
{
	return __kuid_val(left) == __kuid_val(right);
}

#endif
