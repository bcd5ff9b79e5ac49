/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/ctype.h>.  The kernel's isdigit() is a plain
 * ASCII range test that accepts any int (unlike libc's, for which a
 * negative char is undefined), so copy it rather than use <ctype.h>.
 */
#ifndef _DDEMUX_SHIM_LINUX_CTYPE_H
#define _DDEMUX_SHIM_LINUX_CTYPE_H

static inline int isdigit(int c)
{
	return '0' <= c && c <= '9';
}

#endif
