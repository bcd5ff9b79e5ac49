/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/string.h>: memcpy, memmove, memset, memchr,
 * memcmp and strlen have the same contract in the kernel and in libc, so
 * the libc versions (instrumented by ASan) stand in for them.
 */
#ifndef _DDEMUX_SHIM_LINUX_STRING_H
#define _DDEMUX_SHIM_LINUX_STRING_H
#include <string.h>
#endif
