/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/atomic.h>: the atomic types (struct
 * ddemux_registry's counters) and atomic_read() (an inline in ddemux.h).
 */
#ifndef _DDEMUX_SHIM_LINUX_ATOMIC_H
#define _DDEMUX_SHIM_LINUX_ATOMIC_H

typedef struct {
	int counter;
} atomic_t;

typedef struct {
	long long counter;
} atomic64_t;

#define atomic_read(v) __atomic_load_n(&(v)->counter, __ATOMIC_RELAXED)

#endif
