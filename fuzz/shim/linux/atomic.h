/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/atomic.h>: the atomic types as opaque
 * placeholders (struct ddemux_registry's counters); no operations.
 */
#ifndef _DDEMUX_SHIM_LINUX_ATOMIC_H
#define _DDEMUX_SHIM_LINUX_ATOMIC_H

typedef struct {
	int counter;
} atomic_t;

typedef struct {
	long long counter;
} atomic64_t;

#endif
