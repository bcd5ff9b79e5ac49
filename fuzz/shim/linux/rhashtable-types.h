/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/rhashtable-types.h>: struct rhashtable as an
 * opaque placeholder, only so that struct ddemux_registry (declared in
 * ddemux.h, unused by the fuzzers) has a complete type.
 */
#ifndef _DDEMUX_SHIM_LINUX_RHASHTABLE_TYPES_H
#define _DDEMUX_SHIM_LINUX_RHASHTABLE_TYPES_H

struct rhashtable {
	void *opaque;
};

#endif
