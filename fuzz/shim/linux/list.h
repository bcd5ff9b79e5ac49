/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/list.h>: struct list_head as a placeholder
 * (a member of struct ddemux_registry); no list operations.
 */
#ifndef _DDEMUX_SHIM_LINUX_LIST_H
#define _DDEMUX_SHIM_LINUX_LIST_H

struct list_head {
	struct list_head *next, *prev;
};

#endif
