/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Userspace shim for <linux/errno.h>: the kernel's errno values are the
 * UAPI ones (asm-generic/errno*.h), which the libc's linux-libc-dev
 * headers install as <linux/errno.h>; forward to that file.  glibc's own
 * <errno.h> also includes <linux/errno.h>, so this must stay a pure
 * forwarder.  Kernel-internal codes (ERESTARTSYS, ENOTSUPP, ...) are not
 * used by ddemux_policy.c and not provided.
 */
#ifndef _DDEMUX_SHIM_LINUX_ERRNO_H
#define _DDEMUX_SHIM_LINUX_ERRNO_H
#include_next <linux/errno.h>
#endif
