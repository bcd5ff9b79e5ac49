/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/kernel.h> (and what it pulls in from
 * <linux/minmax.h>, <linux/bits.h> and <linux/sprintf.h>):
 *
 *  - min()/max() with the kernel's type check: comparing the addresses
 *    of two temporaries of different types draws "comparison of distinct
 *    pointer types", as in the kernel;
 *  - BIT(), ARRAY_SIZE();
 *  - snprintf()/vsnprintf()/scnprintf()/vscnprintf() with the kernel's
 *    semantics, implemented in vsprintf.c: snprintf returns the would-be
 *    length, scnprintf the number of characters actually written (0 for
 *    a zero size); both understand the %pI4, %pI6 and %pI6c extensions.
 *    They are macros for kshim_*() so that they never clash with, or are
 *    confused with, libc's snprintf.
 */
#ifndef _DDEMUX_SHIM_LINUX_KERNEL_H
#define _DDEMUX_SHIM_LINUX_KERNEL_H

#include <stdarg.h>
#include <linux/types.h>

#define BIT(nr) (1UL << (nr))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define __shim_cmp(x, y, op) ({				\
	__auto_type __x = (x);				\
	__auto_type __y = (y);				\
	(void)(&__x == &__y);				\
	__x op __y ? __x : __y; })
#define min(x, y) __shim_cmp(x, y, <)
#define max(x, y) __shim_cmp(x, y, >)

int kshim_vsnprintf(char *buf, size_t size, const char *fmt, va_list args)
	__attribute__((format(printf, 3, 0)));
int kshim_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int kshim_vscnprintf(char *buf, size_t size, const char *fmt, va_list args)
	__attribute__((format(printf, 3, 0)));
int kshim_scnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define vsnprintf kshim_vsnprintf
#define snprintf kshim_snprintf
#define vscnprintf kshim_vscnprintf
#define scnprintf kshim_scnprintf

#endif
