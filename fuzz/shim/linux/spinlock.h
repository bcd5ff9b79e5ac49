/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/spinlock.h>: ddemux.h only declares a
 * spinlock_t member of struct ddemux_registry, which the fuzzers never
 * use.  An opaque placeholder; no locking is provided.
 */
#ifndef _DDEMUX_SHIM_LINUX_SPINLOCK_H
#define _DDEMUX_SHIM_LINUX_SPINLOCK_H

typedef struct {
	int opaque;
} spinlock_t;

#endif
